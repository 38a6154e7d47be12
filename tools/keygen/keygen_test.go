package keygen

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
)

var (
	signingOut = regexp.MustCompile(`^kid=([0-9a-f]{8})\nplaintext=([0-9a-f]{64})\nfingerprint=([0-9a-f]{8})  # matches /security.posture log; NOT for config\nenv_entry=RECOTEM_SIGNING_KEYS=([0-9a-f]{8}):([0-9a-f]{64})\n$`)
	apiOut     = regexp.MustCompile(`^kid=([0-9a-f]{8})\nplaintext=([A-Za-z0-9_-]{43})\nhash=sha256:([0-9a-f]{64})\nenv_entry=RECOTEM_API_KEYS=([0-9a-f]{8}):sha256:([0-9a-f]{64})\n$`)
)

func TestSigning(t *testing.T) {
	k, err := Generate("", "")
	if err != nil {
		t.Fatal(err)
	}
	out := string(k.AppendText(nil))
	m := signingOut.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output does not match §1.8:\n%s", out)
	}
	if m[1] != m[4] || m[2] != m[5] {
		t.Fatalf("env_entry disagrees with kid/plaintext:\n%s", out)
	}
	ring, err := format.ParseKeyRing(strings.TrimPrefix(k.EnvEntry(), "RECOTEM_SIGNING_KEYS="))
	if err != nil {
		t.Fatalf("env_entry does not parse: %v", err)
	}
	secret, ok := ring.Lookup(k.Kid)
	if !ok || format.Fingerprint(secret) != m[3] {
		t.Fatalf("fingerprint %s does not match the ring's key", m[3])
	}
}

func TestAPI(t *testing.T) {
	k, err := Generate(TypeAPI, "")
	if err != nil {
		t.Fatal(err)
	}
	out := string(k.AppendText(nil))
	m := apiOut.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output does not match §1.8:\n%s", out)
	}
	if m[1] != m[4] || m[3] != m[5] {
		t.Fatalf("env_entry disagrees:\n%s", out)
	}
	keys, err := apikey.ParseKeys(strings.TrimPrefix(k.EnvEntry(), "RECOTEM_API_KEYS="))
	if err != nil {
		t.Fatal(err)
	}
	if kid, ok := apikey.Match(keys, []byte(m[2])); !ok || kid != k.Kid {
		t.Fatal("the printed plaintext does not authenticate against its env entry")
	}
}

func TestDeterministicSource(t *testing.T) {
	src := bytes.Repeat([]byte{0xaa}, 36) // 4 kid bytes + 32 key bytes
	k, err := GenerateFrom(bytes.NewReader(src), TypeSigning, "")
	if err != nil {
		t.Fatal(err)
	}
	// §1.8 vector: fingerprint of 32×0xaa is e0e77a50.
	if k.Kid != "aaaaaaaa" || k.Plaintext != strings.Repeat("aa", 32) || k.Fingerprint != "e0e77a50" {
		t.Fatalf("got %+v", k)
	}
	k, err = GenerateFrom(bytes.NewReader(make([]byte, 32)), TypeSigning, "dev")
	if err != nil || k.Fingerprint != "66687aad" {
		t.Fatalf("zero key fingerprint: %+v %v", k, err)
	}
	if _, err := GenerateFrom(bytes.NewReader(nil), TypeAPI, ""); err == nil {
		t.Fatal("an exhausted source must be an error")
	}
}

func TestKidAndType(t *testing.T) {
	f := func(typ, kid string, want error) {
		t.Helper()
		k, err := Generate(typ, kid)
		if !errors.Is(err, want) {
			t.Fatalf("Generate(%q, %q) err = %v, want %v", typ, kid, err, want)
		}
		if want == nil && k.Kid != kid {
			t.Fatalf("kid = %q, want %q", k.Kid, kid)
		}
	}
	f(TypeSigning, "k", nil)
	f(TypeAPI, "prod-2025.a_b", nil)
	f(TypeSigning, strings.Repeat("x", 32), nil)
	f(TypeAPI, strings.Repeat("a", 32), nil) // API kids may be hex
	f(TypeSigning, strings.Repeat("x", 33), ErrKid)
	f(TypeSigning, "a,b", ErrKid)
	f(TypeSigning, "a:b", ErrKid)
	f(TypeSigning, "a b", ErrKid)
	f(TypeSigning, "a\x00", ErrKid)
	f(TypeSigning, strings.Repeat("a", 32), ErrKid)
	f("x", "", ErrType)
	f("SIGNING", "", ErrType)
}
