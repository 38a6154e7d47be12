//go:build !amd64 || purego

package scoring

func dotsI8Impl(dst []float32, q, zq []int8, zq16 []int16, stride int) {
	dotsI8Ref(dst, q, zq, stride)
}
