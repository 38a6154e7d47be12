//go:build amd64 && !purego

package scoring

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

// dotsI8AVX2 is dotsI8 for AVX2: q rows sign-extended to int16 and
// multiplied-added pairwise (VPMADDWD) with zq16, int32 accumulation.
// stride must be a positive multiple of 32; len(zq16) == stride.
//
//go:noescape
func dotsI8AVX2(dst []float32, q []int8, zq16 []int16, stride int)

func dotsI8Impl(dst []float32, q, zq []int8, zq16 []int16, stride int) {
	if hasAVX2 && stride%32 == 0 && stride > 0 && len(dst) > 0 {
		_ = q[len(dst)*stride-1] // bounds: the assembly reads len(dst) rows
		dotsI8AVX2(dst, q, zq16[:stride], stride)
		return
	}
	dotsI8Ref(dst, q, zq, stride)
}
