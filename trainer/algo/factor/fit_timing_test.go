package factor

// Fit benchmarks. Commands used for BENCHMARKS.md:
//
//	go test -run '^$' -bench 'FitMovieLens' -benchtime 3x ./trainer/algo/factor
//	go test -run '^$' -bench 'FitSynthetic' -benchtime 1x -timeout 30m ./trainer/algo/factor
//
// Each reports s/fit (wall time per fit), cpu-s/fit (process CPU time per
// fit, all threads; less sensitive to other load than wall time), peak-heap-MiB (highest sampled
// HeapInuse during the fit, minus the value before it) and, for MovieLens,
// ndcg@20 on test.csv.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/eval"
	"github.com/recotem/recotem/trainer/sparse"
)

// peakHeap samples HeapInuse every 5 ms while fn runs and returns the peak
// growth in MiB.
func peakHeap(fn func()) float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var s runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&s)
				peak = max(peak, s.HeapInuse)
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	return float64(peak-base) / (1 << 20)
}

func benchFit(b *testing.B, x, test *sparse.CSR, mk func() algo.Recommender) {
	b.ReportAllocs()
	var total, cpu time.Duration
	cpuOK := true
	var peak float64
	var rec algo.Recommender
	for b.Loop() {
		rec = mk()
		p := peakHeap(func() {
			c0, ok0 := processCPU()
			start := time.Now()
			if err := rec.Fit(context.Background(), x); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			c1, ok1 := processCPU()
			cpu += c1 - c0
			cpuOK = cpuOK && ok0 && ok1
		})
		peak = max(peak, p)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/fit")
	if cpuOK {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/fit")
	}
	b.ReportMetric(peak, "peak-heap-MiB")
	if test != nil {
		s, err := eval.Evaluate(context.Background(), rec.Model(), x, test, 0, 20)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(s.NDCG, "ndcg@20")
		b.ReportMetric(s.Recall, "recall@20")
	}
}

func ialsWith(k int, alpha0, reg float64, epochs int) func() algo.Recommender {
	return func() algo.Recommender {
		c := DefaultIALSConfig()
		c.NComponents, c.Alpha0, c.Reg, c.TrainEpochs = k, alpha0, reg, epochs
		r, _ := NewIALS(c)
		return r
	}
}

func svdWith(k int) func() algo.Recommender {
	return func() algo.Recommender {
		c := DefaultSVDConfig()
		c.NComponents = k
		r, _ := NewTruncatedSVD(c)
		return r
	}
}

func bprWith(k, epochs int, loss BPRLoss) func() algo.Recommender {
	return func() algo.Recommender {
		c := DefaultBPRFMConfig()
		c.NComponents, c.TrainEpochs, c.Loss = k, epochs, loss
		r, _ := NewBPRFM(c)
		return r
	}
}

func BenchmarkFitMovieLens(b *testing.B) {
	train, test := loadSplit(b)
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("IALS-k81-e12/procs=%d", procs), func(b *testing.B) {
			prev := runtime.GOMAXPROCS(procs)
			defer runtime.GOMAXPROCS(prev)
			benchFit(b, train, test, ialsWith(81, 0.0374, 0.0263, 12))
		})
	}
	b.Run("IALS-k20-e16", func(b *testing.B) { benchFit(b, train, test, ialsWith(20, 1, 0.001, 16)) })
	// A large-k refit as the MovieLens search picks (k ≈ 200).
	b.Run("IALS-k200-e30", func(b *testing.B) { benchFit(b, train, test, ialsWith(200, 0.0374, 0.0263, 30)) })
	b.Run("IALS-k300-e10", func(b *testing.B) { benchFit(b, train, test, ialsWith(300, 0.0374, 0.0263, 10)) })
	b.Run("TruncatedSVD-k26", func(b *testing.B) { benchFit(b, train, test, svdWith(26)) })
	b.Run("BPRFM-bpr-k64-e30", func(b *testing.B) { benchFit(b, train, test, bprWith(64, 30, LossBPR)) })
	b.Run("BPRFM-warp-k64-e30", func(b *testing.B) { benchFit(b, train, test, bprWith(64, 30, LossWARP)) })
}

var (
	synthOnce sync.Once
	synthX    *sparse.CSR
)

// synthetic returns a 200k-user × 100k-item matrix with 2M draws (before
// de-duplication) whose item popularity follows a Zipf law (s = 1.1) and
// whose user activity is also heavy-tailed.
func synthetic(b *testing.B) *sparse.CSR {
	synthOnce.Do(func() {
		const users, items, nnz = 200_000, 100_000, 2_000_000
		rng := rand.New(rand.NewPCG(2024, 1))
		zi := rand.NewZipf(rand.New(rand.NewPCG(2024, 2)), 1.1, 1, items-1)
		// Random item permutation so popularity is not index-ordered.
		perm := rng.Perm(items)
		r := make([]int32, nnz)
		c := make([]int32, nnz)
		for k := range r {
			r[k] = int32(float64(users) * math.Pow(rng.Float64(), 1.5))
			c[k] = int32(perm[zi.Uint64()])
		}
		x, err := sparse.FromTriplets(users, items, r, c, nil)
		if err != nil {
			panic(err)
		}
		synthX = x.Binary()
	})
	b.Logf("synthetic: %d users × %d items, %d stored interactions", synthX.Rows, synthX.Cols, synthX.NNZ())
	return synthX
}

func BenchmarkFitSynthetic(b *testing.B) {
	if testing.Short() {
		b.Skip("large synthetic fit")
	}
	x := synthetic(b)
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("IALS-k64-e4/procs=%d", procs), func(b *testing.B) {
			prev := runtime.GOMAXPROCS(procs)
			defer runtime.GOMAXPROCS(prev)
			benchFit(b, x, nil, ialsWith(64, 0.0374, 0.0263, 4))
		})
	}
	b.Run("TruncatedSVD-k64", func(b *testing.B) { benchFit(b, x, nil, svdWith(64)) })
	b.Run("BPRFM-bpr-k64-e1", func(b *testing.B) { benchFit(b, x, nil, bprWith(64, 1, LossBPR)) })
}
