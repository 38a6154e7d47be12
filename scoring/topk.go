package scoring

import (
	"math"
	"slices"
)

// entry is one candidate of a bounded top-K selection.
type entry[T float32 | float64] struct {
	s T
	i int32
}

// worse reports whether a ranks after b: lower score, or equal score and a
// higher item index (algorithms.md §6: ties go to the lower index).
func worse[T float32 | float64](a, b entry[T]) bool {
	return a.s < b.s || (a.s == b.s && a.i > b.i)
}

// topK is a bounded min-heap keeping the k best entries; the root is the
// worst of them. The zero value is unusable; call reset.
type topK[T float32 | float64] struct {
	h   []entry[T]
	k   int
	thr T // score a new entry must beat (−Inf until the heap is full)
}

// reset empties the heap for a new selection of k, reusing its storage.
func (t *topK[T]) reset(k int) {
	if cap(t.h) < k {
		t.h = make([]entry[T], 0, k)
	}
	t.h = t.h[:0]
	t.k = k
	t.thr = T(math.Inf(-1))
}

// push offers item i with score s. Items must be offered in ascending index
// order for the threshold fast path in callers to be exact: an equal score
// offered later has a higher index and so never displaces the root.
// Non-finite scores must be filtered by the caller.
func (t *topK[T]) push(s T, i int32) {
	e := entry[T]{s, i}
	if len(t.h) < t.k {
		t.h = append(t.h, e)
		t.up(len(t.h) - 1)
		if len(t.h) == t.k {
			t.thr = t.h[0].s
		}
		return
	}
	if t.k == 0 || !worse(t.h[0], e) {
		return
	}
	t.h[0] = e
	t.down(0)
	t.thr = t.h[0].s
}

func (t *topK[T]) up(j int) {
	h := t.h
	for j > 0 {
		p := (j - 1) / 2
		if !worse(h[j], h[p]) {
			break
		}
		h[j], h[p] = h[p], h[j]
		j = p
	}
}

func (t *topK[T]) down(j int) {
	h := t.h
	n := len(h)
	for {
		l := 2*j + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[j]) {
			return
		}
		h[j], h[m] = h[m], h[j]
		j = m
	}
}

// sorted orders the kept entries best first and returns them.
func (t *topK[T]) sorted() []entry[T] {
	slices.SortFunc(t.h, func(a, b entry[T]) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	return t.h
}

// selectInto runs the §6 selection over a dense score row: items masked in
// mask (may be nil) and non-finite scores are skipped. off is the item
// index of scores[0].
func selectInto[T float32 | float64](t *topK[T], scores []T, off int32, mask bitset) {
	inf := T(math.Inf(1))
	for j, s := range scores {
		if !(s > t.thr) || s == inf { // NaN, −Inf and anything not beating the root
			continue
		}
		i := off + int32(j)
		if mask != nil && mask.has(i) {
			continue
		}
		t.push(s, i)
	}
}

// selectRef is the plain reference of selectInto: full sort of the
// admissible items, then the first k.
func selectRef[T float32 | float64](scores []T, k int, mask bitset) []entry[T] {
	var all []entry[T]
	for j, s := range scores {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || (mask != nil && mask.has(int32(j))) {
			continue
		}
		all = append(all, entry[T]{s, int32(j)})
	}
	slices.SortStableFunc(all, func(a, b entry[T]) int {
		if a.s > b.s {
			return -1
		}
		if a.s < b.s {
			return 1
		}
		return 0
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}
