// Package resultcache owns the ranked-result cache of one loaded model: a
// fixed, preallocated table of (user, limit) → top-limit results.
//
// A model's answer for a user depends only on the model, the user and the
// limit (seen items are part of the model), so a cache that lives and dies
// with one loaded model never serves a stale answer: a hot swap brings a new,
// empty cache. The table is direct-mapped — a key hashes to one slot, a new
// entry overwrites whatever was there — and sized once, so memory is bounded
// by construction and neither Get nor Put allocates. Each slot has its own
// mutex, held only to copy at most Width results; a Put that finds its slot
// busy is dropped rather than waited for.
package resultcache

import (
	"sync"

	"github.com/recotem/recotem/scoring"
)

// Width is the largest limit whose results are cached: requests beyond it
// are always ranked. It covers the default limit (10) and the usual page
// sizes; each slot reserves Width results.
const Width = 64

// slotBytes is the memory one slot costs: its results and its header.
const slotBytes = Width*8 + 32

// Cache is a fixed-size result table. The zero of *Cache (nil) is a valid,
// always-missing cache.
type Cache struct {
	slots []slot
	res   []scoring.Result // len(slots)*Width
	mask  uint64
}

type slot struct {
	mu  sync.Mutex
	key uint64 // 0 = empty; see keyOf
	n   int32  // results stored (≤ limit)
}

// New returns a cache for a model with users users, using at most budget
// bytes: the slot count is a power of two, at most twice the users (rounded
// up to a power of two) so that a small model gets a small table. It returns
// nil (caching off) when budget cannot hold 64 slots or users is 0.
func New(users int, budget int64) *Cache {
	if users <= 0 || budget < 64*slotBytes {
		return nil
	}
	n := uint64(64)
	for n*2*slotBytes <= uint64(budget) && n < 2*uint64(users) {
		n *= 2
	}
	return &Cache{slots: make([]slot, n), res: make([]scoring.Result, n*Width), mask: n - 1}
}

// Bytes is the memory the table reserves (0 for a nil cache).
func (c *Cache) Bytes() int64 {
	if c == nil {
		return 0
	}
	return int64(len(c.slots)) * slotBytes
}

// Slots is the number of slots (0 for a nil cache).
func (c *Cache) Slots() int {
	if c == nil {
		return 0
	}
	return len(c.slots)
}

// keyOf packs (u, limit) into a non-zero key; limit fits 16 bits.
func keyOf(u, limit int) uint64 { return uint64(u+1)<<16 | uint64(limit) }

// index mixes the key (splitmix64 finaliser) so neighbouring users and
// limits spread over the table.
func (c *Cache) index(key uint64) uint64 {
	key ^= key >> 30
	key *= 0xbf58476d1ce4e5b9
	key ^= key >> 27
	key *= 0x94d049bb133111eb
	key ^= key >> 31
	return key & c.mask
}

// Cacheable reports whether results for limit are kept.
func Cacheable(limit int) bool { return limit > 0 && limit <= Width }

// Get appends the cached results for (u, limit) to dst[:0] and reports
// whether there were any.
func (c *Cache) Get(dst []scoring.Result, u, limit int) ([]scoring.Result, bool) {
	if c == nil || !Cacheable(limit) || u < 0 {
		return dst, false
	}
	k := keyOf(u, limit)
	i := c.index(k)
	s := &c.slots[i]
	s.mu.Lock()
	if s.key != k {
		s.mu.Unlock()
		return dst, false
	}
	base := i * Width
	dst = append(dst[:0], c.res[base:base+uint64(s.n)]...)
	s.mu.Unlock()
	return dst, true
}

// Put stores r as the answer for (u, limit); it is dropped when limit is
// not cacheable, r is longer than limit, or the slot is busy.
func (c *Cache) Put(u, limit int, r []scoring.Result) {
	if c == nil || !Cacheable(limit) || u < 0 || len(r) > limit {
		return
	}
	k := keyOf(u, limit)
	i := c.index(k)
	s := &c.slots[i]
	if !s.mu.TryLock() {
		return
	}
	base := i * Width
	copy(c.res[base:base+Width], r)
	s.n = int32(len(r))
	s.key = k
	s.mu.Unlock()
}
