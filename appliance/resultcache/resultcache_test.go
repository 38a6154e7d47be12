package resultcache

import (
	"sync"
	"testing"

	"github.com/recotem/recotem/scoring"
)

func results(u, n int) []scoring.Result {
	r := make([]scoring.Result, n)
	for i := range r {
		r[i] = scoring.Result{Item: int32(u*1000 + i), Score: float32(n - i)}
	}
	return r
}

func TestSizing(t *testing.T) {
	if New(0, 1<<30) != nil || New(10, minBuckets*bucketBytes-1) != nil {
		t.Fatal("cache made without users or budget")
	}
	for _, tc := range []struct {
		users   int
		budget  int64
		buckets int
	}{
		{1, 1 << 30, minBuckets},
		{671, 1 << 30, 671},                    // one bucket per user
		{671, 100 * bucketBytes, 100},          // budget-bound
		{1_000_000, 32 << 20, 32 << 20 / 1056}, // budget-bound
	} {
		c := New(tc.users, tc.budget)
		if c.Buckets() != tc.buckets || c.Bytes() > max(tc.budget, minBuckets*bucketBytes) {
			t.Fatalf("users %d budget %d: %d buckets, %d bytes", tc.users, tc.budget, c.Buckets(), c.Bytes())
		}
	}
}

// TestEveryUserFits: with a bucket per user, every user's answers for two
// limits stay cached together — nothing evicts anything.
func TestEveryUserFits(t *testing.T) {
	const users = 671
	c := New(users, 32<<20)
	for u := range users {
		c.Put(u, 10, results(u, 10))
		c.Put(u, 20, results(u, 20))
	}
	for u := range users {
		for _, lim := range []int{10, 20} {
			if got, ok := c.Get(nil, u, lim); !ok || len(got) != lim || got[0].Item != int32(u*1000) {
				t.Fatalf("user %d limit %d: %v", u, lim, ok)
			}
		}
	}
	// a third limit replaces the way not written last (limit 10), not 20
	c.Put(5, 30, results(5, 30))
	_, ok10 := c.Get(nil, 5, 10)
	_, ok20 := c.Get(nil, 5, 20)
	_, ok30 := c.Get(nil, 5, 30)
	if ok10 || !ok20 || !ok30 {
		t.Fatalf("eviction: 10 %v 20 %v 30 %v", ok10, ok20, ok30)
	}
}

func TestGetPut(t *testing.T) {
	c := New(100, 1<<20)
	if _, ok := c.Get(nil, 3, 10); ok {
		t.Fatal("hit on an empty cache")
	}
	c.Put(3, 10, results(3, 10))
	got, ok := c.Get(make([]scoring.Result, 5), 3, 10)
	if !ok || len(got) != 10 || got[0].Item != 3000 || got[9].Score != 1 {
		t.Fatalf("get %v %v", ok, got)
	}
	// the key is (user, limit): another limit or user misses
	if _, ok := c.Get(nil, 3, 9); ok {
		t.Fatal("limit 9 served from limit 10")
	}
	if _, ok := c.Get(nil, 4, 10); ok {
		t.Fatal("user 4 served from user 3")
	}
	// a short answer (fewer items than limit) is cached as is
	c.Put(5, 20, results(5, 3))
	if got, ok := c.Get(nil, 5, 20); !ok || len(got) != 3 {
		t.Fatalf("short answer %v %v", ok, got)
	}
	// empty answers are answers too
	c.Put(6, 10, nil)
	if got, ok := c.Get(nil, 6, 10); !ok || len(got) != 0 {
		t.Fatal("empty answer not cached")
	}
	// not cacheable: limit beyond Width, answer longer than limit, nil cache
	c.Put(7, Width+1, results(7, Width+1))
	c.Put(8, 2, results(8, 3))
	var nilc *Cache
	nilc.Put(1, 1, results(1, 1))
	if _, ok := c.Get(nil, 7, Width+1); ok {
		t.Fatal("limit beyond Width cached")
	}
	if _, ok := c.Get(nil, 8, 2); ok {
		t.Fatal("over-long answer cached")
	}
	if _, ok := nilc.Get(nil, 1, 1); ok || nilc.Bytes() != 0 {
		t.Fatal("nil cache")
	}
}

// TestOverwriteNeverMixes: every key a slot can hold is answered either
// with a miss or with exactly what was put for that key, never with
// another key's results, however entries evict each other.
func TestOverwriteNeverMixes(t *testing.T) {
	c := New(5000, minBuckets*bucketBytes) // smallest table: 5000 users share 16 buckets
	for u := range 5000 {
		lim := 1 + u%Width
		c.Put(u, lim, results(u, lim))
		if got, ok := c.Get(nil, u, lim); !ok || len(got) != lim || got[0].Item != int32(u*1000) {
			t.Fatalf("user %d: %v %v", u, ok, got)
		}
	}
	hits := 0
	for u := range 5000 {
		lim := 1 + u%Width
		if got, ok := c.Get(nil, u, lim); ok {
			hits++
			if len(got) != lim || got[lim-1].Item != int32(u*1000+lim-1) {
				t.Fatalf("user %d got another entry %v", u, got)
			}
		}
	}
	if hits == 0 || hits > c.Buckets()*ways {
		t.Fatalf("%d hits in %d entries", hits, c.Buckets()*ways)
	}
}

// TestConcurrent is for -race: readers and writers on colliding keys.
func TestConcurrent(t *testing.T) {
	c := New(300, minBuckets*bucketBytes)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]scoring.Result, 0, Width)
			for i := range 20000 {
				u := (i*7 + w) % 300
				lim := 1 + u%Width
				if got, ok := c.Get(buf, u, lim); ok && (len(got) != lim || got[0].Item != int32(u*1000)) {
					t.Errorf("user %d: torn entry %v", u, got[0])
					return
				}
				c.Put(u, lim, results(u, lim))
			}
		}()
	}
	wg.Wait()
}

func TestZeroAlloc(t *testing.T) {
	c := New(1000, 1<<20)
	r := results(1, 10)
	buf := make([]scoring.Result, 0, Width)
	if n := testing.AllocsPerRun(100, func() {
		c.Put(1, 10, r)
		buf, _ = c.Get(buf, 1, 10)
		buf, _ = c.Get(buf, 2, 10)
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := New(1000, 1<<20)
	c.Put(1, 10, results(1, 10))
	buf := make([]scoring.Result, 0, Width)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = c.Get(buf, 1, 10)
	}
}
