package factor

// vsCVsGo is the plain-Go reference of the fused IALS product for the
// 32-wide gathered layout: q[:32] = Σ_j c_j (v_j·p) v_j over the n = len(c)
// rows v_j = vs[32j : 32j+32]. It overwrites q[:32].
func vsCVsGo(vs []float32, p, c, q []float32) {
	p, q = p[:32], q[:32]
	clear(q)
	for j, cj := range c {
		v := vs[j*32 : j*32+32]
		var t float32
		for d, x := range v {
			t += x * p[d]
		}
		t *= cj
		for d, x := range v {
			q[d] += t * x
		}
	}
}

// axpyRows32Go is the plain-Go reference of q[:32] += Σ_{a<len(p)} p_a g_a
// over the rows g_a = g[32a : 32a+32] (α₀G·p for the symmetric, 32-wide
// padded α₀G, as row combinations: no horizontal sums).
func axpyRows32Go(g, p, q []float32) {
	q = q[:32]
	for a, pa := range p {
		row := g[a*32 : a*32+32]
		for d, x := range row {
			q[d] += pa * x
		}
	}
}
