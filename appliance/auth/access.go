package auth

import (
	"bytes"
	"strings"
)

// Hosts is the Host-header allow-list (RECOTEM_ALLOWED_HOSTS): exact names
// and "*.suffix" patterns, compared ASCII case-insensitively with the port
// ignored; "*" allows any host.
type Hosts struct {
	list []string // lower-case patterns
	any  bool
}

// NewHosts trims and lower-cases patterns and drops empty ones; an empty
// list allows 127.0.0.1 and localhost.
func NewHosts(patterns []string) Hosts {
	var h Hosts
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == "*" {
			h.any = true
		}
		h.list = append(h.list, p)
	}
	if len(h.list) == 0 {
		h.list = []string{"127.0.0.1", "localhost"}
	}
	return h
}

// List returns the patterns (for the security posture log).
func (h Hosts) List() []string { return h.list }

// Allowed matches a Host header value (port ignored; IPv6 literals keep
// their brackets) against the list.
func (h Hosts) Allowed(host []byte) bool {
	if h.any {
		return true
	}
	if len(host) > 0 && host[0] == '[' {
		if i := bytes.IndexByte(host, ']'); i >= 0 {
			host = host[:i+1]
		}
	} else if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	for _, p := range h.list {
		if len(p) > 2 && p[0] == '*' && p[1] == '.' {
			suf := p[1:]
			if len(host) > len(suf) && EqualFold(host[len(host)-len(suf):], suf) {
				return true
			}
			continue
		}
		if EqualFold(host, p) {
			return true
		}
	}
	return false
}

// Origins is the CORS origin list (RECOTEM_ALLOWED_ORIGINS): exact
// origins, "*" for any; empty turns CORS off.
type Origins struct {
	list []string
	any  bool
}

// NewOrigins trims origins and drops empty ones.
func NewOrigins(origins []string) Origins {
	var o Origins
	for _, s := range origins {
		if s = strings.TrimSpace(s); s != "" {
			if s == "*" {
				o.any = true
			}
			o.list = append(o.list, s)
		}
	}
	return o
}

// List returns the origins (nil when CORS is off).
func (o Origins) List() []string { return o.list }

// Any reports whether every origin is allowed ("*").
func (o Origins) Any() bool { return o.any }

// Allowed reports whether origin is on the list.
func (o Origins) Allowed(origin []byte) bool {
	if o.any {
		return true
	}
	for _, p := range o.list {
		if string(origin) == p {
			return true
		}
	}
	return false
}

// PaddedKey reports whether the raw X-API-Key header line carries
// whitespace around the value beyond the single conventional space after
// the colon: the key is taken untrimmed, and HTTP parsers strip that
// whitespace, so such a key is refused.
func PaddedKey(raw []byte) bool {
	const name = "x-api-key:"
	for len(raw) > 0 {
		end := bytes.IndexByte(raw, '\n')
		line := raw
		if end >= 0 {
			line, raw = raw[:end], raw[end+1:]
		} else {
			raw = nil
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) < len(name) || !EqualFold(line[:len(name)], name) {
			continue
		}
		v := line[len(name):]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		return len(v) > 0 && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t')
	}
	return false
}

// EqualFold is ASCII case-insensitive equality of header bytes and a
// string (bytes.EqualFold would also fold non-ASCII look-alikes such as
// U+212A KELVIN SIGN into 'k').
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
