package appliance

import (
	"encoding/hex"
	"testing"

	"github.com/recotem/recotem/tools/apikey"
)

func TestDigestMatchesReference(t *testing.T) {
	f := func(plain string) {
		t.Helper()
		got := apiDigest([]byte(plain))
		want := apikey.Digest([]byte(plain))
		if got != want {
			t.Fatalf("digest(%q) = %x, want %x", plain, got, want)
		}
	}
	f("")
	f("recotem-quickstart-demo-key-0000")
	f("a")
	f(string(make([]byte, 64)))
	f(string(make([]byte, 65)))
	f(string(zeroKey[:]))
	for i := 0; i < 20; i++ {
		f(apikey.Generate())
	}
}

func TestDigestVector(t *testing.T) {
	d := apiDigest([]byte("recotem-quickstart-demo-key-0000"))
	if got := hex.EncodeToString(d[:]); got != "21be5c3be85b8d68123df9f9b6a26d8e307db30350ea8bcc844883e22ebcf125" {
		t.Fatalf("vector: %s", got)
	}
}

func TestDigestNoAlloc(t *testing.T) {
	k := []byte(apikey.Generate())
	apiDigest(k)
	if n := testing.AllocsPerRun(100, func() { apiDigest(k) }); n != 0 {
		t.Fatalf("allocs per digest = %v", n)
	}
}

func BenchmarkDigestReference(b *testing.B) {
	k := []byte(apikey.Generate())
	b.ReportAllocs()
	for b.Loop() {
		apikey.Digest(k)
	}
}
