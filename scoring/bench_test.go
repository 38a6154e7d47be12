package scoring

// Scoring benchmarks. Each reports the bytes of model data it streams per
// operation as GB/s and, from the same process, a plain memory-read probe
// over a buffer of the same size (probe-GB/s):
//
//	go test ./scoring -run '^$' -bench 'Recommend' -benchtime 20x -benchmem

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

// probeSink keeps the probe's sum alive.
var probeSink uint64

// probeGBps reads buf once per pass with a plain loop (8 independent
// accumulators) and returns the best of a few passes in GB/s.
func probeGBps(buf []float32) float64 {
	if len(buf) < 8 {
		return 0
	}
	w := unsafe.Slice((*uint64)(unsafe.Pointer(&buf[0])), len(buf)/2)
	best := time.Duration(1 << 62)
	for range 3 {
		t0 := time.Now()
		var a0, a1, a2, a3, a4, a5, a6, a7 uint64
		i := 0
		for ; i+8 <= len(w); i += 8 {
			a0 += w[i]
			a1 += w[i+1]
			a2 += w[i+2]
			a3 += w[i+3]
			a4 += w[i+4]
			a5 += w[i+5]
			a6 += w[i+6]
			a7 += w[i+7]
		}
		probeSink += a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
		best = min(best, time.Since(t0))
	}
	return float64(len(w)*8) / best.Seconds() / 1e9
}

// benchFactor builds a factor model directly over random slices (loading
// through format is covered by the tests; here only scoring is timed).
func benchFactor(nI, k, nU int, q8 bool) *Model {
	rng := rand.New(rand.NewPCG(1, uint64(nI)))
	stride := (k + 15) / 16 * 16
	m := &Model{kind: KindFactor, nUsers: nU, nItems: nI, k: k, ufStride: stride, vfStride: stride,
		fold: FoldIn{Method: "projection"}}
	m.vf = make([]float32, nI*stride)
	for i := 0; i < nI; i++ {
		for f := 0; f < k; f++ {
			m.vf[i*stride+f] = float32(rng.NormFloat64())
		}
	}
	m.uf = make([]float32, nU*stride)
	for i := range nU {
		for f := 0; f < k; f++ {
			m.uf[i*stride+f] = float32(rng.NormFloat64())
		}
	}
	m.seenPtr = make([]int64, nU+1)
	for u := range nU {
		for range 20 {
			m.seenIdx = append(m.seenIdx, int32(rng.IntN(nI)))
		}
		m.seenPtr[u+1] = int64(len(m.seenIdx))
	}
	if q8 {
		m.q8Stride = (k + 63) / 64 * 64
		m.q8 = make([]int8, nI*m.q8Stride)
		m.q8Scale = make([]float32, nI)
		quantize8(m.q8, m.q8Scale, m.vf, nI, k, stride, m.q8Stride)
		m.useQ8 = true
	}
	return m
}

var factorSizes = []int{10_000, 100_000, 1_000_000}

func BenchmarkRecommendFactor(b *testing.B) {
	for _, n := range factorSizes {
		const k = 64
		b.Run(fmt.Sprintf("items=%s/k=%d", short(n), k), func(b *testing.B) {
			m := benchFactor(n, k, 1000, false)
			benchRecommend(b, m, len(m.vf)*4, m.vf)
		})
	}
}

func BenchmarkRecommendFactorQ8(b *testing.B) {
	vnni := hasVNNI
	defer func() { hasVNNI = vnni }()
	for _, kernel := range []string{"vnni", "avx2"} {
		if kernel == "vnni" && !vnni {
			continue
		}
		hasVNNI = kernel == "vnni"
		for _, n := range factorSizes {
			const k = 64
			b.Run(fmt.Sprintf("kernel=%s/items=%s/k=%d", kernel, short(n), k), func(b *testing.B) {
				m := benchFactor(n, k, 1000, true)
				// GB/s counts the int8 rows actually streamed; probe is over the f32 matrix.
				benchRecommend(b, m, len(m.q8), m.vf)
			})
		}
	}
}

func benchRecommend(b *testing.B, m *Model, bytesPerOp int, probeBuf []float32) {
	dst := make([]Result, 0, 20)
	m.Recommend(dst, 0, 20, nil) // warm the pool
	b.ReportAllocs()
	b.ResetTimer()
	u := 0
	for b.Loop() {
		dst = m.Recommend(dst, u, 20, nil)
		u = (u + 1) % m.nUsers
	}
	el := b.Elapsed()
	b.ReportMetric(float64(bytesPerOp)*float64(b.N)/el.Seconds()/1e9, "GB/s")
	b.StopTimer()
	b.ReportMetric(probeGBps(probeBuf), "probe-GB/s")
}

func BenchmarkBatchRecommendFactor(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		const k, users = 64, 64
		b.Run(fmt.Sprintf("items=%s/k=%d/users=%d", short(n), k, users), func(b *testing.B) {
			m := benchFactor(n, k, 1000, false)
			us := make([]int, users)
			for i := range us {
				us[i] = i * 7
			}
			dst := m.BatchRecommend(nil, us, 20)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				dst = m.BatchRecommend(dst, us, 20)
			}
			el := b.Elapsed()
			// effective: item-factor bytes a per-user scan would stream.
			b.ReportMetric(float64(len(m.vf)*4*users)*float64(b.N)/el.Seconds()/1e9, "eff-GB/s")
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*users), "ns/user")
			b.StopTimer()
			b.ReportMetric(probeGBps(m.vf), "probe-GB/s")
		})
	}
}

// benchItemItem builds a sparse (nnz per row = nbr) or dense item-item model.
func benchItemItem(nI, nbr int, dense bool) *Model {
	rng := rand.New(rand.NewPCG(2, uint64(nI)))
	m := &Model{nUsers: 200, nItems: nI}
	m.seenPtr = make([]int64, m.nUsers+1)
	for u := range m.nUsers {
		for range 100 {
			m.seenIdx = append(m.seenIdx, int32(rng.IntN(nI)))
		}
		m.seenPtr[u+1] = int64(len(m.seenIdx))
	}
	if dense {
		m.kind, m.dStride = KindDenseItem, (nI+15)/16*16
		m.dense = make([]float32, nI*m.dStride)
		for i := range m.dense {
			m.dense[i] = float32(rng.NormFloat64())
		}
		return m
	}
	m.kind = KindSparseItem
	m.simPtr = make([]int64, nI+1)
	for j := range nI {
		for range nbr {
			m.simIdx = append(m.simIdx, int32(rng.IntN(nI)))
			m.simVal = append(m.simVal, rng.Float32())
		}
		m.simPtr[j+1] = int64(len(m.simIdx))
	}
	return m
}

func BenchmarkRecommendSparseItem(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		const nbr = 100
		b.Run(fmt.Sprintf("items=%s/nbr=%d/seen=100", short(n), nbr), func(b *testing.B) {
			m := benchItemItem(n, nbr, false)
			// streamed: 100 seen rows × nbr × (4+4) bytes + the n×8 score row.
			benchRecommend(b, m, 100*nbr*8+n*8, make([]float32, 100*nbr*2+n*2))
		})
	}
}

func BenchmarkRecommendDenseItem(b *testing.B) {
	for _, n := range []int{2_000, 9_000} {
		b.Run(fmt.Sprintf("items=%s/seen=100", short(n)), func(b *testing.B) {
			m := benchItemItem(n, 0, true)
			benchRecommend(b, m, 100*m.dStride*4, m.dense[:100*m.dStride])
		})
	}
}

func short(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
