// Package auth owns who may call `recotem serve`: the API-key check (the
// allocation-free scrypt digest of a presented X-API-Key, its
// constant-time comparison with every configured digest, the remembered
// tags of keys that passed once, the length and padding rules), the memory
// of anonymous clients already logged, the Host allow-list and the CORS
// origin list. It knows nothing of HTTP: callers pass header bytes, then
// log and answer by the result.
//
// An Authenticator and an Anonymous are safe for concurrent use; Hosts and
// Origins are immutable. Verify and Check keep nothing of the presented
// bytes but a keyed tag.
package auth

import (
	"net/netip"
	"sync"
)

// MinKeyLen is the shortest key that is hashed at all.
const MinKeyLen = 32

// Result is the outcome of Verify.
type Result uint8

const (
	OK        Result = iota
	Missing          // no X-API-Key value
	Oversized        // longer than MaxKeyLen
	Short            // shorter than MinKeyLen
	Invalid          // matches no configured key
)

// Verify checks a presented key: missing, oversized and short keys are
// rejected after a burned digest (so they cost what a check costs); others
// go through Check.
func (a *Authenticator) Verify(key []byte) (string, Result) {
	switch {
	case len(key) == 0:
		a.Burn()
		return "", Missing
	case len(key) > MaxKeyLen:
		a.Burn()
		return "", Oversized
	case len(key) < MinKeyLen:
		a.Burn()
		return "", Short
	}
	if kid, ok := a.Check(key); ok {
		return kid, OK
	}
	return "", Invalid
}

// Anonymous remembers the last 1024 anonymous client hosts, so that the
// first request of each is logged once.
type Anonymous struct {
	mu   sync.Mutex
	seen map[netip.Addr]struct{}
	ring [1024]netip.Addr
	n    int
}

// FirstSeen reports whether addr was not among the remembered hosts.
func (l *Anonymous) FirstSeen(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = make(map[netip.Addr]struct{}, len(l.ring))
	}
	if _, ok := l.seen[addr]; ok {
		return false
	}
	slot := l.n % len(l.ring)
	if l.n >= len(l.ring) {
		delete(l.seen, l.ring[slot])
	}
	l.ring[slot] = addr
	l.seen[addr] = struct{}{}
	l.n++
	return true
}
