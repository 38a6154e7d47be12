package itemitem

import (
	"math/rand"
	"slices"
	"testing"
)

// TestSelectTopK compares the quickselect with a full sort over sizes around
// k, heavy ties and distinct values.
func TestSelectTopK(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	f := func(n, k, distinct int) {
		t.Helper()
		cand := make([]entry, n)
		for i, p := range r.Perm(n) {
			cand[i] = entry{int32(p), float64(r.Intn(distinct))}
		}
		want := slices.Clone(cand)
		slices.SortFunc(want, func(a, b entry) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		if k > 0 && len(want) > k {
			want = want[:k]
		}
		slices.SortFunc(want, func(a, b entry) int { return int(a.idx) - int(b.idx) })
		got := selectTopK(slices.Clone(cand), k, true)
		unordered := selectTopK(cand, k, false)
		slices.SortFunc(unordered, func(a, b entry) int { return int(a.idx) - int(b.idx) })
		if !slices.Equal(unordered, want) {
			t.Fatalf("n=%d k=%d distinct=%d unordered: got %v want %v", n, k, distinct, unordered, want)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d k=%d distinct=%d:\n got %v\nwant %v", n, k, distinct, got, want)
		}
	}
	for _, n := range []int{0, 1, 2, 3, 10, 100, 1000} {
		for _, k := range []int{0, 1, 2, 5, 99, 100, 101, 2000} {
			for _, d := range []int{1, 2, 3, 1 << 30} {
				f(n, k, d)
			}
		}
	}
}
