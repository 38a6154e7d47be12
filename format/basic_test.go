package format

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The §4 test vector: key 32 zero bytes, kid "dev", header {"a":1}, payload "xyz".
func TestSpecVector(t *testing.T) {
	mac, _ := hex.DecodeString("b2f9b16cf9012139a80f6a913c8f6f4e36e4abd60f88fb7eeeb1ee96cafcdaf3")
	var file []byte
	file = append(file, mustHex("5245434f54454d000100000003646576")...)
	file = append(file, mac...)
	file = append(file, mustHex("070000007b2261223a317d78797a")...)
	if len(file) != 62 {
		t.Fatalf("vector length %d", len(file))
	}
	c, err := Parse(file, DevKeyRing(), Limits{})
	if err != nil {
		t.Fatalf("parse vector: %v", err)
	}
	if c.Kid != "dev" || string(c.Header.Raw) != `{"a":1}` || string(c.Payload()) != "xyz" {
		t.Fatalf("decoded %q %q %q", c.Kid, c.Header.Raw, c.Payload())
	}
	got := computeMAC(make([]byte, 32), []byte("dev"), []byte(`{"a":1}`), []byte("xyz"))
	if !bytes.Equal(got[:], mac) {
		t.Fatalf("mac %x", got)
	}
	if Fingerprint(make([]byte, 32)) != "66687aad" || Fingerprint(bytes.Repeat([]byte{0xaa}, 32)) != "e0e77a50" {
		t.Fatal("fingerprint vectors")
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestWriteOpenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder()
	b.Strings("item_ids", []string{"a", "b", "c"})
	b.Matrix32("item_factors", 3, 5, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	b.CSR("seen", []int64{0, 2, 3}, []int32{0, 2, 1}, 3, nil)
	ring, err := ParseKeyRing("k1:" + hex.EncodeToString(bytes.Repeat([]byte{1}, 32)) + ", k2:" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.recotem")
	res, err := WriteArtifact(out, AppendSHA, ring.Signer(), map[string]any{"recipe_name": "m"}, b)
	if err != nil {
		t.Fatal(err)
	}
	ptr, _ := os.ReadFile(out)
	if string(ptr) != filepath.Base(res.Artifact)+"\n" || !IsPointer(ptr) {
		t.Fatalf("pointer %q for %s", ptr, res.Artifact)
	}
	a, err := Open(out, ring, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Path != res.Artifact || hex.EncodeToString(a.SHA256[:]) != res.SHA256 {
		t.Fatalf("path %s sha %x, want %s %s", a.Path, a.SHA256, res.Artifact, res.SHA256)
	}
	v, s, err := a.F32("item_factors")
	if err != nil || s.Stride != 16 || v[16+4] != 10 || v[5] != 0 {
		t.Fatalf("factors %v %+v %v", err, s, v[:20])
	}
	ids, err := a.Strings("item_ids")
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := ids.Find([]byte("c")); !ok || i != 2 {
		t.Fatalf("find c = %d %v", i, ok)
	}
	if _, ok := ids.Find([]byte("bb")); ok {
		t.Fatal("found absent id")
	}
	for _, s := range a.Sections() {
		if s.Offset%Alignment != 0 {
			t.Fatalf("section %s at %d", s.Name, s.Offset)
		}
	}
	// Wrong ring: unknown kid names the kid.
	other, _ := ParseKeyRing("zz:" + hex.EncodeToString(make([]byte, 32)))
	if _, err := Open(out, other, Limits{}); !errors.Is(err, ErrUnknownKid) || err.Error() != "unknown kid: k1" {
		t.Fatalf("unknown kid error %v", err)
	}
	bad, _ := ParseKeyRing("k1:" + hex.EncodeToString(make([]byte, 32)))
	if _, err := Open(out, bad, Limits{}); !errors.Is(err, ErrSignature) || Stage(err) != "hmac" {
		t.Fatalf("signature error %v", err)
	}
}

func TestKeyRingErrorsNamePosition(t *testing.T) {
	good := "a:" + hex.EncodeToString(make([]byte, 32))
	for _, tc := range []struct{ spec, want string }{
		{good + ",b:zz", "RECOTEM_SIGNING_KEYS entry 2: key must be 64 hex characters (32 bytes)"},
		{good + "," + good, "RECOTEM_SIGNING_KEYS entry 2: duplicate kid a"},
		{"nocolon", "RECOTEM_SIGNING_KEYS entry 1: expected kid:hex64"},
		{"", "RECOTEM_SIGNING_KEYS: no keys configured"},
		{hex.EncodeToString(make([]byte, 16)) + ":" + hex.EncodeToString(make([]byte, 32)), "RECOTEM_SIGNING_KEYS entry 1: kid looks like key material (32+ hex characters); put the kid before the ':'"},
	} {
		_, err := ParseKeyRing(tc.spec)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseKeyRing(%q) = %v, want %q", tc.spec, err, tc.want)
		}
	}
}
