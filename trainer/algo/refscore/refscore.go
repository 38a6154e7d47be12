package refscore

import (
	"container/heap"
	"errors"
	"fmt"
	"math"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// Sentinel errors of Related (recotem-behavior.md maps them to HTTP 404s).
var (
	// ErrNoKnownSeeds: none of the seed items is known to the model.
	ErrNoKnownSeeds = errors.New("no seed item is known to the model")
	// ErrNoCandidates: every item is masked (seeds, exclusions or -Inf scores).
	ErrNoCandidates = errors.New("no candidate items")
	// ErrFoldIn: the IALS fold-in solve broke down (non-positive curvature).
	ErrFoldIn = errors.New("fold-in solve failed")
)

// Item is one ranked item: its index in the model and its score.
type Item struct {
	Index int
	Score float64
}

// ScoreUser writes the score row of known user u into dst (len ≥ m.NItems).
// rowIdx/rowVal are user u's row of the interaction matrix; they are read only
// by the sparse_item and dense_item kinds (score = x_u·S or x_u·W).
// Factor models score V·u_u (+ item bias) in float32 inputs with float64
// accumulation; popularity models copy the popularity vector.
func ScoreUser(m *algo.Model, u int, rowIdx []int32, rowVal []float64, dst []float64) {
	dst = dst[:m.NItems]
	switch m.Kind {
	case algo.KindFactor:
		k := m.K
		scoreFactor(m, m.UserFactors[u*k:(u+1)*k], dst)
	default:
		_ = ScoreProfile(m, rowIdx, rowVal, dst) // only factor fold-in can fail
	}
}

// scoreFactor computes dst_i = V_i·z (+ b_i).
func scoreFactor(m *algo.Model, z []float32, dst []float64) {
	k := m.K
	for i := 0; i < m.NItems; i++ {
		v := m.ItemFactors[i*k : (i+1)*k]
		var s float64
		for f, zf := range z {
			s += float64(v[f]) * float64(zf)
		}
		if m.ItemBias != nil {
			s += float64(m.ItemBias[i])
		}
		dst[i] = s
	}
}

// ScoreProfile writes into dst (len ≥ m.NItems) the score row of a profile
// row x given as parallel (idx, vals) lists, used for related items (the seed
// profile, algorithms.md §2) and new-user fold-in. Entries may repeat; a
// repeated index counts with multiplicity. Per kind:
//   - sparse_item / dense_item: s = x·S / x·W;
//   - popularity: s = p;
//   - factor, FoldIn.Method "ials_cg": z solves the IALS normal equations of
//     x with zero start and FoldIn.CGSteps CG steps (§2.2 (e)); s = V·z;
//   - factor, "projection" (TruncatedSVD): z = x·V, s = V·z;
//   - factor, "mean" (BPRFM): z = mean of the profile's item rows (weighted
//     by multiplicity), s = V·z + b.
//
// The error is non-nil only when the IALS fold-in breaks down.
func ScoreProfile(m *algo.Model, idx []int32, vals []float64, dst []float64) error {
	dst = dst[:m.NItems]
	switch m.Kind {
	case algo.KindPopularity:
		copy(dst, m.Popularity)
	case algo.KindSparseItem:
		clear(dst)
		s := m.Sim
		for p, j := range idx {
			x := vals[p]
			a, b := s.Indptr[j], s.Indptr[j+1]
			for q := a; q < b; q++ {
				dst[s.Indices[q]] += x * float64(s.Data[q])
			}
		}
	case algo.KindDenseItem:
		clear(dst)
		n := m.NItems
		for p, j := range idx {
			x := vals[p]
			row := m.Dense[int(j)*n : (int(j)+1)*n]
			for c, w := range row {
				dst[c] += x * float64(w)
			}
		}
	case algo.KindFactor:
		z, err := FoldIn(m, idx, vals)
		if err != nil {
			return err
		}
		scoreFactor(m, z, dst)
	default:
		return fmt.Errorf("refscore: unknown model kind %q", m.Kind)
	}
	return nil
}

// FoldIn returns the k-dimensional embedding of profile (idx, vals) for a
// factor model, per m.FoldIn.Method (see ScoreProfile).
func FoldIn(m *algo.Model, idx []int32, vals []float64) ([]float32, error) {
	k := m.K
	z := make([]float64, k)
	switch m.FoldIn.Method {
	case "projection":
		for p, j := range idx {
			v := m.ItemFactors[int(j)*k : (int(j)+1)*k]
			for f := range z {
				z[f] += vals[p] * float64(v[f])
			}
		}
	case "mean":
		var w float64
		for p, j := range idx {
			_ = p
			v := m.ItemFactors[int(j)*k : (int(j)+1)*k]
			for f := range z {
				z[f] += float64(v[f])
			}
			w++
		}
		if w > 0 {
			for f := range z {
				z[f] /= w
			}
		}
	case "ials_cg":
		var err error
		z, err = ialsFoldIn(m, idx, vals)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("refscore: unknown fold-in method %q", m.FoldIn.Method)
	}
	out := make([]float32, k)
	for f, x := range z {
		out[f] = float32(x)
	}
	return out, nil
}

// ialsFoldIn runs §2.2 (e): zero start, T = CGSteps (0 means k) CG steps on
// A = α₀G + λI + Σ c v vᵀ, b = Σ (β + c) v with λ = reg·(α₀·I + n)^ν.
func ialsFoldIn(m *algo.Model, idx []int32, vals []float64) ([]float64, error) {
	k := m.K
	fi := m.FoldIn
	x := make([]float64, k)
	if len(idx) == 0 {
		return x, nil
	}
	gram := m.Gram
	if gram == nil {
		gram = make([]float32, k*k)
		for i := 0; i < m.NItems; i++ {
			v := m.ItemFactors[i*k : (i+1)*k]
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					gram[a*k+b] += v[a] * v[b]
				}
			}
		}
	}
	nItems := fi.NItemsTraining
	if nItems == 0 {
		nItems = m.NItems
	}
	nu := fi.Nu
	lambda := fi.Reg * math.Pow(fi.Alpha0*float64(nItems)+float64(len(idx)), nu)
	beta := 0.0
	if fi.LossType == "ORIGINAL" {
		beta = fi.Alpha0
	}
	conf := make([]float64, len(idx))
	for p := range idx {
		c := vals[p]
		if fi.Confidence == "log" {
			eps := fi.Epsilon
			if eps == 0 {
				eps = 1
			}
			c = math.Log1p(c / eps)
		}
		conf[p] = c
	}
	r := make([]float64, k)
	for p, j := range idx {
		v := m.ItemFactors[int(j)*k : (int(j)+1)*k]
		for f := range r {
			r[f] += (beta + conf[p]) * float64(v[f])
		}
	}
	pvec := append([]float64(nil), r...)
	q := make([]float64, k)
	steps := fi.CGSteps
	if steps <= 0 {
		steps = k
	}
	for range steps {
		rho := dot(r, r)
		if rho <= 1e-20 {
			break
		}
		// q = α₀ G p + λ p + Σ c (v·p) v
		for a := 0; a < k; a++ {
			var s float64
			g := gram[a*k : (a+1)*k]
			for b := 0; b < k; b++ {
				s += float64(g[b]) * pvec[b]
			}
			q[a] = fi.Alpha0*s + lambda*pvec[a]
		}
		for p, j := range idx {
			v := m.ItemFactors[int(j)*k : (int(j)+1)*k]
			var vp float64
			for f := range v {
				vp += float64(v[f]) * pvec[f]
			}
			vp *= conf[p]
			for f := range v {
				q[f] += vp * float64(v[f])
			}
		}
		pq := dot(pvec, q)
		if !(pq > 0) || math.IsInf(pq, 0) {
			return nil, fmt.Errorf("%w: pᵀAp = %g", ErrFoldIn, pq)
		}
		alpha := rho / pq
		for f := range x {
			x[f] += alpha * pvec[f]
			r[f] -= alpha * q[f]
		}
		rr := dot(r, r)
		if rr <= 1e-20 {
			break
		}
		for f := range pvec {
			pvec[f] = r[f] + rr/rho*pvec[f]
		}
	}
	return x, nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TopK returns the indices of the k best finite scores, ordered by score
// descending, then index ascending. ±Inf and NaN entries are skipped, so
// callers mask items by setting them to -Inf. The result has min(k, number of
// finite scores) entries.
func TopK(scores []float64, k int) []int {
	return AppendTopK(nil, scores, k)
}

// AppendTopK is TopK appending to dst (caller-owned buffer).
func AppendTopK(dst []int, scores []float64, k int) []int {
	if k <= 0 {
		return dst
	}
	h := &minHeap{s: scores, idx: make([]int, 0, min(k, len(scores)))}
	for i, s := range scores {
		if math.IsInf(s, 0) || math.IsNaN(s) {
			continue
		}
		if len(h.idx) < k {
			heap.Push(h, i)
			continue
		}
		if better(scores, i, h.idx[0]) {
			h.idx[0] = i
			heap.Fix(h, 0)
		}
	}
	n := len(h.idx)
	start := len(dst)
	dst = append(dst, make([]int, n)...)
	for p := n - 1; p >= 0; p-- {
		dst[start+p] = heap.Pop(h).(int)
	}
	return dst
}

// better reports whether item a ranks before item b.
func better(s []float64, a, b int) bool {
	if s[a] != s[b] {
		return s[a] > s[b]
	}
	return a < b
}

// minHeap keeps the worst of the current top-k at the root.
type minHeap struct {
	s   []float64
	idx []int
}

func (h *minHeap) Len() int           { return len(h.idx) }
func (h *minHeap) Less(i, j int) bool { return better(h.s, h.idx[j], h.idx[i]) }
func (h *minHeap) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *minHeap) Push(x any)         { h.idx = append(h.idx, x.(int)) }
func (h *minHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// Recommend ranks items for known user u (§6.1): the §2 score row, the user's
// row of seen set to -Inf, then the exclude indices (pre-masked; indices
// outside [0, NItems) are ignored), then the top k. seen may be nil.
func Recommend(m *algo.Model, seen *sparse.CSR, u, k int, exclude []int32) []Item {
	dst := make([]float64, m.NItems)
	var idx []int32
	var val []float64
	if seen != nil {
		idx, val = seen.Row(u)
	}
	ScoreUser(m, u, idx, val, dst)
	for _, j := range idx {
		dst[j] = math.Inf(-1)
	}
	maskAll(dst, exclude)
	return items(dst, TopK(dst, k))
}

// Related ranks items related to seed item indices (§6.2): unknown seeds
// (outside [0, NItems)) are dropped, duplicates count twice, seeds and
// exclude are masked. It returns ErrNoKnownSeeds when no seed is known and
// ErrNoCandidates when nothing is left to rank.
func Related(m *algo.Model, seeds []int32, k int, exclude []int32) ([]Item, error) {
	idx := make([]int32, 0, len(seeds))
	for _, s := range seeds {
		if s >= 0 && int(s) < m.NItems {
			idx = append(idx, s)
		}
	}
	if len(idx) == 0 {
		return nil, ErrNoKnownSeeds
	}
	vals := make([]float64, len(idx))
	for i := range vals {
		vals[i] = 1
	}
	dst := make([]float64, m.NItems)
	if err := ScoreProfile(m, idx, vals, dst); err != nil {
		return nil, err
	}
	maskAll(dst, idx)
	maskAll(dst, exclude)
	top := TopK(dst, k)
	if len(top) == 0 {
		return nil, ErrNoCandidates
	}
	return items(dst, top), nil
}

func maskAll(dst []float64, idx []int32) {
	for _, j := range idx {
		if j >= 0 && int(j) < len(dst) {
			dst[j] = math.Inf(-1)
		}
	}
}

func items(scores []float64, top []int) []Item {
	out := make([]Item, len(top))
	for p, i := range top {
		out[p] = Item{Index: i, Score: scores[i]}
	}
	return out
}
