package itemitem

import (
	"math"
	"math/rand"
	"testing"
)

// TestDot3x4 compares the kernel with its plain-Go reference over lengths
// around the 8-lane boundary, odd strides and offsets.
func TestDot3x4(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	f := func(n, ld, xo, yo int) {
		t.Helper()
		a := make([]float32, max(xo+2*ld, yo+3*ld)+n+3)
		for i := range a {
			a[i] = r.Float32()*2 - 1
		}
		got := make([]float32, 3*5)
		want := make([]float32, 3*5)
		for i := range got {
			got[i] = float32(i)
			want[i] = float32(i)
		}
		dot3x4(a, ld, xo, yo, n, got, 5)
		dot3x4Go(a, ld, xo, yo, n, want, 5)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-4*float64(max(n, 1)) {
				t.Fatalf("n=%d ld=%d xo=%d yo=%d: acc[%d] = %g, want %g (avx2 %v)", n, ld, xo, yo, i, got[i], want[i], useAVX2)
			}
		}
		for r := 0; r < 3; r++ { // the column outside the 3×4 block is untouched
			if got[r*5+4] != float32(r*5+4) {
				t.Fatalf("acc[%d] overwritten", r*5+4)
			}
		}
	}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 64, 100, 513} {
		f(n, n+3, 0, 1)
		f(n, 2*n+1, 5, 2)
	}
}

// BenchmarkDot3x4 measures the kernel alone on L1-resident rows.
//
//	go test -run '^$' -bench Dot3x4 ./trainer/algo/itemitem/
func BenchmarkDot3x4(b *testing.B) {
	const n, ld = 512, 520
	a := make([]float32, 8*ld)
	for i := range a {
		a[i] = float32(i % 7)
	}
	acc := make([]float32, 12)
	for b.Loop() {
		dot3x4(a, ld, 0, 3*ld, n, acc, 4)
	}
	b.ReportMetric(24*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
