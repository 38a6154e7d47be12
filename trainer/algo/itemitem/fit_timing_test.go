package itemitem

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/eval"
	"github.com/recotem/recotem/trainer/sparse"
)

// Fit benchmarks. Each reports its own units:
//   - s/fit: wall seconds per fit;
//   - cpu-s/fit: user+system CPU seconds of the process per fit (on a shared
//     machine this is steadier than wall time; ideal wall ≈ cpu-s / cores);
//   - peak-RSS-MiB: the process's peak resident set (monotonic, so run one
//     benchmark per process to attribute it);
//   - alloc-MiB/fit: bytes allocated by one fit.
//
// MovieLens (issue 4's parameters; needs ../shared/data):
//
//	go test -run '^$' -bench 'FitMovieLens/CosineKNN$' -benchtime 1x ./trainer/algo/itemitem/
//
// Synthetic power-law data (tools/synth, 2M rows over 200k users × 100k items):
//
//	go test -run '^$' -bench 'FitSynthetic/RP3beta$' -benchtime 1x -timeout 30m ./trainer/algo/itemitem/

// issueParams are the fixed parameters of issue 4's parity table.
var issueParams = []struct {
	alias string
	p     algo.Params
}{
	{"TopPop", nil},
	{"CosineKNN", algo.Params{"top_k": 359, "shrinkage": 280.9, "feature_weighting": "BM_25", "normalize": true}},
	{"RP3beta", algo.Params{"top_k": 865, "beta": 8.64e-5, "normalize_weight": true}},
	{"DenseSLIM", algo.Params{"reg": 253.8}},
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func benchFit(b *testing.B, X *sparse.CSR, alias string, p algo.Params) {
	b.Helper()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuSeconds()
	b.ResetTimer()
	var m *algo.Model
	for b.Loop() {
		r, ok, err := New(alias, p, 42)
		if !ok || err != nil {
			b.Fatalf("New(%s): %v", alias, err)
		}
		if err := r.Fit(context.Background(), X); err != nil {
			b.Fatal(err)
		}
		m = r.Model()
	}
	b.StopTimer()
	cpu := cpuSeconds() - cpu0
	runtime.ReadMemStats(&ms1)
	if m == nil || m.NItems != X.Cols {
		b.Fatalf("%s: bad model", alias)
	}
	nnz := 0
	if m.Sim != nil {
		nnz = len(m.Sim.Data)
	}
	n := float64(b.N)
	b.ReportMetric(b.Elapsed().Seconds()/n, "s/fit")
	b.ReportMetric(cpu/n, "cpu-s/fit")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n/(1<<20), "alloc-MiB/fit")
	if nnz > 0 {
		b.ReportMetric(float64(nnz), "sim-nnz")
	}
}

func BenchmarkFitMovieLens(b *testing.B) {
	dir, ok := eval.MovieLensSplitDir()
	if !ok {
		testenv.Require(b, testenv.MovieLens, false, "MovieLens split not found at %s relative to the repository root", eval.MovieLensSplitRel)
	}
	train, _, err := eval.LoadMovieLensSplitNumeric(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range issueParams {
		b.Run(c.alias, func(b *testing.B) { benchFit(b, train, c.alias, c.p) })
	}
}

// BenchmarkFitSynthetic fits the issue's parameters on 2M generated rows
// over 200k users and 100k items (Zipf exponent 1; after keep_last dedup
// about 1.3M distinct pairs over the ~159k users and ~94k items that
// occur). DenseSLIM cannot run at ~94k items: its two dense I×I float32
// matrix would need about 33 GiB, above DefaultMaxDenseItems; it runs on
// the same generator with 10k items instead (DenseSLIM-10k).
func BenchmarkFitSynthetic(b *testing.B) {
	var big, small *sparse.CSR
	for _, c := range issueParams {
		b.Run(c.alias, func(b *testing.B) {
			if c.alias == "DenseSLIM" {
				b.Skip("DenseSLIM at ~94k items needs ~33 GiB (refused above DefaultMaxDenseItems); see DenseSLIM-10k")
			}
			if big == nil {
				big = synthCSR(b, 200_000, 100_000, 2_000_000, 1)
			}
			benchFit(b, big, c.alias, c.p)
		})
	}
	b.Run("DenseSLIM-10k", func(b *testing.B) {
		if small == nil {
			small = synthCSR(b, 200_000, 10_000, 2_000_000, 1)
		}
		benchFit(b, small, "DenseSLIM", algo.Params{"reg": 253.8})
	})
}
