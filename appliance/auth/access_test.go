package auth

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/recotem/recotem/internal/apikey"
)

func TestHosts(t *testing.T) {
	f := func(h Hosts, host string, want bool) {
		t.Helper()
		if got := h.Allowed([]byte(host)); got != want {
			t.Errorf("%v.Allowed(%q) = %v, want %v", h.List(), host, got, want)
		}
	}
	def := NewHosts([]string{" ", ""})
	f(def, "127.0.0.1:8080", true)
	f(def, "LOCALHOST", true)
	f(def, "example.com", false)
	h := NewHosts([]string{" API.Example.com ", "*.internal.example", "[::1]"})
	f(h, "api.example.com:443", true)
	f(h, "a.b.internal.example", true)
	f(h, "internal.example", false) // the suffix needs a label before it
	f(h, "[::1]:8080", true)
	f(h, "api.examp\u212Ae.com", false)
	f(NewHosts([]string{"*"}), "anything", true)
}

func TestOrigins(t *testing.T) {
	o := NewOrigins([]string{" https://app.example ", ""})
	if len(o.List()) != 1 || o.Any() || !o.Allowed([]byte("https://app.example")) || o.Allowed([]byte("https://evil.example")) {
		t.Fatalf("origins %v", o.List())
	}
	if any := NewOrigins([]string{"*"}); !any.Any() || !any.Allowed([]byte("https://x")) {
		t.Fatal("*")
	}
	if NewOrigins(nil).List() != nil {
		t.Fatal("no origins must be nil (CORS off)")
	}
}

func TestPaddedKey(t *testing.T) {
	f := func(raw string, want bool) {
		t.Helper()
		if got := PaddedKey([]byte(raw)); got != want {
			t.Errorf("PaddedKey(%q) = %v, want %v", raw, got, want)
		}
	}
	f("Host: x\r\nX-API-Key: abc\r\n\r\n", false)
	f("Host: x\r\nX-API-Key:abc\r\n", false)
	f("x-api-key:  abc\r\n", true)
	f("X-Api-Key: abc \r\n", true)
	f("X-API-Key: abc\t", true)
	f("X-Other: a \r\n", false)
}

func TestVerify(t *testing.T) {
	p := apikey.Generate()
	a := New([]apikey.Key{{Kid: "k", Digest: apikey.Digest([]byte(p))}})
	for _, c := range []struct {
		key  string
		want Result
	}{{"", Missing}, {string(make([]byte, MaxKeyLen+1)), Oversized}, {"short", Short}, {p + "x", Invalid}, {p, OK}} {
		if kid, got := a.Verify([]byte(c.key)); got != c.want || (got == OK) != (kid == "k") {
			t.Errorf("Verify(%.8q…) = %q %v, want %v", c.key, kid, got, c.want)
		}
	}
}

func TestAnonymousRemembers1024Hosts(t *testing.T) {
	var l Anonymous
	addr := func(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("10.0.%d.%d", i/256, i%256)) }
	for i := range 1024 {
		if !l.FirstSeen(addr(i)) {
			t.Fatalf("host %d seen before", i)
		}
	}
	if l.FirstSeen(addr(5)) {
		t.Fatal("a remembered host is new again")
	}
	if !l.FirstSeen(addr(1024)) || !l.FirstSeen(addr(0)) {
		t.Fatal("the oldest host must be forgotten for the 1025th")
	}
}
