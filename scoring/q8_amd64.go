//go:build amd64 && !purego

package scoring

import "golang.org/x/sys/cpu"

var (
	hasAVX2 = cpu.X86.HasAVX2
	// hasVNNI selects the AVX-512 VNNI kernel (VPDPBUSD on 512-bit
	// registers); cpu reports AVX-512 only when the OS saves its state.
	hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI
)

// dotsI8AVX2 is dotsI8 for AVX2: q rows sign-extended to int16 and
// multiplied-added pairwise (VPMADDWD) with zq16, int32 accumulation.
// stride must be a positive multiple of 32; len(zq16) == stride.
//
//go:noescape
func dotsI8AVX2(dst []float32, q []int8, zq16 []int16, stride int)

// dotsI8VNNI is dotsI8 for AVX-512 VNNI: each q byte is biased to
// unsigned (q^0x80 = q+128) and multiplied-added with zq by VPDPBUSD; bias
// = 128·Σ zq removes the offset, so the int32 sums are exact.
// stride must be a positive multiple of 64; len(zq) ≥ stride.
//
//go:noescape
func dotsI8VNNI(dst []float32, q []int8, zq []int8, stride int, bias int32)

func dotsI8Impl(dst []float32, q, zq []int8, zq16 []int16, stride int) {
	if hasVNNI && stride%64 == 0 && stride > 0 && len(dst) > 0 {
		_ = q[len(dst)*stride-1] // bounds: the assembly reads len(dst) rows
		var sum int32
		for _, v := range zq[:stride] {
			sum += int32(v)
		}
		dotsI8VNNI(dst, q, zq[:stride], stride, 128*sum)
		return
	}
	if hasAVX2 && stride%32 == 0 && stride > 0 && len(dst) > 0 {
		_ = q[len(dst)*stride-1] // bounds: the assembly reads len(dst) rows
		dotsI8AVX2(dst, q, zq16[:stride], stride)
		return
	}
	dotsI8Ref(dst, q, zq, stride)
}
