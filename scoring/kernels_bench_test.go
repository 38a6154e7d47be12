package scoring

import (
	"math/rand/v2"
	"testing"

	"github.com/viterin/vek/vek32"
)

// Kernel-choice benchmarks: go test ./scoring -run '^$' -bench Kernel -benchtime 200x
func BenchmarkKernelMatVec(b *testing.B) {
	const n, stride = 1024, 64
	rng := rand.New(rand.NewPCG(1, 2))
	v := randF32(rng, n*stride)
	z := randF32(rng, stride)
	dst := make([]float32, n)
	b.Run("vek-matmul", func(b *testing.B) {
		b.SetBytes(n * stride * 4)
		for b.Loop() {
			matVec(dst, v, z, stride)
		}
	})
	b.Run("vek-dot", func(b *testing.B) {
		b.SetBytes(n * stride * 4)
		for b.Loop() {
			for r := range dst {
				dst[r] = vek32.Dot(v[r*stride:r*stride+stride], z)
			}
		}
	})
	b.Run("go", func(b *testing.B) {
		b.SetBytes(n * stride * 4)
		for b.Loop() {
			matVecRef(dst, v, z, stride)
		}
	})
}

func randF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}
