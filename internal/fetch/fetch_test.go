package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestInternalMatrix(t *testing.T) {
	refused := []string{"10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.9.9.9", "169.254.169.254",
		"::1", "100.64.0.1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "0.0.0.0", "::", "224.0.0.1", "ff02::1",
		"fe80::1", "fc00::1", "198.18.0.1", "192.0.2.10", "198.51.100.7", "203.0.113.9", "64:ff9b::a00:1",
		"2001:db8::1", "240.0.0.1", "255.255.255.255"}
	allowed := []string{"93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.4.4", "1.1.1.1"}
	for _, s := range refused {
		if !Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s should be refused", s)
		}
	}
	for _, s := range allowed {
		if Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s should be allowed", s)
		}
	}
}

func TestLiteralInternalAddressesRefused(t *testing.T) {
	for _, host := range []string{"10.0.0.1", "127.0.0.1", "169.254.169.254", "[::1]", "100.64.0.1", "[::ffff:127.0.0.1]"} {
		f := &Fetcher{}
		_, err := f.Fetch(context.Background(), "http://"+host+"/data.csv", "", &bytes.Buffer{})
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err %v, want refusal", host, err)
		}
	}
}

// server returns a TLS test server with a few routes and a Fetcher that trusts it.
func server(t *testing.T, body []byte) (*httptest.Server, *Fetcher) {
	mux := http.NewServeMux()
	mux.HandleFunc("/data.csv", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "recotem/2" {
			http.Error(w, "bad agent", 400)
			return
		}
		w.Write(body)
	})
	mux.HandleFunc("/r/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/r/"), "%d", &n)
		if n == 0 {
			http.Redirect(w, r, "/data.csv", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", 302) })
	mux.HandleFunc("/loop2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", 302) })
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "file:///etc/passwd")
		w.WriteHeader(302)
	})
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://"+r.Host+"/data.csv")
		w.WriteHeader(307)
	})
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://10.0.0.1/data.csv")
		w.WriteHeader(302)
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	f := &Fetcher{AllowPrivate: true, Transport: func(tr *http.Transport) {
		tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		tr.TLSClientConfig.RootCAs = pool
	}}
	return srv, f
}

func TestFetchPinRedirectsAndLimits(t *testing.T) {
	body := []byte("user,item\n1,2\n")
	sum := sha256.Sum256(body)
	pin := hex.EncodeToString(sum[:])
	srv, f := server(t, body)
	ctx := context.Background()

	var buf bytes.Buffer
	if _, err := f.Fetch(ctx, srv.URL+"/data.csv", pin, &buf); err != nil || !bytes.Equal(buf.Bytes(), body) {
		t.Fatalf("pinned fetch: %v %q", err, buf.Bytes())
	}
	// 4 redirects then 200 is fine; a 5th redirect fails.
	if _, err := f.Fetch(ctx, srv.URL+"/r/3", pin, &bytes.Buffer{}); err != nil {
		t.Fatalf("4 redirects: %v", err)
	}
	for path, want := range map[string]string{
		"/r/4":        "too many redirects",
		"/loop":       "redirect loop",
		"/to-file":    "non-http(s)",
		"/to-http":    "same scheme only",
		"/missing":    "HTTP 404",
		"/to-private": "",
	} {
		_, err := f.Fetch(ctx, srv.URL+path, "", &bytes.Buffer{})
		if path == "/to-private" {
			continue // AllowPrivate: the hop would be dialled; covered in the guarded test below
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", path, err, want)
		}
	}
	wrong := strings.Repeat("0", 64)
	_, err := f.Fetch(ctx, srv.URL+"/data.csv", wrong, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch: got "+pin[:8]+"…, expected 00000000…") {
		t.Fatalf("wrong pin: %v", err)
	}
	small := *f
	small.MaxBytes = 5
	if _, err := small.Fetch(ctx, srv.URL+"/data.csv", "", &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "RECOTEM_MAX_DOWNLOAD_BYTES=5") {
		t.Fatalf("cap: %v", err)
	}
	if _, err := f.Fetch(ctx, "https://user:pw@"+strings.TrimPrefix(srv.URL, "https://")+"/data.csv", "", &bytes.Buffer{}); err == nil || strings.Contains(err.Error(), "pw") {
		t.Fatalf("userinfo: %v", err)
	}
}

type fakeDNS map[string]string

func (d fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := d[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

// With the guard on, a public-looking host (fake DNS → a documentation-free
// public address, dialled through to the loopback test server) is fetched,
// while a redirect into a private address is refused at the next hop.
func TestGuardFollowsEveryHopFakeDNS(t *testing.T) {
	body := []byte("a,b\n")
	srv, f := server(t, body)
	u, _ := url.Parse(srv.URL)
	f.AllowPrivate = false
	f.Resolver = fakeDNS{"example.com": "93.184.216.34", "internal.example": "10.1.1.1"}
	f.DialAddr = func(pinned string) string {
		if strings.HasPrefix(pinned, "93.184.216.34:") {
			return u.Host
		}
		return pinned
	}
	f.Transport = func(tr *http.Transport) {
		tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		tr.TLSClientConfig.InsecureSkipVerify = true // the test cert names 127.0.0.1/example.com only
	}
	base := "https://example.com:" + u.Port()
	if _, err := f.Fetch(context.Background(), base+"/data.csv", "", &bytes.Buffer{}); err != nil {
		t.Fatalf("public host: %v", err)
	}
	if _, err := f.Fetch(context.Background(), base+"/to-private", "", &bytes.Buffer{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("redirect into private: %v", err)
	}
	if _, err := f.Fetch(context.Background(), "https://internal.example/x", "", &bytes.Buffer{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("host resolving private: %v", err)
	}
}
