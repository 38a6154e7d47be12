// Package fetch owns the guarded HTTP(S) download used for recipe sources
// and item metadata (recotem-behavior.md §5.4): an address guard against
// SSRF that checks every hop, a dial pinned to the checked IP (no DNS
// rebinding) that keeps Host/SNI, manual redirects with loop and downgrade
// checks, a streaming byte cap and a constant-time sha256 pin check.
// A Fetcher is safe for concurrent use.
package fetch

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// MaxRedirects is the number of redirects followed; the 5th received fails.
const MaxRedirects = 4

// Error is a fetch failure (exit 7 in the trainer). Msg never holds userinfo.
type Error struct {
	URL string // userinfo removed
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.URL == "" {
		return e.Msg
	}
	return e.Msg + " (" + e.URL + ")"
}

func (e *Error) Unwrap() error { return e.Err }

// ErrRefused marks an address-guard refusal.
var ErrRefused = errors.New("address refused by the private-address guard")

// Resolver looks up a host's addresses (net.DefaultResolver in production).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Fetcher downloads one URL at a time under the guard.
type Fetcher struct {
	AllowPrivate bool          // RECOTEM_HTTP_ALLOW_PRIVATE
	Timeout      time.Duration // RECOTEM_HTTP_TIMEOUT_SECONDS; 0 → 30 s
	MaxBytes     int64         // RECOTEM_MAX_DOWNLOAD_BYTES; 0 → 256 MiB
	Prefix       string        // event prefix: "csv_source" or "metadata_source"
	Logger       *slog.Logger
	Resolver     Resolver // nil → net.DefaultResolver
	// DialAddr, when set, rewrites the pinned "ip:port" before dialling.
	// Tests use it to reach a loopback server behind a fake public address.
	DialAddr func(pinned string) string
	// RootCAs-style TLS configuration for tests; nil uses system trust.
	Transport func(t *http.Transport)
}

// Result describes a finished download.
type Result struct {
	Bytes  int64
	SHA256 string
	Final  string // final URL (userinfo removed)
}

// Fetch streams url into w, following up to MaxRedirects redirects, and
// verifies the sha256 pin (hex) when non-empty.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, pin string, w io.Writer) (Result, error) {
	log := f.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	maxBytes := f.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cur, err := url.Parse(rawURL)
	if err != nil {
		return Result{}, &Error{Msg: "invalid URL", Err: err}
	}
	if cur.Scheme != "http" && cur.Scheme != "https" {
		return Result{}, &Error{URL: Redact(cur), Msg: "only http and https URLs can be fetched"}
	}
	if cur.User != nil {
		return Result{}, &Error{URL: Redact(cur), Msg: "URL must not carry credentials"}
	}
	scheme := cur.Scheme
	visited := map[string]bool{cur.String(): true}
	for hop := 0; ; hop++ {
		resp, err := f.get(ctx, cur)
		if err != nil {
			return Result{}, err
		}
		if isRedirect(resp.StatusCode) {
			resp.Body.Close()
			if hop >= MaxRedirects {
				return Result{}, &Error{URL: Redact(cur), Msg: fmt.Sprintf("too many redirects (more than %d)", MaxRedirects)}
			}
			loc := resp.Header.Get("Location")
			if loc == "" {
				return Result{}, &Error{URL: Redact(cur), Msg: "redirect without Location"}
			}
			next, err := cur.Parse(loc)
			if err != nil {
				return Result{}, &Error{URL: Redact(cur), Msg: "invalid redirect Location", Err: err}
			}
			switch {
			case next.Scheme != "http" && next.Scheme != "https":
				return Result{}, &Error{URL: Redact(cur), Msg: "redirect to a non-http(s) URL refused"}
			case next.Scheme != scheme:
				return Result{}, &Error{URL: Redact(cur), Msg: fmt.Sprintf("redirect from %s to %s refused (same scheme only)", scheme, next.Scheme)}
			case next.User != nil:
				return Result{}, &Error{URL: Redact(cur), Msg: "redirect to a URL with credentials refused"}
			case visited[next.String()]:
				return Result{}, &Error{URL: Redact(cur), Msg: "redirect loop"}
			}
			visited[next.String()] = true
			log.Info(f.prefix()+"_redirect", "path", Redact(cur), "from", Redact(cur), "to", Redact(next), "status", resp.StatusCode)
			cur = next
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 400 {
			return Result{}, &Error{URL: Redact(cur), Msg: fmt.Sprintf("HTTP %d", resp.StatusCode)}
		}
		h := sha256.New()
		n, err := copyCapped(io.MultiWriter(w, h), resp.Body, maxBytes)
		if errors.Is(err, errTooLarge) {
			log.Warn(f.prefix()+"_size_exceeded", "path", Redact(cur), "bytes_read", n, "cap", maxBytes)
			return Result{}, &Error{URL: Redact(cur), Msg: fmt.Sprintf("download exceeds RECOTEM_MAX_DOWNLOAD_BYTES=%d", maxBytes)}
		}
		if err != nil {
			return Result{}, &Error{URL: Redact(cur), Msg: "read body", Err: err}
		}
		sum := hex.EncodeToString(h.Sum(nil))
		if err := CheckPin(sum, pin); err != nil {
			return Result{}, &Error{URL: Redact(cur), Msg: err.Error()}
		}
		return Result{Bytes: n, SHA256: sum, Final: Redact(cur)}, nil
	}
}

func (f *Fetcher) prefix() string {
	if f.Prefix == "" {
		return "csv_source"
	}
	return f.Prefix
}

// CheckPin compares hex digests in constant time; an empty pin passes.
func CheckPin(got, want string) error {
	if want == "" {
		return nil
	}
	want = strings.ToLower(want)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("sha256 mismatch: got %s…, expected %s…", short(got), short(want))
	}
	return nil
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// HashReader wraps r so the sha256 of everything read can be checked later.
func HashReader(r io.Reader) (io.Reader, hash.Hash) {
	h := sha256.New()
	return io.TeeReader(r, h), h
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

var errTooLarge = errors.New("too large")

func copyCapped(dst io.Writer, src io.Reader, max int64) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, err := src.Read(buf)
		if m > 0 {
			if n+int64(m) > max {
				return n + int64(m), errTooLarge
			}
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// get resolves and guards cur's host, then issues one GET pinned to the
// first resolved address.
func (f *Fetcher) get(ctx context.Context, cur *url.URL) (*http.Response, error) {
	host := cur.Hostname()
	port := cur.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[cur.Scheme]
	}
	addrs, err := f.resolve(ctx, host)
	if err != nil {
		return nil, &Error{URL: Redact(cur), Msg: "resolve host", Err: err}
	}
	if len(addrs) == 0 {
		return nil, &Error{URL: Redact(cur), Msg: "host resolved to no address", Err: ErrRefused}
	}
	if !f.AllowPrivate {
		for _, a := range addrs {
			if Internal(a) {
				return nil, &Error{URL: Redact(cur), Msg: fmt.Sprintf("%s resolves to internal address %s", host, a), Err: ErrRefused}
			}
		}
	}
	pinned := net.JoinHostPort(addrs[0].Unmap().String(), port)
	if f.DialAddr != nil {
		pinned = f.DialAddr(pinned)
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, pinned)
		},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	if f.Transport != nil {
		f.Transport(tr)
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cur.String(), nil)
	if err != nil {
		return nil, &Error{URL: Redact(cur), Msg: "build request", Err: err}
	}
	req.Header.Set("User-Agent", "recotem/2")
	req.Header.Set("Accept", "*/*")
	resp, err := client.Do(req)
	if err != nil {
		return nil, &Error{URL: Redact(cur), Msg: "GET failed", Err: scrub(err)}
	}
	return resp, nil
}

// scrub drops the URL from *url.Error so no userinfo can leak.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (f *Fetcher) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	r := f.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}

// Redact renders u without userinfo.
func Redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
