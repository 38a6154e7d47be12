package keygen

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
)

// Key types.
const (
	TypeSigning = "signing"
	TypeAPI     = "api"
)

// Errors, both ConfigErrors (exit 8).
var (
	ErrType = errors.New("keygen --type must be signing or api")
	ErrKid  = errors.New("invalid kid")
)

// Key is one generated key and everything keygen prints about it.
type Key struct {
	Type      string
	Kid       string
	Plaintext string // signing: 64 lowercase hex; api: 43 base64url
	// Fingerprint is the first 8 hex of sha256(key bytes) (signing only).
	Fingerprint string
	// Hash is the 64-hex scrypt digest of the plaintext (api only).
	Hash string
}

// EnvEntry is the line's value that configures the key:
// RECOTEM_SIGNING_KEYS=<kid>:<hex> or RECOTEM_API_KEYS=<kid>:sha256:<hex>.
func (k Key) EnvEntry() string {
	if k.Type == TypeAPI {
		return "RECOTEM_API_KEYS=" + k.Kid + ":sha256:" + k.Hash
	}
	return "RECOTEM_SIGNING_KEYS=" + k.Kid + ":" + k.Plaintext
}

// AppendText appends the four output lines of §1.8 to dst.
func (k Key) AppendText(dst []byte) []byte {
	dst = append(dst, "kid="...)
	dst = append(dst, k.Kid...)
	dst = append(dst, "\nplaintext="...)
	dst = append(dst, k.Plaintext...)
	if k.Type == TypeAPI {
		dst = append(dst, "\nhash=sha256:"...)
		dst = append(dst, k.Hash...)
	} else {
		dst = append(dst, "\nfingerprint="...)
		dst = append(dst, k.Fingerprint...)
		dst = append(dst, "  # matches /security.posture log; NOT for config"...)
	}
	dst = append(dst, "\nenv_entry="...)
	dst = append(dst, k.EnvEntry()...)
	return append(dst, '\n')
}

// Generate makes a key of type typ ("" means signing) with kid ("" means 8
// random lowercase hex) from crypto/rand.
func Generate(typ, kid string) (Key, error) { return GenerateFrom(rand.Reader, typ, kid) }

// GenerateFrom is Generate with an explicit randomness source.
func GenerateFrom(r io.Reader, typ, kid string) (Key, error) {
	if typ == "" {
		typ = TypeSigning
	}
	if typ != TypeSigning && typ != TypeAPI {
		return Key{}, fmt.Errorf("%w (got %q)", ErrType, typ)
	}
	if kid == "" {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Key{}, fmt.Errorf("read random kid: %w", err)
		}
		kid = hex.EncodeToString(b[:])
	} else if err := CheckKid(typ, kid); err != nil {
		return Key{}, err
	}
	var secret [32]byte
	if _, err := io.ReadFull(r, secret[:]); err != nil {
		return Key{}, fmt.Errorf("read random key: %w", err)
	}
	k := Key{Type: typ, Kid: kid}
	if typ == TypeAPI {
		k.Plaintext = base64.RawURLEncoding.EncodeToString(secret[:])
		k.Hash = apikey.Hex(apikey.Digest([]byte(k.Plaintext)))
	} else {
		k.Plaintext = hex.EncodeToString(secret[:])
		k.Fingerprint = format.Fingerprint(secret[:])
	}
	return k, nil
}

// CheckKid validates a --kid: 1..32 bytes, no ',' or ':', no whitespace or
// control characters (they would not survive the env entry), and for
// signing keys not 32+ hex characters (the key ring refuses kids that look
// like key material).
func CheckKid(typ, kid string) error {
	if len(kid) < 1 || len(kid) > 32 {
		return fmt.Errorf("%w: must be 1..32 bytes", ErrKid)
	}
	if strings.ContainsAny(kid, ",:") {
		return fmt.Errorf("%w: must not contain ',' or ':'", ErrKid)
	}
	if strings.IndexFunc(kid, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%w: must not contain whitespace or control characters", ErrKid)
	}
	if typ != TypeAPI && len(kid) >= 32 && isHex(kid) {
		return fmt.Errorf("%w: 32 hex characters look like key material", ErrKid)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
