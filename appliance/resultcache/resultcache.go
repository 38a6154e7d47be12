// Package resultcache owns the ranked-result cache of one loaded model: a
// fixed, preallocated table of (user, limit) → top-limit results.
//
// A model's answer for a user depends only on the model, the user and the
// limit (seen items are part of the model), so a cache that lives and dies
// with one loaded model never serves a stale answer: a hot swap brings a new,
// empty cache. The table has one bucket per user (user index modulo the
// bucket count when the budget holds fewer), each with two ways so a user
// can keep two limits; a new entry replaces the way not written last. It is
// sized once, so memory is bounded by construction and neither Get nor Put
// allocates. Each bucket has its own mutex, held only to copy at most Width
// results; a Put that finds its bucket busy is dropped rather than waited
// for.
package resultcache

import (
	"sync"

	"github.com/recotem/recotem/scoring"
)

// Width is the largest limit whose results are cached: requests beyond it
// are always ranked. It covers the default limit (10) and the usual page
// sizes; each slot reserves Width results.
const Width = 64

// ways is the number of entries per bucket.
const ways = 2

// bucketBytes is the memory one bucket costs: its results and its header.
const bucketBytes = ways*Width*8 + 32

// minBuckets is the smallest table New makes.
const minBuckets = 16

// Cache is a fixed-size result table. The zero of *Cache (nil) is a valid,
// always-missing cache.
type Cache struct {
	buckets []bucket
	res     []scoring.Result // len(buckets)*ways*Width
}

type bucket struct {
	mu   sync.Mutex
	key  [ways]uint64 // 0 = empty; see keyOf
	n    [ways]int32  // results stored (≤ limit)
	last uint8        // way written last
}

// New returns a cache for a model with users users, using at most budget
// bytes: one bucket per user, or as many as budget holds. It returns nil
// (caching off) when users is 0 or budget cannot hold minBuckets buckets.
func New(users int, budget int64) *Cache {
	if users <= 0 || budget < minBuckets*bucketBytes {
		return nil
	}
	n := min(int64(users), budget/bucketBytes)
	n = max(n, minBuckets)
	return &Cache{buckets: make([]bucket, n), res: make([]scoring.Result, n*ways*Width)}
}

// Bytes is the memory the table reserves (0 for a nil cache).
func (c *Cache) Bytes() int64 {
	if c == nil {
		return 0
	}
	return int64(len(c.buckets)) * bucketBytes
}

// Buckets is the number of buckets (0 for a nil cache).
func (c *Cache) Buckets() int {
	if c == nil {
		return 0
	}
	return len(c.buckets)
}

// keyOf packs (u, limit) into a non-zero key; limit fits 16 bits.
func keyOf(u, limit int) uint64 { return uint64(u+1)<<16 | uint64(limit) }

// Cacheable reports whether results for limit are kept.
func Cacheable(limit int) bool { return limit > 0 && limit <= Width }

// Get appends the cached results for (u, limit) to dst[:0] and reports
// whether there were any.
func (c *Cache) Get(dst []scoring.Result, u, limit int) ([]scoring.Result, bool) {
	if c == nil || !Cacheable(limit) || u < 0 {
		return dst, false
	}
	k := keyOf(u, limit)
	bi := u % len(c.buckets)
	b := &c.buckets[bi]
	b.mu.Lock()
	for w := range ways {
		if b.key[w] == k {
			base := (bi*ways + w) * Width
			dst = append(dst[:0], c.res[base:base+int(b.n[w])]...)
			b.mu.Unlock()
			return dst, true
		}
	}
	b.mu.Unlock()
	return dst, false
}

// Put stores r as the answer for (u, limit); it is dropped when limit is
// not cacheable, r is longer than limit, or the bucket is busy.
func (c *Cache) Put(u, limit int, r []scoring.Result) {
	if c == nil || !Cacheable(limit) || u < 0 || len(r) > limit {
		return
	}
	k := keyOf(u, limit)
	bi := u % len(c.buckets)
	b := &c.buckets[bi]
	if !b.mu.TryLock() {
		return
	}
	w := (int(b.last) + 1) % ways // replace the way not written last…
	for i := range ways {
		if b.key[i] == k || b.key[i] == 0 { // …unless the key is here or a way is free
			w = i
			break
		}
	}
	base := (bi*ways + w) * Width
	copy(c.res[base:base+Width], r)
	b.n[w] = int32(len(r))
	b.key[w] = k
	b.last = uint8(w)
	b.mu.Unlock()
}
