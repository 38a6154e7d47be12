package recipe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Canonical returns the fully defaulted recipe as plain JSON values (maps,
// slices, strings, float64, bool, nil), the form the artifact header's
// "recipe" records. The source holds only its selected variant.
func (r *Recipe) Canonical() map[string]any {
	b, err := marshal(r)
	if err != nil {
		return nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil
	}
	return m
}

// CanonicalJSON is the canonical encoding: sorted keys, no spaces, no HTML
// escaping.
func (r *Recipe) CanonicalJSON() []byte {
	b, err := marshal(r.Canonical())
	if err != nil {
		return nil
	}
	return b
}

// Hash is the lowercase hex sha256 of CanonicalJSON.
func (r *Recipe) Hash() string {
	sum := sha256.Sum256(r.CanonicalJSON())
	return hex.EncodeToString(sum[:])
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
