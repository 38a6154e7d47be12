package auth

import (
	"encoding/hex"
	"testing"

	"github.com/recotem/recotem/internal/apikey"
)

func TestDigestMatchesReference(t *testing.T) {
	f := func(plain string) {
		t.Helper()
		got := Digest([]byte(plain))
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
	d := Digest([]byte("recotem-quickstart-demo-key-0000"))
	if got := hex.EncodeToString(d[:]); got != "21be5c3be85b8d68123df9f9b6a26d8e307db30350ea8bcc844883e22ebcf125" {
		t.Fatalf("vector: %s", got)
	}
}

func TestDigestNoAlloc(t *testing.T) {
	k := []byte(apikey.Generate())
	Digest(k)
	if n := testing.AllocsPerRun(100, func() { Digest(k) }); n != 0 {
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

// TestAuthenticatorRemembersOnlyVerifiedKeys: a key is accepted with its
// kid on the first (scrypt) and later (remembered) checks; near misses of a
// remembered key are still rejected; the remembered list never outgrows
// the configured keys; the first matching kid wins both times.
func TestAuthenticatorRemembersOnlyVerifiedKeys(t *testing.T) {
	p1, p2 := apikey.Generate(), apikey.Generate()
	d1 := apikey.Digest([]byte(p1))
	a := New([]apikey.Key{{Kid: "one", Digest: d1}, {Kid: "two", Digest: apikey.Digest([]byte(p2))}, {Kid: "dup", Digest: d1}})
	for range 3 {
		if kid, ok := a.Check([]byte(p1)); !ok || kid != "one" {
			t.Fatalf("p1: %q %v", kid, ok)
		}
		if kid, ok := a.Check([]byte(p2)); !ok || kid != "two" {
			t.Fatalf("p2: %q %v", kid, ok)
		}
	}
	if n := len(*a.verified.Load()); n != 2 {
		t.Fatalf("%d remembered tags for 2 distinct keys", n)
	}
	flip := []byte(p1)
	flip[10] ^= 1
	for _, bad := range [][]byte{flip, []byte(p1)[:len(p1)-1], []byte(p1 + "x"), []byte(apikey.Generate())} {
		if _, ok := a.Check(bad); ok {
			t.Fatalf("accepted %q", bad)
		}
	}
	if n := len(*a.verified.Load()); n != 2 {
		t.Fatalf("rejections remembered: %d", n)
	}
	// another process (another secret) tags the same key differently
	if b := New(a.keys); b.tag([]byte(p1)) == a.tag([]byte(p1)) {
		t.Fatal("tag does not depend on the process secret")
	}
}

func TestAuthenticatorRememberedCheckNoAlloc(t *testing.T) {
	p := []byte(apikey.Generate())
	a := New([]apikey.Key{{Kid: "k", Digest: apikey.Digest(p)}})
	a.Check(p)
	if n := testing.AllocsPerRun(100, func() { a.Check(p) }); n != 0 {
		t.Fatalf("allocs per remembered check = %v", n)
	}
}

// BenchmarkAuthRemembered is the per-request auth cost once a key has
// been verified (compare BenchmarkAPIDigest, the full scrypt check).
func BenchmarkAuthRemembered(b *testing.B) {
	p := []byte(apikey.Generate())
	a := New([]apikey.Key{{Kid: "k", Digest: apikey.Digest(p)}})
	a.Check(p)
	b.ReportAllocs()
	for b.Loop() {
		a.Check(p)
	}
}

// BenchmarkAPIDigest is the per-request cost of the scrypt key check.
func BenchmarkAPIDigest(b *testing.B) {
	k := []byte(apikey.Generate())
	b.ReportAllocs()
	for b.Loop() {
		Digest(k)
	}
}
