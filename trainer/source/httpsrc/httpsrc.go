package httpsrc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/fetch"
	"github.com/recotem/recotem/trainer/source"
)

func init() {
	source.RegisterOpener("https", Open)
	source.RegisterOpener("http", Open)
	source.RegisterProber("https", Probe)
	source.RegisterProber("http", Probe)
}

// DefaultTimeout is RECOTEM_HTTP_TIMEOUT_SECONDS's default, used when
// Options.HTTPTimeout is 0.
const DefaultTimeout = 30 * time.Second

// Prefix is the event prefix of source downloads (csv and parquet alike).
const Prefix = "csv_source"

// configure, when set (tests only), adjusts each Fetcher before use, e.g.
// to trust a test server's certificate.
var configure func(*fetch.Fetcher)

// Fetcher returns the guarded fetcher the opener uses for opt: guard and
// timeout from opt.HTTPAllowPrivate and opt.HTTPTimeout, cap from
// opt.MaxDownloadBytes, events on opt.Logger.
func Fetcher(opt source.Options) *fetch.Fetcher {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &fetch.Fetcher{
		AllowPrivate: opt.HTTPAllowPrivate,
		Timeout:      opt.HTTPTimeout,
		MaxBytes:     opt.MaxDownloadBytes,
		Prefix:       Prefix,
		Logger:       log,
	}
	if f.Timeout <= 0 {
		f.Timeout = DefaultTimeout
	}
	if f.MaxBytes <= 0 {
		f.MaxBytes = source.DefaultMaxDownloadBytes
	}
	if configure != nil {
		configure(f)
	}
	return f
}

// Open downloads path (http or https) under the guard and the cap into a
// temporary file and returns it positioned at the start; Close removes it.
// Failures are class HTTPFetch (exit 7).
func Open(ctx context.Context, path string, opt source.Options) (io.ReadCloser, error) {
	f := Fetcher(opt)
	tmp, err := os.CreateTemp("", "recotem-src-*")
	if err != nil {
		return nil, failure.New(failure.DataSource, "datasource_error", "download buffer: %v", errors.Unwrap(err))
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if _, err := f.Fetch(ctx, path, "", tmp); err != nil {
		cleanup()
		return nil, fetchErr(err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, failure.New(failure.DataSource, "datasource_error", "download buffer: %v", err)
	}
	return &tempFile{File: tmp}, nil
}

// Probe is validate's check of an http(s) path: the scheme and the address
// guard on the first host, without any request (§1.6). Refusals are class
// HTTPFetch (exit 7).
func Probe(ctx context.Context, path string, opt source.Options) error {
	u, err := url.Parse(path)
	if err != nil {
		return failure.Wrap(failure.HTTPFetch, "datasource_error", &fetch.Error{Msg: "invalid URL", Err: err})
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return failure.Wrap(failure.HTTPFetch, "datasource_error", &fetch.Error{URL: fetch.Redact(u), Msg: "only http and https URLs can be fetched"})
	}
	if u.User != nil {
		return failure.Wrap(failure.HTTPFetch, "datasource_error", &fetch.Error{URL: fetch.Redact(u), Msg: "URL must not carry credentials"})
	}
	f := Fetcher(opt)
	if f.AllowPrivate {
		return nil
	}
	if msg := guardHost(ctx, f.Resolver, u.Hostname()); msg != "" {
		return failure.Wrap(failure.HTTPFetch, "datasource_error", &fetch.Error{URL: fetch.Redact(u), Msg: msg, Err: fetch.ErrRefused})
	}
	return nil
}

// guardHost resolves host (literals too) and returns why it is refused, or
// "" when every address is public.
func guardHost(ctx context.Context, r fetch.Resolver, host string) string {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if r == nil {
			r = net.DefaultResolver
		}
		addrs, err = r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return "resolve host: " + err.Error()
		}
	}
	if len(addrs) == 0 {
		return "host resolved to no address"
	}
	for _, a := range addrs {
		if fetch.Internal(a) {
			return host + " resolves to internal address " + a.String()
		}
	}
	return ""
}

func fetchErr(err error) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	return failure.Wrap(failure.HTTPFetch, "datasource_error", err)
}

// tempFile removes itself on Close.
type tempFile struct{ *os.File }

func (t *tempFile) Close() error {
	err := t.File.Close()
	os.Remove(t.File.Name())
	return err
}
