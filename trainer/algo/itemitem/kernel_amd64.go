//go:build amd64 && !purego

package itemitem

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly 3×4 dot kernel (AVX2 + FMA). Tests flip it
// to compare against dot3x4Go.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dot3x4AVX2(x *float32, ldx int, y *float32, ldy int, n int, acc *float32, w int)

// dot3x4 adds to acc[r*w+c] (r < 3, c < 4) the dot products over [0, n) of
// rows a[xo+r·ld:] and a[yo+c·ld:]. The assembly kernel handles the first
// n − n%8 elements, the plain-Go loop the rest; dot3x4Go is the reference.
func dot3x4(a []float32, ld, xo, yo, n int, acc []float32, w int) {
	if !useAVX2 || n < 8 {
		dot3x4Go(a, ld, xo, yo, n, acc, w)
		return
	}
	// Bounds: the kernel reads rows xo..xo+2·ld and yo..yo+3·ld, n each,
	// and updates acc[0..2w+3].
	_ = a[xo+2*ld+n-1]
	_ = a[yo+3*ld+n-1]
	_ = acc[2*w+3]
	n8 := n &^ 7
	dot3x4AVX2(&a[xo], ld, &a[yo], ld, n8, &acc[0], w)
	if n8 < n {
		dot3x4Go(a, ld, xo+n8, yo+n8, n-n8, acc, w)
	}
}
