//go:build amd64 && !purego

package itemitem

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly 3×4 dot kernel (AVX2 + FMA). Tests flip it
// to compare against dot3x4Go.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dot3x4AVX2(x *float32, ldx int, y *float32, ldy int, n int, out *float32)

// dot3x4 adds to acc[r*w+c] (r < 3, c < 4) the dot products over [0, n) of
// rows a[xo+r·ld:] and a[yo+c·ld:]. The assembly kernel handles the first
// n − n%8 elements, the plain-Go loop the rest; dot3x4Go is the reference.
func dot3x4(a []float32, ld, xo, yo, n int, acc []float32, w int) {
	if !useAVX2 || n < 8 {
		dot3x4Go(a, ld, xo, yo, n, acc, w)
		return
	}
	// Bounds: the kernel reads rows xo..xo+2·ld and yo..yo+3·ld, n each.
	_ = a[xo+2*ld+n-1]
	_ = a[yo+3*ld+n-1]
	n8 := n &^ 7
	var lanes [96]float32
	dot3x4AVX2(&a[xo], ld, &a[yo], ld, n8, &lanes[0])
	for c := 0; c < 4; c++ {
		for r := 0; r < 3; r++ {
			l := lanes[(c*3+r)*8 : (c*3+r)*8+8]
			s := ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
			for k := n8; k < n; k++ {
				s += a[xo+r*ld+k] * a[yo+c*ld+k]
			}
			acc[r*w+c] += s
		}
	}
}
