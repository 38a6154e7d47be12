package apikey

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestDigestVector(t *testing.T) {
	// recotem-behavior.md §1.8.
	got := Hex(Digest([]byte("recotem-quickstart-demo-key-0000")))
	const want = "21be5c3be85b8d68123df9f9b6a26d8e307db30350ea8bcc844883e22ebcf125"
	if got != want {
		t.Fatalf("Digest = %s, want %s", got, want)
	}
	if Hex(Digest([]byte("recotem-quickstart-demo-key-0001"))) == want {
		t.Fatal("different plaintexts gave the same digest")
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p := Generate()
		if len(p) != PlaintextLen {
			t.Fatalf("len(%q) = %d, want %d", p, len(p), PlaintextLen)
		}
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || len(b) != 32 {
			t.Fatalf("%q is not 32 bytes of unpadded base64url: %v", p, err)
		}
		if seen[p] {
			t.Fatalf("Generate repeated %q", p)
		}
		seen[p] = true
	}
}

const demoHex = "21be5c3be85b8d68123df9f9b6a26d8e307db30350ea8bcc844883e22ebcf125"

func TestParseKeysGood(t *testing.T) {
	f := func(spec string, wantKids ...string) {
		t.Helper()
		keys, err := ParseKeys(spec)
		if err != nil {
			t.Fatalf("ParseKeys(%q): %v", spec, err)
		}
		if len(keys) != len(wantKids) {
			t.Fatalf("ParseKeys(%q) gave %d keys, want %d", spec, len(keys), len(wantKids))
		}
		for i, k := range keys {
			if k.Kid != wantKids[i] {
				t.Fatalf("key %d kid = %q, want %q", i, k.Kid, wantKids[i])
			}
			if Hex(k.Digest) != demoHex {
				t.Fatalf("key %d digest = %s", i, Hex(k.Digest))
			}
		}
	}
	f("")
	f("  , ,")
	f("a:sha256:"+demoHex, "a")
	f("a:SHA256:"+strings.ToUpper(demoHex), "a")
	f(" a : Sha256 : "+demoHex+" ,, b:sha256:"+demoHex+",", "a", "b")
}

func TestParseKeysBad(t *testing.T) {
	f := func(spec string, entry int) {
		t.Helper()
		_, err := ParseKeys(spec)
		if err == nil {
			t.Fatalf("ParseKeys(%q) succeeded", spec)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Entry != entry {
			t.Fatalf("error %v: want entry %d", err, entry)
		}
		msg := err.Error()
		if strings.Contains(strings.ToLower(msg), demoHex[:16]) || strings.Contains(msg, "deadbeef") {
			t.Fatalf("error %q leaks key material", msg)
		}
	}
	f("a:"+demoHex, 1)                               // missing label
	f("a:md5:"+demoHex, 1)                           // wrong label
	f(":sha256:"+demoHex, 1)                         // empty kid
	f("a:sha256:"+demoHex[:63], 1)                   // short
	f("a:sha256:"+demoHex+"00", 1)                   // long
	f("a:sha256:"+demoHex[:62]+"zz", 1)              // not hex
	f("a:sha256:"+demoHex+",b:sha256:deadbeef", 2)   // second entry short
	f("a:sha256:"+demoHex+", ,a:sha256:"+demoHex, 2) // duplicate kid, empties not counted
	f("a:sha256:x:"+demoHex, 1)                      // too many tokens
	f(strings.Repeat("k", MaxKidLen+1)+":sha256:"+demoHex, 1)
}

func TestMatch(t *testing.T) {
	p := Generate()
	keys, err := ParseKeys("a:sha256:" + demoHex + ",b:sha256:" + Hex(Digest([]byte(p))))
	if err != nil {
		t.Fatal(err)
	}
	if kid, ok := Match(keys, []byte(p)); !ok || kid != "b" {
		t.Fatalf("Match(generated) = %q, %v", kid, ok)
	}
	if kid, ok := Match(keys, []byte("recotem-quickstart-demo-key-0000")); !ok || kid != "a" {
		t.Fatalf("Match(demo) = %q, %v", kid, ok)
	}
	for _, bad := range []string{"", p[:42], p + " ", "recotem-quickstart-demo-key-000"} {
		if _, ok := Match(keys, []byte(bad)); ok {
			t.Fatalf("Match(%q) succeeded", bad)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add("a:sha256:" + demoHex)
	f.Add("a:sha256:" + demoHex + ",a:sha256:" + demoHex)
	f.Add(",,:")
	f.Fuzz(func(t *testing.T, spec string) {
		keys, err := ParseKeys(spec)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Entry < 1 {
				t.Fatalf("error %v without entry position", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if k.Kid == "" || seen[k.Kid] {
				t.Fatalf("bad kid %q in %q", k.Kid, spec)
			}
			seen[k.Kid] = true
		}
	})
}

// BenchmarkDigest measures the per-request cost of authenticating one key.
// go test -run ^$ -bench Digest -benchtime 2000x ./internal/apikey
func BenchmarkDigest(b *testing.B) {
	p := []byte(Generate())
	b.ReportAllocs()
	var sink byte
	for b.Loop() {
		d := Digest(p)
		sink ^= d[0]
	}
	_ = sink
}
