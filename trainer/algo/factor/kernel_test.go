package factor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVsCVs32Parity checks the fused kernel against vsCVsGo for n = 0, 1
// and longer rows, misaligned starts, and guard bands around q that must
// stay untouched.
func TestVsCVs32Parity(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const guard = 8
	for _, n := range []int{0, 1, 2, 3, 7, 64, 301} {
		for _, off := range []int{0, 1, 3} {
			vs := make([]float32, off+n*32)
			for i := range vs {
				vs[i] = float32(rng.NormFloat64())
			}
			p := make([]float32, off+32)
			for i := range p {
				p[i] = float32(rng.NormFloat64())
			}
			c := make([]float32, off+n)
			for i := range c {
				c[i] = float32(rng.Float64() * 3)
			}
			want := make([]float32, 32)
			vsCVsGo(vs[off:], p[off:], c[off:], want)
			qb := make([]float32, guard+off+32+guard)
			for i := range qb {
				qb[i] = 12345
			}
			q := qb[guard+off : guard+off+32]
			vsCVs32(vs[off:], p[off:], c[off:], q)
			for i := range qb {
				if i >= guard+off && i < guard+off+32 {
					continue
				}
				if qb[i] != 12345 {
					t.Fatalf("n=%d off=%d: guard qb[%d] = %g written", n, off, i, qb[i])
				}
			}
			// Bound on rounding: 1e-5 of Σ_j |c_j| (Σ|v_j∘p|) |v_jd|.
			bound := make([]float64, 32)
			for j := 0; j < n; j++ {
				v := vs[off+j*32 : off+j*32+32]
				var ta float64
				for d, x := range v {
					ta += math.Abs(float64(x * p[off+d]))
				}
				for d, x := range v {
					bound[d] += float64(c[off+j]) * ta * math.Abs(float64(x))
				}
			}
			for d := range want {
				if diff := math.Abs(float64(q[d] - want[d])); diff > 1e-5*bound[d]+1e-30 {
					t.Fatalf("n=%d off=%d: q[%d] = %g, want %g (fused %v)", n, off, d, q[d], want[d], useFused)
				}
			}
		}
	}
}

// TestAxpyRows32Parity checks the α₀G·p kernel against axpyRows32Go for
// k = 0, 1, 20, 32, misaligned starts and guard bands around q.
func TestAxpyRows32Parity(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	const guard = 8
	for _, k := range []int{0, 1, 2, 20, 32} {
		for _, off := range []int{0, 1, 5} {
			g := make([]float32, off+k*32)
			for i := range g {
				g[i] = float32(rng.NormFloat64())
			}
			p := make([]float32, off+k)
			for i := range p {
				p[i] = float32(rng.NormFloat64())
			}
			q0 := make([]float32, 32)
			for i := range q0 {
				q0[i] = float32(rng.NormFloat64())
			}
			want := append([]float32(nil), q0...)
			axpyRows32Go(g[off:], p[off:], want)
			qb := make([]float32, guard+off+32+guard)
			for i := range qb {
				qb[i] = 12345
			}
			q := qb[guard+off : guard+off+32]
			copy(q, q0)
			axpyRows32(g[off:], p[off:], q)
			for i := range qb {
				if (i < guard+off || i >= guard+off+32) && qb[i] != 12345 {
					t.Fatalf("k=%d off=%d: guard qb[%d] = %g written", k, off, i, qb[i])
				}
			}
			for d := range want {
				bound := math.Abs(float64(q0[d]))
				for a := 0; a < k; a++ {
					bound += math.Abs(float64(p[off+a] * g[off+a*32+d]))
				}
				if diff := math.Abs(float64(q[d] - want[d])); diff > 1e-6*bound+1e-30 {
					t.Fatalf("k=%d off=%d: q[%d] = %g, want %g (fused %v)", k, off, d, q[d], want[d], useFused)
				}
			}
		}
	}
}
