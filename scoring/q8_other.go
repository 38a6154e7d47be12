//go:build !amd64 || purego

package scoring

// No SIMD kernels on this platform (the flags exist for the tests).
var hasAVX2, hasVNNI = false, false

func dotsI8Impl(dst []float32, q, zq []int8, zq16 []int16, stride int) {
	dotsI8Ref(dst, q, zq, stride)
}
