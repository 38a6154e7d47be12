package scoring

import (
	"math"

	"github.com/viterin/vek/vek32"
)

// Result is one ranked item.
type Result struct {
	Item  int32
	Score float32
}

// candidates is how many first-pass (float32) candidates are re-scored
// exactly for a final cut of limit: a margin that absorbs float32
// rounding between nearly tied scores.
func candidates(limit, n int) int { return min(n, limit+limit/4+16) }

// Recommend appends to dst[:0] the top limit items for known user u
// (0 ≤ u < NumUsers; otherwise nothing): the §2 score row, the user's seen
// items and exclude (indices outside [0, NumItems) ignored) masked, ±Inf and
// NaN skipped, score descending then lower index first. It allocates nothing
// when dst has capacity for limit results.
func (m *Model) Recommend(dst []Result, u int, limit int, exclude []int32) []Result {
	dst = dst[:0]
	if limit <= 0 || u < 0 || u >= m.nUsers || m.nItems == 0 {
		return dst
	}
	s := m.getScratch()
	defer m.putScratch(s)
	a, b := m.seenPtr[u], m.seenPtr[u+1]
	idx := m.seenIdx[a:b]
	var val []float32
	if m.seenVal != nil {
		val = m.seenVal[a:b]
	}
	s.mask.setValid(idx, m.nItems)
	s.mask.setValid(exclude, m.nItems)
	switch m.kind {
	case KindFactor:
		z := s.z
		copy(z, m.uf[u*m.ufStride:u*m.ufStride+m.k])
		clear(z[m.k:])
		dst = m.rankFactor(dst, s, z, limit)
	default:
		dst = m.rankProfile(dst, s, idx, val, limit)
	}
	s.mask.clearValid(idx, m.nItems)
	s.mask.clearValid(exclude, m.nItems)
	return dst
}

// RecommendRelated appends to dst[:0] the top limit items related to the
// seed item indices: unknown seeds (outside [0, NumItems)) are ignored,
// duplicates count twice, seeds and exclude are masked. ErrUnknownSeeds when
// no seed is known, ErrNoCandidates when nothing is left to rank, ErrFoldIn
// when an IALS fold-in breaks down.
func (m *Model) RecommendRelated(dst []Result, seeds []int32, limit int, exclude []int32) ([]Result, error) {
	dst = dst[:0]
	s := m.getScratch()
	defer m.putScratch(s)
	prof := s.prof[:0]
	for _, j := range seeds {
		if j >= 0 && int(j) < m.nItems {
			prof = append(prof, j)
		}
	}
	s.prof = prof
	if len(prof) == 0 {
		return dst, ErrUnknownSeeds
	}
	s.mask.setValid(prof, m.nItems)
	s.mask.setValid(exclude, m.nItems)
	var err error
	if limit > 0 {
		switch m.kind {
		case KindFactor:
			if err = m.foldIn(s, prof); err == nil {
				dst = m.rankFactor(dst, s, s.z, limit)
			}
		default:
			dst = m.rankProfile(dst, s, prof, nil, limit)
		}
	}
	s.mask.clearValid(prof, m.nItems)
	s.mask.clearValid(exclude, m.nItems)
	if err != nil {
		return dst, err
	}
	if len(dst) == 0 {
		return dst, ErrNoCandidates
	}
	return dst, nil
}

// rankFactor ranks V·z (+ bias) with s.mask applied: a float32 SIMD (or
// int8) first pass keeps candidates, which are re-scored exactly.
func (m *Model) rankFactor(dst []Result, s *scratch, z []float32, limit int) []Result {
	n, stride := m.nItems, m.vfStride
	if m.useQ8 {
		m.firstPassQ8(s, z, limit)
	} else {
		s.h32.reset(candidates(limit, n))
		br := len(s.block)
		for r0 := 0; r0 < n; r0 += br {
			r1 := min(n, r0+br)
			blk := s.block[:r1-r0]
			matVec(blk, m.vf[r0*stride:r1*stride], z, stride)
			if m.bias != nil {
				vek32.Add_Inplace(blk, m.bias[r0:r1])
			}
			selectInto(&s.h32, blk, int32(r0), s.mask)
		}
	}
	dst = m.rescore(dst, &s.h64, s.h32.best(), z, limit, &s.rs)
	return dst
}

// rankProfile ranks the item-item and popularity kinds for a profile row
// (idx, val); val nil means 1.0 per entry.
func (m *Model) rankProfile(dst []Result, s *scratch, idx []int32, val []float32, limit int) []Result {
	n := m.nItems
	switch m.kind {
	case KindPopularity:
		s.h64.reset(limit)
		selectInto(&s.h64, m.pop[:n], 0, s.mask)
	case KindSparseItem:
		acc := s.acc64
		clear(acc)
		for p, j := range idx {
			x := 1.0
			if val != nil {
				x = float64(val[p])
			}
			a, b := m.simPtr[j], m.simPtr[j+1]
			cols, w := m.simIdx[a:b], m.simVal[a:b]
			for q, c := range cols {
				acc[c] += x * float64(w[q])
			}
		}
		s.h64.reset(limit)
		selectInto(&s.h64, acc, 0, s.mask)
	case KindDenseItem:
		acc := s.acc32
		clear(acc)
		for p, j := range idx {
			x := float32(1)
			if val != nil {
				x = val[p]
			}
			row := m.dense[int(j)*m.dStride : int(j)*m.dStride+n]
			axpy(acc, row, x, s.tmp32)
		}
		s.h32.reset(candidates(limit, n))
		selectInto(&s.h32, acc, 0, s.mask)
		s.h64.reset(limit)
		for _, e := range s.h32.best() {
			c := int(e.i)
			var x float64
			for p, j := range idx {
				w := 1.0
				if val != nil {
					w = float64(val[p])
				}
				x += w * float64(m.dense[int(j)*m.dStride+c])
			}
			if !math.IsInf(x, 0) && !math.IsNaN(x) {
				s.h64.push(x, e.i)
			}
		}
	}
	return appendResults(dst, &s.h64)
}

func appendResults(dst []Result, h *topK[float64]) []Result {
	for _, e := range h.sorted() {
		dst = append(dst, Result{Item: e.i, Score: float32(e.s)})
	}
	return dst
}
