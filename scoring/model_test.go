package scoring

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

type kindCase struct {
	name, kind, method string
	nU, nI, k          int
}

var kindCases = []kindCase{
	{"ials", KindFactor, "ials_cg", 30, 300, 12},
	{"svd", KindFactor, "projection", 30, 1500, 20}, // > one matVec block
	{"bprfm", KindFactor, "mean", 30, 257, 33},
	{"sparse", KindSparseItem, "", 30, 200, 0},
	{"sparse-counts", KindSparseItem, "counts", 30, 200, 0},
	{"dense", KindDenseItem, "", 30, 150, 0},
	{"dense-counts", KindDenseItem, "counts", 30, 150, 0},
	{"popularity", KindPopularity, "", 30, 120, 0},
}

func TestRecommendMatchesReference(t *testing.T) {
	for _, c := range kindCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(c.name)), 7))
			s := newSynth(rng, c.kind, c.nU, c.nI, c.k, c.method)
			m := s.open(t, Options{})
			if m.Kind() != c.kind || m.NumUsers() != c.nU || m.NumItems() != c.nI {
				t.Fatalf("loaded %s %d×%d", m.Kind(), m.NumUsers(), m.NumItems())
			}
			var dst []Result
			f := func(u, limit int, exclude []int32) {
				t.Helper()
				dst = m.Recommend(dst, u, limit, exclude)
				sameResults(t, "recommend", dst, s.refRecommend(u, limit, exclude), 1e-5)
			}
			for u := 0; u < c.nU; u++ {
				f(u, 10, nil)
			}
			f(0, 1, nil)
			f(1, c.nI+5, nil) // limit above the item count: every unseen item
			f(2, 20, []int32{-1, 3, 3, 7, int32(c.nI), int32(c.nI) + 100})
			f(3, 1000, []int32{0, 1, 2})
			if got := m.Recommend(dst, -1, 10, nil); len(got) != 0 {
				t.Fatalf("unknown user index gave %v", got)
			}
			if got := m.Recommend(dst, 0, 0, nil); len(got) != 0 {
				t.Fatalf("limit 0 gave %v", got)
			}
		})
	}
}

func TestRelatedMatchesReference(t *testing.T) {
	for _, c := range kindCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(c.name)), 9))
			s := newSynth(rng, c.kind, c.nU, c.nI, c.k, c.method)
			if s.fold.Method == "ials_cg" {
				s.fold.CGSteps = c.k // CG in k steps is the exact solve the reference uses
			}
			m := s.open(t, Options{})
			var dst []Result
			f := func(seeds []int32, limit int, exclude []int32) {
				t.Helper()
				got, err := m.RecommendRelated(dst, seeds, limit, exclude)
				want, werr := s.refRelated(seeds, limit, exclude)
				if !errors.Is(err, werr) || (err == nil) != (werr == nil) {
					t.Fatalf("seeds %v: err %v, want %v", seeds, err, werr)
				}
				if err == nil {
					sameResults(t, "related", got, want, 1e-4)
				}
				dst = got
			}
			f([]int32{5}, 10, nil)
			f([]int32{5, 5, 9}, 10, nil) // duplicate seed counts twice
			f([]int32{-3, 2, int32(c.nI), 11}, 25, []int32{4, 4, -1})
			f([]int32{1, 2, 3, 4, 5, 6, 7}, c.nI, nil)
			f([]int32{-1, int32(c.nI)}, 10, nil) // none known
			all := make([]int32, c.nI)
			for i := range all {
				all[i] = int32(i)
			}
			f([]int32{0}, 10, all[1:]) // nothing left
			if _, err := m.RecommendRelated(dst, nil, 10, nil); !errors.Is(err, ErrUnknownSeeds) {
				t.Fatalf("no seeds: %v", err)
			}
		})
	}
}

func TestBatchEqualsSingle(t *testing.T) {
	for _, c := range kindCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(c.name)), 11))
			s := newSynth(rng, c.kind, c.nU, c.nI, c.k, c.method)
			m := s.open(t, Options{})
			users := []int{3, 0, 29, 3, -1, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1}
			for _, limit := range []int{1, 10, c.nI} {
				out := m.BatchRecommend(nil, users, limit)
				if len(out) != len(users) {
					t.Fatalf("%d results for %d users", len(out), len(users))
				}
				for i, u := range users {
					want := m.Recommend(nil, u, limit, nil)
					sameResults(t, "batch", out[i], want, 0)
				}
				out = m.BatchRecommend(out, users[:2], limit) // reuse
				if len(out) != 2 {
					t.Fatalf("reuse: %d results", len(out))
				}
			}
		})
	}
}

// withProcs runs fn with GOMAXPROCS set to n and restores it.
func withProcs(n int, fn func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	fn()
}

// The parallel batch path (helpers plus caller, several concurrent callers
// sharing the helpers) gives each user exactly its single-call results.
func TestBatchParallelEqualsSingle(t *testing.T) {
	for _, c := range kindCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(c.name)), 13))
			s := newSynth(rng, c.kind, c.nU, c.nI, c.k, c.method)
			m := s.open(t, Options{})
			users := make([]int, 5*batchUsers+3) // 6 chunks, the last partial
			for i := range users {
				users[i] = rng.IntN(c.nU+2) - 1 // includes -1 and nU: unknown
			}
			want := make([][]Result, len(users))
			for i, u := range users {
				want[i] = m.Recommend(nil, u, 10, nil)
			}
			withProcs(4, func() {
				const callers = 3
				outs := make([][][]Result, callers)
				var wg sync.WaitGroup
				for g := range callers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 4 {
							outs[g] = m.BatchRecommend(outs[g], users, 10)
						}
					}()
				}
				wg.Wait()
				for g := range callers {
					for i := range users {
						sameResults(t, fmt.Sprintf("caller %d user %d", g, users[i]), outs[g][i], want[i], 0)
					}
				}
			})
		})
	}
}

func TestIDLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	s := newSynth(rng, KindPopularity, 5, 7, 0, "")
	m := s.open(t, Options{})
	f := func(id string, wantU, wantI int) {
		t.Helper()
		u, uok := m.UserIndex([]byte(id))
		i, iok := m.ItemIndex([]byte(id))
		if (wantU >= 0) != uok || (uok && u != wantU) || (wantI >= 0) != iok || (iok && i != wantI) {
			t.Fatalf("%q: user (%d,%v) item (%d,%v), want %d %d", id, u, uok, i, iok, wantU, wantI)
		}
	}
	f("u000000", 0, -1)
	f("u000004", 4, -1)
	f("i000006", -1, 6)
	f("i000007", -1, -1)
	f("", -1, -1)
	if string(m.ItemID(3)) != "i000003" || string(m.UserID(2)) != "u000002" {
		t.Fatalf("ItemID/UserID: %q %q", m.ItemID(3), m.UserID(2))
	}
}
