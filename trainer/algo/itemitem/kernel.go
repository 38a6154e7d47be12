package itemitem

// dot3x4Go is the reference of the 3×4 dot kernel: it adds to acc[r*w+c]
// (r < 3, c < 4) Σ_{k<n} a[xo+r·ld+k]·a[yo+c·ld+k].
func dot3x4Go(a []float32, ld, xo, yo, n int, acc []float32, w int) {
	for r := 0; r < 3; r++ {
		x := a[xo+r*ld : xo+r*ld+n]
		for c := 0; c < 4; c++ {
			y := a[yo+c*ld : yo+c*ld+n]
			var s float32
			for k := range x {
				s += x[k] * y[k]
			}
			acc[r*w+c] += s
		}
	}
}
