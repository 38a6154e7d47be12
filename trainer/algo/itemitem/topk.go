package itemitem

import "slices"

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

// selectTopK keeps the k best entries of cand (larger value, then smaller
// index) and returns them, sorted by ascending index when byIndex is set
// (otherwise in no particular order), reusing cand's storage. k <= 0 keeps
// everything. better is a strict total order (indices are unique), so the
// kept set does not depend on the selection algorithm.
func selectTopK(cand []entry, k int, byIndex bool) []entry {
	if k > 0 && len(cand) > k {
		partitionBest(cand, k)
		cand = cand[:k]
	}
	if byIndex {
		slices.SortFunc(cand, func(a, b entry) int { return int(a.idx) - int(b.idx) })
	}
	return cand
}

// partitionBest reorders c so that c[:k] holds its k best entries, in
// expected O(len(c)) time (quickselect, median-of-three pivots).
func partitionBest(c []entry, k int) {
	lo, hi := 0, len(c)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		if better(c[mid], c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if better(c[hi], c[lo]) {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if better(c[hi], c[mid]) {
			c[hi], c[mid] = c[mid], c[hi]
		}
		pivot := c[mid]
		i, j := lo, hi
		for i <= j {
			for better(c[i], pivot) {
				i++
			}
			for better(pivot, c[j]) {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
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
