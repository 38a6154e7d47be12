package itemitem

import (
	"context"
	"math/rand"
	"testing"
)

// BenchmarkSPDInverse times the float32 SPD inverse alone and reports
// GFLOP/s counting n³ flops (Cholesky n³/3 + L⁻ᵀ n³/3 + product n³/3),
// per wall second and per CPU second of the process.
//
//	go test -run '^$' -bench SPDInverse -benchtime 1x ./trainer/algo/itemitem/
func BenchmarkSPDInverse(b *testing.B) {
	for _, n := range []int{1000, 3000} {
		b.Run(itoa(n), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			src := make([]float32, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < i; j++ {
					src[i*n+j] = r.Float32()
				}
				src[i*n+i] = float32(n)
			}
			a := make([]float32, n*n)
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			b.ResetTimer()
			for b.Loop() {
				copy(a, src)
				if err := spdInverseLower(context.Background(), a, n); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			flop := float64(n) * float64(n) * float64(n) * float64(b.N)
			b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flop/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
