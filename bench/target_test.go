package bench

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func fakeResolver(m map[string][]string) Resolver {
	return func(_ context.Context, _, host string) ([]netip.Addr, error) {
		addrs, ok := m[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

func TestCheckLoopback(t *testing.T) {
	res := fakeResolver(map[string][]string{
		"loop.test":  {"127.0.0.2", "::1"},
		"mixed.test": {"127.0.0.1", "10.0.0.5"},
		"far.test":   {"93.184.216.34"},
	})
	f := func(target Target, wantOK bool) {
		t.Helper()
		err := CheckLoopback(context.Background(), target, res)
		if wantOK && err != nil {
			t.Fatalf("%+v refused: %v", target, err)
		}
		if !wantOK && !errors.Is(err, ErrRemoteTarget) {
			t.Fatalf("%+v: got %v, want ErrRemoteTarget", target, err)
		}
	}
	f(Target{URL: "http://127.0.0.1:8080"}, true)
	f(Target{URL: "http://127.9.9.9"}, true)
	f(Target{URL: "http://[::1]:8080"}, true)
	f(Target{URL: "http://[::ffff:127.0.0.1]:8080"}, true)
	f(Target{URL: "http://localhost:8080/prefix"}, true)
	f(Target{URL: "http://LOCALHOST"}, true)
	f(Target{URL: "http://api.localhost"}, true)
	f(Target{URL: "http://loop.test:80"}, true)
	f(Target{URL: "http://10.1.2.3:8080", UDS: "/tmp/s.sock"}, true) // a socket is local
	f(Target{URL: "http://10.1.2.3:8080"}, false)
	f(Target{URL: "http://0.0.0.0:8080"}, false)
	f(Target{URL: "http://[2001:db8::1]"}, false)
	f(Target{URL: "https://mixed.test"}, false)
	f(Target{URL: "http://far.test"}, false)
	f(Target{URL: "http://unknown.test"}, false)
}

func TestCheckLoopbackBadURL(t *testing.T) {
	f := func(raw string) {
		t.Helper()
		err := CheckLoopback(context.Background(), Target{URL: raw}, fakeResolver(nil))
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("%q: got %v, want ErrConfig", raw, err)
		}
	}
	f("")
	f("ftp://127.0.0.1")
	f("127.0.0.1:8080")
	f("http://")
	f("http://127.0.0.1/?q=1")
	f("http://user:pw@127.0.0.1/")
}

func TestRemoteErrorText(t *testing.T) {
	err := CheckLoopback(context.Background(), Target{URL: "http://far.test"}, fakeResolver(map[string][]string{"far.test": {"192.0.2.1"}}))
	var re *RemoteError
	if !errors.As(err, &re) || re.Host != "far.test" || re.Addr != "192.0.2.1" {
		t.Fatalf("got %#v", err)
	}
	if got := err.Error(); got != `refusing non-loopback target "far.test" (resolves to 192.0.2.1; pass --allow-remote to load-test it)` {
		t.Fatalf("message %q", got)
	}
}
