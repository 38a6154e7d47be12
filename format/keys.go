package format

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeyLen is the length of every signing key in bytes.
const KeyLen = 32

// Key is one signing key of a key ring.
type Key struct {
	ID     string
	Secret []byte
}

// KeyRing is an ordered set of signing keys: the first signs, any verifies.
type KeyRing struct {
	keys []Key
}

// KeyError reports a malformed RECOTEM_SIGNING_KEYS entry by position
// (1-based), never by content.
type KeyError struct {
	Entry int
	Msg   string
}

func (e *KeyError) Error() string {
	if e.Entry == 0 {
		return "RECOTEM_SIGNING_KEYS: " + e.Msg
	}
	return fmt.Sprintf("RECOTEM_SIGNING_KEYS entry %d: %s", e.Entry, e.Msg)
}

// ParseKeyRing parses RECOTEM_SIGNING_KEYS: "kid:hex64,kid:hex64,...".
// Entries are trimmed and empty ones dropped; each splits at its first ':'.
func ParseKeyRing(spec string) (*KeyRing, error) {
	var keys []Key
	n := 0
	for _, raw := range strings.Split(spec, ",") {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		n++
		kid, hx, ok := strings.Cut(e, ":")
		if !ok {
			return nil, &KeyError{Entry: n, Msg: "expected kid:hex64"}
		}
		kid = strings.TrimSpace(kid)
		if err := checkKid(kid); err != nil {
			return nil, &KeyError{Entry: n, Msg: err.Error()}
		}
		if len(kid) >= 32 && isHex(kid) {
			return nil, &KeyError{Entry: n, Msg: "kid looks like key material (32+ hex characters); put the kid before the ':'"}
		}
		secret, err := hex.DecodeString(strings.TrimSpace(hx))
		if err != nil || len(secret) != KeyLen {
			return nil, &KeyError{Entry: n, Msg: "key must be 64 hex characters (32 bytes)"}
		}
		keys = append(keys, Key{ID: kid, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, &KeyError{Msg: "no keys configured"}
	}
	r, err := NewKeyRing(keys...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// NewKeyRing builds a ring from keys; the first signs.
func NewKeyRing(keys ...Key) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, &KeyError{Msg: "no keys configured"}
	}
	seen := map[string]bool{}
	for i, k := range keys {
		if err := checkKid(k.ID); err != nil {
			return nil, &KeyError{Entry: i + 1, Msg: err.Error()}
		}
		if len(k.Secret) != KeyLen {
			return nil, &KeyError{Entry: i + 1, Msg: "key must be 32 bytes"}
		}
		if seen[k.ID] {
			return nil, &KeyError{Entry: i + 1, Msg: "duplicate kid " + SafeKid(k.ID)}
		}
		seen[k.ID] = true
	}
	return &KeyRing{keys: append([]Key(nil), keys...)}, nil
}

// DevKid is the kid of the development key.
const DevKid = "dev"

// DevKeyRing is the deterministic development ring: kid "dev", 32 zero bytes
// (fingerprint 66687aad). Only for --dev-allow-unsigned.
func DevKeyRing() *KeyRing {
	return &KeyRing{keys: []Key{{ID: DevKid, Secret: make([]byte, KeyLen)}}}
}

// Signer is the key that signs new artifacts (the first).
func (r *KeyRing) Signer() Key { return r.keys[0] }

// Lookup returns the secret for kid.
func (r *KeyRing) Lookup(kid string) ([]byte, bool) {
	for _, k := range r.keys {
		if k.ID == kid {
			return k.Secret, true
		}
	}
	return nil, false
}

// Kids lists the ring's kids in order.
func (r *KeyRing) Kids() []string {
	out := make([]string, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.ID
	}
	return out
}

// Fingerprint is the first 8 hex characters of sha256(secret): safe to log.
func Fingerprint(secret []byte) string {
	s := sha256.Sum256(secret)
	return hex.EncodeToString(s[:4])
}

func checkKid(kid string) error {
	if len(kid) < 1 || len(kid) > 32 {
		return fmt.Errorf("kid must be 1..32 bytes")
	}
	if strings.ContainsAny(kid, ",:") {
		return fmt.Errorf("kid must not contain ',' or ':'")
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

// SafeKid renders a kid for logs and error texts: bytes outside
// [A-Za-z0-9_.:-] become \xHH, more than 64 characters are cut to 64 + "...",
// and an empty kid is "<empty>".
func SafeKid(kid string) string {
	if kid == "" {
		return "<empty>"
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(kid); i++ {
		if n >= 64 {
			b.WriteString("...")
			break
		}
		c := kid[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
		n++
	}
	return b.String()
}
