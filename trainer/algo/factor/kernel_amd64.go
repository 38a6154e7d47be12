//go:build amd64 && !purego

package factor

import "golang.org/x/sys/cpu"

// useFused selects the AVX2 + FMA kernel for the 32-wide gathered layout
// (k ≤ 32). Tests flip it to compare against vsCVsGo.
var useFused = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func vsCVs32AVX2(vs *float32, n int, p *float32, c *float32, q *float32)

// vsCVs32 sets q[:32] = Σ_j c_j (v_j·p) v_j over the n = len(c) rows of the
// n×32 row-major vs, in one pass (p stays in registers); vsCVsGo is the
// reference.
func vsCVs32(vs []float32, p, c, q []float32) {
	n := len(c)
	if !useFused || n == 0 {
		vsCVsGo(vs, p, c, q)
		return
	}
	_ = vs[n*32-1]
	_ = p[31]
	_ = q[31]
	vsCVs32AVX2(&vs[0], n, &p[0], &c[0], &q[0])
}

//go:noescape
func axpyRows32AVX2(gm *float32, k int, p *float32, q *float32)

// axpyRows32 adds Σ_{a<len(p)} p_a g[32a:32a+32] to q[:32];
// axpyRows32Go is the reference.
func axpyRows32(g, p, q []float32) {
	k := len(p)
	if !useFused || k == 0 {
		axpyRows32Go(g, p, q)
		return
	}
	_ = g[k*32-1]
	_ = q[31]
	axpyRows32AVX2(&g[0], k, &p[0], &q[0])
}
