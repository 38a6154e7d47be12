//go:build !amd64 || purego

package itemitem

var useAVX2 = false

func dot3x4(a []float32, ld, xo, yo, n int, acc []float32, w int) {
	dot3x4Go(a, ld, xo, yo, n, acc, w)
}
