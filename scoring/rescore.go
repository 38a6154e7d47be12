package scoring

import (
	"math"

	"github.com/viterin/vek/vek32"
)

// rescoreScratch is rescore's reusable memory.
type rescoreScratch struct {
	bs  []bound
	los []entry[float64] // lower bounds, for the cut
}

// bound is a first-pass candidate with an interval [lo, hi] known to hold
// its exact score.
type bound struct {
	lo, hi float64
	i      int32
}

// rescore appends to dst[:0] the best limit candidates of a factor model by
// exact score — dot64(v_i, z) + bias_i, the float64 index-order sum the
// reference scorer computes, skipping non-finite results — exactly as
// scoring every candidate would, but computing that sequential (and so
// latency-bound) sum only for candidates that can still make the cut.
//
// Each candidate first gets a SIMD float32 score f_i. Whatever the
// summation order, |f_i − v_i·z| ≤ γ·Σ|v_ic·z_c| ≤ γ·‖v_i‖·‖z‖ with
// γ = (k+1)·2⁻²⁴/(1 − (k+1)·2⁻²⁴); the norms are themselves float32 sums,
// so the bound used is ε_i = 2γ/(1−γ)·√(‖v_i‖²·‖z‖²) computed, which covers
// their error too, plus a relative 2⁻⁴⁰ for the float64 additions and an
// absolute k·2⁻¹²⁶ for products and sums in the float32 subnormal range. The
// exact score is within 2⁻⁵⁰ relative of v_i·z as well, so [f_i − ε_i,
// f_i + ε_i] holds it. Let L be the limit-th largest lower bound: at least
// limit candidates score ≥ L exactly, so a candidate whose upper bound is
// below L ranks after all of them and cannot be returned. Non-finite
// bounds are treated as [−∞, +∞] (always rescored).
func (m *Model) rescore(dst []Result, h64 *topK[float64], cands []entry[float32], z []float32, limit int, rs *rescoreScratch) []Result {
	bs, los := rs.bs[:0], rs.los
	k, stride := m.k, m.vfStride
	zk := z[:k]
	h64.reset(limit)
	g := float64(k+4) * 0x1p-24
	c := 2 * g / (1 - g)
	nz := float64(vek32.Dot(zk, zk))
	tiny := float64(k) * 0x1p-126
	for _, e := range cands {
		row := m.vf[int(e.i)*stride : int(e.i)*stride+k]
		f := float64(vek32.Dot(row, zk))
		eps := c*math.Sqrt(float64(vek32.Dot(row, row))*nz) + math.Abs(f)*0x1p-40 + tiny
		if m.bias != nil {
			f += float64(m.bias[e.i])
			eps += math.Abs(f) * 0x1p-40
		}
		b := bound{math.Inf(-1), math.Inf(1), e.i}
		if lo, hi := f-eps, f+eps; !math.IsInf(lo, 0) && !math.IsInf(hi, 0) && !math.IsNaN(lo) && !math.IsNaN(hi) {
			b.lo, b.hi = lo, hi
		}
		bs = append(bs, b)
	}
	cut := math.Inf(-1)
	if len(bs) > limit && limit > 0 {
		los = los[:0]
		for _, b := range bs {
			los = append(los, entry[float64]{b.lo, b.i})
		}
		selectBest(los, limit)
		cut = los[limit-1].s
	}
	for _, b := range bs {
		if b.hi < cut {
			continue
		}
		i := int(b.i)
		x := dot64(m.vf[i*stride:i*stride+k], zk)
		if m.bias != nil {
			x += float64(m.bias[i])
		}
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			h64.push(x, b.i)
		}
	}
	rs.bs, rs.los = bs, los
	return appendResults(dst, h64)
}
