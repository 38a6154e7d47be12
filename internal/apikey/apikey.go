package apikey

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Salt, N, R, P and DigestLen are the scrypt parameters of upstream Recotem's
// API-key digest. N=2 is deliberately cheap: plaintexts carry 256 bits of
// entropy, so the KDF only has to be a one-way function, and it runs on
// every authenticated request.
const (
	Salt      = "recotem.api-key.v1"
	N         = 2
	R         = 8
	P         = 1
	DigestLen = 32
)

// PlaintextLen is the length of a generated plaintext: 32 bytes as unpadded
// base64url.
const PlaintextLen = 43

// MaxKidLen bounds a kid in RECOTEM_API_KEYS.
const MaxKidLen = 64

// Digest returns scrypt(plaintext, Salt, N, R, P, DigestLen).
func Digest(plaintext []byte) [32]byte {
	var out [32]byte
	d, err := scrypt.Key(plaintext, []byte(Salt), N, R, P, DigestLen)
	if err != nil {
		// Only reachable with invalid constant parameters.
		panic("apikey: scrypt: " + err.Error())
	}
	copy(out[:], d)
	return out
}

// Hex renders a digest as 64 lowercase hex characters.
func Hex(d [32]byte) string { return hex.EncodeToString(d[:]) }

// Generate returns a new plaintext: 32 CSPRNG bytes as 43 characters of
// unpadded base64url.
func Generate() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("apikey: crypto/rand: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Key is one configured API key: its kid and the digest of its plaintext.
type Key struct {
	Kid    string
	Digest [32]byte
}

// Equal reports in constant time whether d equals the key's digest.
func (k Key) Equal(d [32]byte) bool {
	return subtle.ConstantTimeCompare(k.Digest[:], d[:]) == 1
}

// Match returns the kid of the key whose digest equals Digest(plaintext).
// Every key is compared (constant time in the position of the match).
func Match(keys []Key, plaintext []byte) (string, bool) {
	d := Digest(plaintext)
	found := -1
	for i := range keys {
		if keys[i].Equal(d) && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return keys[found].Kid, true
}

// ErrMalformed is the sentinel every ParseKeys error wraps.
var ErrMalformed = errors.New("malformed RECOTEM_API_KEYS")

// ParseError names a malformed RECOTEM_API_KEYS entry by its 1-based
// position. Its message never contains key material.
type ParseError struct {
	Entry int
	Msg   string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("RECOTEM_API_KEYS entry %d: %s", e.Entry, e.Msg)
}

func (e *ParseError) Unwrap() error { return ErrMalformed }

// ParseKeys parses RECOTEM_API_KEYS: "kid:sha256:hex64,...". Entries are
// trimmed and empty ones dropped; an empty list yields no keys (anonymous
// mode). The middle token is matched in any case; the digest is 64 hex
// characters in any case. A duplicate kid is an error.
func ParseKeys(spec string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	n := 0
	for _, raw := range strings.Split(spec, ",") {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		n++
		parts := strings.Split(e, ":")
		if len(parts) != 3 {
			return nil, &ParseError{Entry: n, Msg: "expected kid:sha256:<64 hex>"}
		}
		kid, label, hx := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), strings.TrimSpace(parts[2])
		if kid == "" || len(kid) > MaxKidLen {
			return nil, &ParseError{Entry: n, Msg: fmt.Sprintf("kid must be 1..%d bytes", MaxKidLen)}
		}
		if !strings.EqualFold(label, "sha256") {
			return nil, &ParseError{Entry: n, Msg: "middle token must be sha256"}
		}
		if len(hx) != 64 {
			return nil, &ParseError{Entry: n, Msg: "digest must be 64 hex characters"}
		}
		var k Key
		if _, err := hex.Decode(k.Digest[:], []byte(hx)); err != nil {
			return nil, &ParseError{Entry: n, Msg: "digest must be 64 hex characters"}
		}
		if seen[kid] {
			return nil, &ParseError{Entry: n, Msg: "duplicate kid"}
		}
		seen[kid] = true
		k.Kid = kid
		keys = append(keys, k)
	}
	return keys, nil
}
