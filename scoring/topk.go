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

// topK keeps the k best entries offered to it. Entries that can still
// make the cut are appended to a buffer of up to 2k; a full buffer is cut
// back to its k best by quickselect (linear time), which also sets the
// k-th best entry every later offer must beat. That costs an append per
// kept offer and O(k) per k kept offers, where a heap pays log k per offer.
// The zero value is unusable; call reset.
type topK[T float32 | float64] struct {
	h   []entry[T] // kept entries, unordered
	k   int
	cut bool     // kth is set: at least k entries are known
	kth entry[T] // the k-th best entry at the last cut
	thr T        // kth.s, or −Inf before the first cut
}

// reset empties the selection for a new k, reusing its storage.
func (t *topK[T]) reset(k int) {
	if cap(t.h) < 2*k {
		t.h = make([]entry[T], 0, 2*k)
	}
	t.h = t.h[:0]
	t.k = k
	t.cut = false
	t.thr = T(math.Inf(-1))
}

// push offers item i with score s, in any order. Non-finite scores must be
// filtered by the caller. Callers that offer items in ascending index order
// may skip any score not above thr: an equal score offered later has a
// higher index and so ranks after the k-th entry.
func (t *topK[T]) push(s T, i int32) {
	e := entry[T]{s, i}
	if t.k == 0 || (t.cut && !worse(t.kth, e)) {
		return
	}
	t.h = append(t.h, e)
	if len(t.h) == 2*t.k {
		t.shrink()
	}
}

// shrink cuts the buffer to its k best entries.
func (t *topK[T]) shrink() {
	selectBest(t.h, t.k)
	t.h = t.h[:t.k]
	t.kth = t.h[t.k-1]
	t.cut = true
	t.thr = t.kth.s
}

// best returns the kept entries (at most k, unordered).
func (t *topK[T]) best() []entry[T] {
	if len(t.h) > t.k {
		t.shrink()
	}
	return t.h
}

// selectBest reorders h so that h[:k] are its k best entries and h[k-1] the
// worst of them (Hoare's quickselect with a median-of-three pivot); worse
// is a strict total order because item indices are distinct. 0 < k ≤ len(h).
func selectBest[T float32 | float64](h []entry[T], k int) {
	lo, hi, n := 0, len(h)-1, k-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		a, b, c := h[lo], h[mid], h[hi]
		p := b // median of a, b, c
		if worse(a, b) != worse(a, c) {
			p = a
		} else if worse(c, a) != worse(c, b) {
			p = c
		}
		i, j := lo, hi
		for i <= j {
			for worse(p, h[i]) {
				i++
			}
			for worse(h[j], p) {
				j--
			}
			if i <= j {
				h[i], h[j] = h[j], h[i]
				i++
				j--
			}
		}
		switch {
		case n <= j:
			hi = j
		case n >= i:
			lo = i
		default:
			return
		}
	}
}

// sorted orders the kept entries best first and returns them.
func (t *topK[T]) sorted() []entry[T] {
	t.best()
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
