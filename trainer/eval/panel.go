package eval

import "math"

// panelWidth is the number of items per panel of the packed item factors:
// two AVX2 vectors of float32.
const panelWidth = 16

// panel4x16Go is the portable 4×16 tile: out[r*ldo+t] = Σ_{f<k}
// z[r*ldz+f]·panel[f*16+t], summed in f order with one multiply-add per
// term as the assembly does (float64 FMA rounded to float32, so a result
// may differ from the assembly's float32 FMA in the last bit).
func panel4x16Go(k int, z []float32, ldz int, panel []float32, out []float32, ldo int) {
	for r := 0; r < 4; r++ {
		zr := z[r*ldz : r*ldz+k]
		var acc [panelWidth]float32
		for f, zf := range zr {
			p := panel[f*panelWidth : f*panelWidth+panelWidth]
			for t := range acc {
				acc[t] = float32(math.FMA(float64(zf), float64(p[t]), float64(acc[t])))
			}
		}
		copy(out[r*ldo:r*ldo+panelWidth], acc[:])
	}
}
