package bench

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Target is one server under test: a base URL and, optionally, a Unix
// socket to reach it through (the URL then only supplies the Host header
// and the path prefix).
type Target struct {
	URL string // e.g. "http://127.0.0.1:8080" or "http://localhost/prefix"
	UDS string // Unix socket path; "" for TCP
}

// endpoint is a parsed Target.
type endpoint struct {
	name   string // for reports: URL, or "unix:PATH"
	addr   string // host:port dialled over TCP
	host   string // Host header (host[:port] as written)
	hostIP string // host without port or brackets
	prefix string // path prefix without trailing slash
	tls    bool
	uds    string
}

func parseTarget(t Target) (endpoint, error) {
	raw := strings.TrimSpace(t.URL)
	if raw == "" && t.UDS != "" {
		raw = "http://localhost"
	}
	if raw == "" {
		return endpoint{}, configErr("no target URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, configErr("target URL %q: %v", raw, err)
	}
	var e endpoint
	switch u.Scheme {
	case "http":
	case "https":
		e.tls = true
	default:
		return endpoint{}, configErr("target URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return endpoint{}, configErr("target URL %q has no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return endpoint{}, configErr("target URL %q: no query, fragment or user info allowed", raw)
	}
	e.host = u.Host
	e.hostIP = u.Hostname()
	port := u.Port()
	if port == "" {
		port = "80"
		if e.tls {
			port = "443"
		}
	}
	e.addr = net.JoinHostPort(e.hostIP, port)
	e.prefix = strings.TrimRight(u.EscapedPath(), "/")
	e.uds = t.UDS
	e.name = raw
	if t.UDS != "" {
		e.name = "unix:" + t.UDS
		if e.tls {
			return endpoint{}, configErr("https over a Unix socket is not supported")
		}
	}
	return e, nil
}

// Resolver looks a host name up; net.DefaultResolver.LookupNetIP fits.
type Resolver func(ctx context.Context, network, host string) ([]netip.Addr, error)

// CheckLoopback returns nil if every address t can reach is a loopback
// address (or t is a Unix socket, which is local by construction), and a
// *RemoteError (ErrRemoteTarget) otherwise. Host names other than
// "localhost" are resolved with lookup (nil: the system resolver); a name
// that resolves to any non-loopback address is refused, and so is one that
// does not resolve.
func CheckLoopback(ctx context.Context, t Target, lookup Resolver) error {
	e, err := parseTarget(t)
	if err != nil {
		return err
	}
	if e.uds != "" {
		return nil
	}
	host := e.hostIP
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		// RFC 6761: localhost names always resolve to loopback.
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Unmap().IsLoopback() {
			return nil
		}
		return &RemoteError{Host: host, Addr: ip.String()}
	}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupNetIP
	}
	ips, err := lookup(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return &RemoteError{Host: host, Addr: "an unresolvable address"}
	}
	for _, ip := range ips {
		if !ip.Unmap().IsLoopback() {
			return &RemoteError{Host: host, Addr: ip.String()}
		}
	}
	return nil
}
