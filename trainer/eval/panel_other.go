//go:build !amd64 || purego

package eval

func panel4x16(k int, z []float32, ldz int, panel []float32, out []float32, ldo int) {
	panel4x16Go(k, z, ldz, panel, out, ldo)
}
