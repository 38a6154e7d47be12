package itemitem

import (
	"container/heap"
	"slices"
)

// entry is one candidate (index, value) of a similarity row or column.
type entry struct {
	idx int32
	val float64
}

// better reports whether a ranks above b: larger value first, then smaller
// index (the tie-break of algorithms.md §2.3 and §2.4).
func better(a, b entry) bool {
	return a.val > b.val || (a.val == b.val && a.idx < b.idx)
}

// worstHeap is a min-heap under better: its root is the worst kept entry.
type worstHeap []entry

func (h worstHeap) Len() int           { return len(h) }
func (h worstHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h worstHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *worstHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// selectTopK keeps the k best entries of cand (larger value, then smaller
// index) and returns them sorted by ascending index, reusing cand's storage.
// k <= 0 keeps everything.
func selectTopK(cand []entry, k int) []entry {
	if k > 0 && len(cand) > k {
		h := worstHeap(cand[:k])
		heap.Init(&h)
		for _, e := range cand[k:] {
			if better(e, h[0]) {
				h[0] = e
				heap.Fix(&h, 0)
			}
		}
		cand = cand[:k]
	}
	slices.SortFunc(cand, func(a, b entry) int { return int(a.idx) - int(b.idx) })
	return cand
}

// accumulator is a dense float64 row of length n plus the list of touched
// indices, reset in O(touched).
type accumulator struct {
	val     []float64
	seen    []bool
	touched []int32
	cand    []entry
}

func newAccumulator(n int) *accumulator {
	return &accumulator{val: make([]float64, n), seen: make([]bool, n)}
}

// add adds v at index j.
func (a *accumulator) add(j int32, v float64) {
	if !a.seen[j] {
		a.seen[j] = true
		a.touched = append(a.touched, j)
	}
	a.val[j] += v
}

// reset clears the touched entries.
func (a *accumulator) reset() {
	for _, j := range a.touched {
		a.val[j] = 0
		a.seen[j] = false
	}
	a.touched = a.touched[:0]
}
