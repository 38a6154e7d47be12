//go:build amd64 && !purego

package tile

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var hasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// mul4x16FMA is Mul4x16 in AVX2 + FMA assembly.
//
//go:noescape
func mul4x16FMA(k int, z *float32, ldz int, panel *float32, out *float32, ldo int)

// Mul4x16 sets out[r*ldo+t] = Σ_{f<k} z[r*ldz+f]·panel[f*16+t] for rows
// r < 4 and columns t < 16, overwriting that tile of out and nothing else.
func Mul4x16(k int, z []float32, ldz int, panel []float32, out []float32, ldo int) {
	if !hasFMA || k == 0 {
		mul4x16Go(k, z, ldz, panel, out, ldo)
		return
	}
	// Bounds the assembly relies on: 4 rows of z, the k×16 panel, 4 rows of out.
	_ = z[3*ldz+k-1]
	_ = panel[16*k-1]
	_ = out[3*ldo+15]
	mul4x16FMA(k, unsafe.SliceData(z), ldz, unsafe.SliceData(panel), unsafe.SliceData(out), ldo)
}
