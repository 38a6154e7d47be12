package format_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/recotem/recotem/format"
)

// seal is an independent few-line encoder of the format-1 container (§4),
// used to build inputs the Builder would never write.
func seal(key []byte, kid string, header string, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kid))
	m.Write([]byte(header))
	m.Write(payload)
	out := []byte("RECOTEM\x00\x01\x00\x00\x00")
	out = append(out, byte(len(kid)))
	out = append(out, kid...)
	out = m.Sum(out)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(header)))
	out = append(out, header...)
	return append(out, payload...)
}

var (
	testKey  = format.Key{ID: "k1", Secret: bytes.Repeat([]byte{0x5a}, 32)}
	otherKey = format.Key{ID: "k2", Secret: bytes.Repeat([]byte{0xa5}, 32)}
	devKey   = format.Key{ID: "dev", Secret: make([]byte, 32)}
)

func testRing(t testing.TB) *format.KeyRing {
	t.Helper()
	r, err := format.NewKeyRing(otherKey, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func encode(t testing.TB, key format.Key, fields map[string]any, b *format.Builder) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := format.Encode(&buf, key, fields, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// small is a deterministic artifact with one section of every group kind
// the reader validates: a string table, a CSR with data, a padded matrix.
func small(t testing.TB, key format.Key) []byte {
	b := format.NewBuilder()
	b.Strings("item_ids", []string{"a", "b", "c"})
	b.CSR("seen", []int64{0, 2, 3}, []int32{0, 2, 1}, 3, []float32{1, 2, 3})
	b.Matrix32("item_factors", 3, 2, []float32{1, 2, 3, 4, 5, 6})
	return encode(t, key, map[string]any{"recipe_name": "small", "model": map[string]any{"kind": "factor"}}, b)
}

// tinyPayload is a one-section artifact: the smallest page-aligned layout.
func tinyPayload(t testing.TB, key format.Key) []byte {
	b := format.NewBuilder()
	b.F64("popularity", []float64{3, 2, 1})
	return encode(t, key, map[string]any{"recipe_name": "t"}, b)
}

// specErrors are the texts of the §4 read-check table.
var specErrors = []error{
	format.ErrTooLarge, format.ErrMagic, format.ErrVersion, format.ErrReserved,
	format.ErrKidLength, format.ErrTruncated, format.ErrKidUTF8, format.ErrHeaderUTF8,
	format.ErrHeaderTooLarge, format.ErrUnknownKid, format.ErrSignature,
	format.ErrHeaderJSON, format.ErrLayout, format.ErrLayoutVersion, format.ErrNotFound,
}

// checkSpecError fails unless err is one of the §4 errors and its text
// starts with that error's wording.
func checkSpecError(t testing.TB, err error, what string) {
	t.Helper()
	for _, s := range specErrors {
		if errors.Is(err, s) {
			if !strings.HasPrefix(err.Error(), s.Error()) {
				t.Fatalf("%s: error %q does not start with %q", what, err, s)
			}
			if format.Stage(err) == "" {
				t.Fatalf("%s: no stage for %v", what, err)
			}
			return
		}
	}
	t.Fatalf("%s: error %v (%T) is not a §4 error", what, err, err)
}

func newRand(t testing.TB) *rand.Rand {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
