//go:build !race

package scoring

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// The request paths allocate nothing once a caller's dst has capacity and
// the model's scratch pool is warm.
func TestZeroAllocs(t *testing.T) {
	cases := append(kindCases, kindCase{"ials-q8", KindFactor, "ials_cg", 30, 300, 12})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			s := newSynth(rng, c.kind, c.nU, c.nI, c.k, c.method)
			s.q8 = c.name == "ials-q8"
			m := s.open(t, Options{Q8: s.q8})
			if m.Q8() != s.q8 {
				t.Fatalf("int8 first pass %v, want %v", m.Q8(), s.q8)
			}
			dst := make([]Result, 0, 100)
			exclude := []int32{1, 2, 3}
			seeds := []int32{4, 5, 5, -1}
			f := func(what string, fn func()) {
				t.Helper()
				if n := testing.AllocsPerRun(50, fn); n != 0 {
					t.Errorf("%s: %v allocs/op", what, n)
				}
			}
			f("Recommend", func() { dst = m.Recommend(dst, 3, 20, exclude) })
			f("RecommendRelated", func() { dst, _ = m.RecommendRelated(dst, seeds, 20, exclude) })
			f("UserIndex", func() { m.UserIndex([]byte("u000003")) })
			users := []int{1, 2, 3, 4}
			batch := m.BatchRecommend(nil, users, 20)
			f("BatchRecommend", func() { batch = m.BatchRecommend(batch, users, 20) })

			// testing.AllocsPerRun pins GOMAXPROCS to 1, which keeps the
			// batch on its inline path; count with two workers instead.
			big := make([]int, 256)
			for i := range big {
				big[i] = (i * 7) % c.nU
			}
			big[5] = -1
			var n float64
			withProcs(2, func() {
				// warm up until the free list holds a scratch for every chunk
				// that can run at once (caller plus helpers): how many that
				// is depends on timing, and growing the list is not per-call
				for range 10 {
					batch = m.BatchRecommend(batch, big, 20)
				}
				n = allocsPerRun(50, func() { batch = m.BatchRecommend(batch, big, 20) })
			})
			if n != 0 {
				t.Errorf("BatchRecommend 256 users, GOMAXPROCS=2: %v allocs/op", n)
			}
			if helpers.n.Load() < 1 {
				t.Errorf("256 users on 2 procs started no helper goroutine")
			}
		})
	}
}

// allocsPerRun is testing.AllocsPerRun without its GOMAXPROCS(1): the
// average number of heap allocations of fn over runs calls (integer part,
// as AllocsPerRun reports it), after one warm-up call.
func allocsPerRun(runs int, fn func()) float64 {
	fn()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		fn()
	}
	runtime.ReadMemStats(&after)
	return float64((after.Mallocs - before.Mallocs) / uint64(runs))
}
