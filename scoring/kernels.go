package scoring

import (
	"github.com/viterin/vek/vek32"
)

// vekParallelMin is the m·n·p product at which vek's MatMul starts
// goroutines (and so allocates); blocks stay below it.
const vekParallelMin = 100_000

// blockRows is how many matrix rows of the given stride one matVec call
// covers: as many as stay in L1/L2 and below vek's parallel threshold.
func blockRows(stride int) int {
	if stride*4 >= vekParallelMin {
		return 3
	}
	return max(4, min(1024, (vekParallelMin-1)/stride))
}

// matVec sets dst[r] = Σ_c v[r·stride+c]·z[c] for r < len(dst), with v
// holding len(dst) rows of stride elements and len(z) == stride. Padding
// columns of v are zero, so z's padding may hold anything finite.
// Accumulation is float32 (SIMD order). Reference: matVecRef.
func matVec(dst, v, z []float32, stride int) {
	rows := len(dst)
	if rows == 0 {
		return
	}
	vek32.MatMul_Into(dst, v[:rows*stride], z[:stride], stride)
}

// matVecRef is the plain-Go reference of matVec.
func matVecRef(dst, v, z []float32, stride int) {
	for r := range dst {
		row := v[r*stride : r*stride+stride]
		var s float32
		for c, x := range row {
			s += x * z[c]
		}
		dst[r] = s
	}
}

// dot64 is Σ x[i]·y[i] accumulated in float64 in index order: the exact
// score the reference scorer computes. len(y) ≥ len(x).
func dot64(x, y []float32) float64 {
	y = y[:len(x)]
	var s float64
	for i, a := range x {
		s += float64(a) * float64(y[i])
	}
	return s
}

// axpy adds a·x to dst element-wise (len(x) == len(dst)); tmp is scratch of
// the same length. Reference: axpyRef.
func axpy(dst, x []float32, a float32, tmp []float32) {
	if len(dst) == 0 {
		return
	}
	if a == 1 {
		vek32.Add_Inplace(dst, x)
		return
	}
	vek32.MulNumber_Into(tmp[:len(x)], x, a)
	vek32.Add_Inplace(dst, tmp[:len(x)])
}

// axpyRef is the plain-Go reference of axpy.
func axpyRef(dst, x []float32, a float32) {
	for i, v := range x {
		dst[i] += a * v
	}
}
