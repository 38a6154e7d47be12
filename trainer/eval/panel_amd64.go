//go:build amd64 && !purego

package eval

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var hasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// panel4x16FMA computes a 4×16 score tile (AVX2 + FMA): see panel4x16.
//
//go:noescape
func panel4x16FMA(k int, z *float32, ldz int, panel *float32, out *float32, ldo int)

func panel4x16(k int, z []float32, ldz int, panel []float32, out []float32, ldo int) {
	if !hasFMA || k == 0 {
		panel4x16Go(k, z, ldz, panel, out, ldo)
		return
	}
	// Bounds the assembly relies on: 4 rows of z, the k×16 panel, 4 rows of out.
	_ = z[3*ldz+k-1]
	_ = panel[16*k-1]
	_ = out[3*ldo+15]
	panel4x16FMA(k, unsafe.SliceData(z), ldz, unsafe.SliceData(panel), unsafe.SliceData(out), ldo)
}
