//go:build !amd64 || purego

package tile

// Mul4x16 sets out[r*ldo+t] = Σ_{f<k} z[r*ldz+f]·panel[f*16+t] for rows
// r < 4 and columns t < 16, overwriting that tile of out and nothing else.
func Mul4x16(k int, z []float32, ldz int, panel []float32, out []float32, ldo int) {
	mul4x16Go(k, z, ldz, panel, out, ldo)
}
