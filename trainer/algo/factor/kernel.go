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
