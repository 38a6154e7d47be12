// Package tile owns the trainer's one dense kernel: a 4×16 tile of
// products of four row vectors with a k×16 column panel, out = Z·P, summed
// in k order with fused multiply-adds (AVX2 + FMA assembly on amd64, Go
// elsewhere). The evaluator scores 4 users × 16 items with it; IALS
// multiplies four rows' CG directions by the Gram matrix with it. Panels
// are packed once (Pack) so each tile reads k×16 contiguous floats.
package tile

import "math"

// Width is the number of columns of a panel: two AVX2 vectors of float32.
const Width = 16

// Pack returns the n columns of the k×n matrix given by at(f, j) packed
// in panels of Width columns: panel p holds columns p·16 … p·16+15 as k
// rows of 16 float32 (zero past column n). The result has
// Panels(n)·k·Width values.
func Pack(k, n int, at func(f, j int) float32) []float32 {
	np := Panels(n)
	out := make([]float32, np*k*Width)
	for j := 0; j < n; j++ {
		base := (j/Width)*k*Width + j%Width
		for f := 0; f < k; f++ {
			out[base+f*Width] = at(f, j)
		}
	}
	return out
}

// Panels is the number of panels of n columns.
func Panels(n int) int { return (n + Width - 1) / Width }

// mul4x16Go is the portable Mul4x16: out[r*ldo+t] = Σ_{f<k}
// z[r*ldz+f]·panel[f*16+t], summed in f order with one multiply-add per
// term as the assembly does (float64 FMA rounded to float32, so a result
// may differ from the assembly's float32 FMA in the last bit).
func mul4x16Go(k int, z []float32, ldz int, panel []float32, out []float32, ldo int) {
	for r := 0; r < 4; r++ {
		zr := z[r*ldz : r*ldz+k]
		var acc [Width]float32
		for f, zf := range zr {
			p := panel[f*Width : f*Width+Width]
			for t := range acc {
				acc[t] = float32(math.FMA(float64(zf), float64(p[t]), float64(acc[t])))
			}
		}
		copy(out[r*ldo:r*ldo+Width], acc[:])
	}
}
