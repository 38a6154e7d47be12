package sqlsrc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/fetch"
)

// Dialects.
const (
	Postgres = "postgresql"
	MySQL    = "mysql"
	SQLite   = "sqlite"
)

// Sentinels; errors.Is works through the *failure.Error wrapping.
var (
	// ErrDSN marks an unset, empty or unparseable DSN (exit 3).
	ErrDSN = errors.New("sql dsn")
	// ErrRefused marks a private-address guard refusal (exit 7).
	ErrRefused = errors.New("sql host refused by the private-address guard")
	// ErrRebound marks a host whose addresses changed between the guard and
	// the connection (exit 3).
	ErrRebound = errors.New("sql host re-resolved outside the checked addresses")
	// ErrRowCap marks a result over RECOTEM_MAX_SQL_ROWS (exit 3).
	ErrRowCap = errors.New("sql row cap")
)

// dsn is a parsed DSN URL. It never renders itself: the URL holds secrets.
type dsn struct {
	dialect string
	u       *url.URL
	hosts   []hostPort // every host the driver may dial (URL and parameters)
	path    string     // sqlite file
	secret  string     // password, scrubbed from driver errors
	raw     string
}

type hostPort struct{ host, port string }

// parseDSN splits a SQLAlchemy-style URL. Errors never quote the URL.
func parseDSN(raw string) (*dsn, error) {
	raw = strings.TrimSpace(raw)
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, dsErr(ErrDSN, "sql dsn is not a URL (want postgresql://, mysql://, mariadb:// or sqlite:///path)")
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	d := &dsn{raw: raw}
	switch base {
	case "postgresql", "postgres":
		d.dialect = Postgres
	case "mysql", "mariadb":
		d.dialect = MySQL
	case "sqlite":
		d.dialect = SQLite
	default:
		return nil, dsErr(ErrDSN, "sql dsn dialect %q is not supported (postgresql, postgres, mysql, mariadb, sqlite)", base)
	}
	rest := raw[len(scheme)+3:]
	if d.dialect == SQLite {
		p, q, _ := strings.Cut(rest, "?")
		_ = q
		if !strings.HasPrefix(p, "/") {
			return nil, dsErr(ErrDSN, "sqlite dsn must be sqlite:///absolute/path")
		}
		p, err := url.PathUnescape(p)
		if err != nil {
			return nil, dsErr(ErrDSN, "sqlite dsn path is not valid")
		}
		d.path = filepath.Clean(p)
		if d.path == "/" {
			return nil, dsErr(ErrDSN, "sqlite dsn names no file")
		}
		return d, nil
	}
	// Multi-host postgres URLs (h1:5432,h2:5433) do not parse as one URL
	// host: parse with the first host, keep them all.
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hostlist := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hostlist = authority[:i+1], authority[i+1:]
	}
	first, _, _ := strings.Cut(hostlist, ",")
	u, err := url.Parse(base + "://" + userinfo + first + tail)
	if err != nil {
		return nil, dsErr(ErrDSN, "sql dsn is not a valid URL")
	}
	d.u = u
	if pw, ok := u.User.Password(); ok {
		d.secret = pw
	}
	defPort := "5432"
	if d.dialect == MySQL {
		defPort = "3306"
	}
	if hostlist != "" {
		for _, hp := range strings.Split(hostlist, ",") {
			h, p := splitHostPort(hp, defPort)
			d.hosts = append(d.hosts, hostPort{h, p})
		}
	}
	q := u.Query()
	switch d.dialect {
	case Postgres:
		ports := strings.Split(q.Get("port"), ",")
		for _, key := range []string{"host", "hostaddr"} {
			for i, h := range splitList(q.Get(key)) {
				p := defPort
				if i < len(ports) && ports[i] != "" {
					p = ports[i]
				} else if len(ports) == 1 && ports[0] != "" {
					p = ports[0]
				}
				d.hosts = append(d.hosts, hostPort{h, p})
			}
		}
	case MySQL:
		if h := q.Get("host"); h != "" {
			p := q.Get("port")
			if p == "" {
				p = defPort
			}
			d.hosts = append(d.hosts, hostPort{h, p})
		}
	}
	return d, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func splitHostPort(hp, def string) (string, string) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		if p == "" {
			p = def
		}
		return h, p
	}
	return strings.Trim(hp, "[]"), def
}

// internal is the guard's address test (tests widen it to reach loopback
// servers through the pinned path).
var internal = fetch.Internal

// Resolver looks up a host's addresses (net.DefaultResolver in production).
type Resolver = fetch.Resolver

// pins maps a host to the addresses the driver may dial.
type pins map[string][]netip.Addr

// guard applies §5.4's address rule and returns the checked addresses of
// every host. Refusals are class HTTPFetch (exit 7).
func (d *dsn) guard(ctx context.Context, r Resolver) (pins, error) {
	q := d.u.Query()
	if q.Has("service") {
		return nil, refused("sql dsn ?service= is refused (set RECOTEM_SQL_ALLOW_PRIVATE=1 to allow)")
	}
	if q.Has("unix_socket") {
		return nil, refused("sql dsn ?unix_socket= is refused (set RECOTEM_SQL_ALLOW_PRIVATE=1 to allow)")
	}
	if len(d.hosts) == 0 || slices.ContainsFunc(d.hosts, func(h hostPort) bool { return h.host == "" }) {
		return nil, refused("sql dsn has no host (a local socket is refused; set RECOTEM_SQL_ALLOW_PRIVATE=1 to allow)")
	}
	p := pins{}
	for _, h := range d.hosts {
		if strings.HasPrefix(h.host, "/") {
			return nil, refused("sql dsn host is a socket path (refused; set RECOTEM_SQL_ALLOW_PRIVATE=1 to allow)")
		}
		addrs, err := resolve(ctx, r, h.host)
		if err != nil {
			return nil, refused("sql host %s: resolve: %v", h.host, err)
		}
		if len(addrs) == 0 {
			return nil, refused("sql host %s resolved to no address", h.host)
		}
		for _, a := range addrs {
			if internal(a) {
				return nil, refused("sql host %s resolves to internal address %s (set RECOTEM_SQL_ALLOW_PRIVATE=1 to allow)", h.host, a)
			}
		}
		p[h.host] = append(p[h.host], addrs...)
	}
	return p, nil
}

// repin resolves every pinned host again and keeps only the addresses seen
// both times; a host with no overlap is a DataSource error (exit 3).
func (p pins) repin(ctx context.Context, r Resolver) (pins, error) {
	out := pins{}
	for host, checked := range p {
		addrs, err := resolve(ctx, r, host)
		if err != nil {
			return nil, dsErr(ErrRebound, "sql host %s: re-resolve before connect: %v", host, err)
		}
		var keep []netip.Addr
		for _, a := range addrs {
			if slices.ContainsFunc(checked, func(c netip.Addr) bool { return c.Unmap() == a.Unmap() }) {
				keep = append(keep, a.Unmap())
			}
		}
		if len(keep) == 0 {
			return nil, dsErr(ErrRebound, "sql host %s re-resolved to addresses outside the checked set", host)
		}
		out[host] = keep
	}
	return out, nil
}

// lookup is a pgx LookupFunc over the pins.
func (p pins) lookup(_ context.Context, host string) ([]string, error) {
	addrs, ok := p[strings.Trim(host, "[]")]
	if !ok {
		return nil, fmt.Errorf("host %s was not checked by the address guard", host)
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, nil
}

// dial is a mysql DialFunc over the pins: it dials the first reachable
// checked address of addr's host.
func (p pins) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := p.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var first error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

func resolve(ctx context.Context, r Resolver, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}

// tlsConfigured reports whether the DSN asks for TLS (§5.4: postgres sslmode
// other than absent/disable/allow/prefer; mysql any ssl* parameter).
func (d *dsn) tlsConfigured() bool {
	if d.dialect == SQLite {
		return true
	}
	q := d.u.Query()
	if d.dialect == Postgres {
		switch strings.ToLower(q.Get("sslmode")) {
		case "", "disable", "allow", "prefer":
			return false
		}
		return true
	}
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "ssl") {
			return true
		}
	}
	return false
}

// Error is a SQL source failure; Kind is one of the sentinels (or nil).
// Its text never holds the DSN or its password.
type Error struct {
	Msg  string
	Kind error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func dsErr(kind error, format string, args ...any) *failure.Error {
	return failure.Wrap(failure.DataSource, "datasource_error", &Error{Msg: fmt.Sprintf(format, args...), Kind: kind})
}

func refused(format string, args ...any) *failure.Error {
	return failure.Wrap(failure.HTTPFetch, "datasource_error", &Error{Msg: fmt.Sprintf(format, args...), Kind: ErrRefused})
}
