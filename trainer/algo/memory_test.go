package algo_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/algo/factor"
	"github.com/recotem/recotem/trainer/algo/itemitem"
	"github.com/recotem/recotem/trainer/artifact"
	"github.com/recotem/recotem/trainer/eval"
	"github.com/recotem/recotem/trainer/sparse"
)

// peakHeap runs fn with the collector kept tight (GOGC 5, so the heap
// tracks live memory) and returns the highest HeapInuse growth sampled
// every millisecond, in bytes.
func peakHeap(fn func()) int64 {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
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
		var s runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
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
	return int64(peak - base)
}

func randMatrix(rng *rand.Rand, users, items, perUser int) *sparse.CSR {
	var r, c []int32
	for u := 0; u < users; u++ {
		for range 1 + rng.IntN(2*perUser) {
			// Squared uniform: a popularity skew, so some items are long rows.
			j := int32(float64(items) * rng.Float64() * rng.Float64())
			r, c = append(r, int32(u)), append(c, j)
		}
	}
	x, err := sparse.FromTriplets(users, items, r, c, nil)
	if err != nil {
		panic(err)
	}
	return x.Binary()
}

// TestMemoryBoundsHold runs every algorithm the way the trainer does — a
// search trial (iterative models: epochs, a snapshot, more epochs, a
// restore; then the evaluation) and a refit with its artifact encoded — at
// the memory-hungriest corner of its search space, and checks that the
// heap growth measured never exceeds the bound Spec.Memory gives, and that
// the bound is not vacuous (within 4× of the measured peak plus the fixed
// per-worker scratch).
func TestMemoryBoundsHold(t *testing.T) {
	if testing.Short() {
		t.Skip("fits every algorithm at its largest parameters (~20 s); runs without -short")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const users, items = 4000, 1000
	X := randMatrix(rng, users, items, 20)
	// Hold out the last 1000 users' rows from their last item on, roughly.
	heldout := randMatrix(rng, 1000, items, 2)
	specs := append(factor.Specs(), itemitem.Specs()...)
	for i := range specs {
		spec := &specs[i]
		t.Run(spec.Alias, func(t *testing.T) {
			trial := algo.Shape{Users: X.Rows, Items: X.Cols, NNZ: int64(X.NNZ()), Heldout: heldout.Rows, Workers: runtime.GOMAXPROCS(0)}
			bound, p := algo.PeakMemory(spec, trial, nil)
			p = fixIterations(spec, p)
			measured := peakHeap(func() { runTrial(t, spec, p, X, heldout) })
			refit := trial
			refit.Heldout = 0
			rbound, _ := algo.PeakMemory(spec, refit, p)
			rmeasured := peakHeap(func() { runRefit(t, spec, p, X) })
			t.Logf("%s %v: trial bound %.1f MiB measured %.1f MiB; refit bound %.1f MiB measured %.1f MiB",
				spec.Alias, p, mib(bound), mib(measured), mib(rbound), mib(rmeasured))
			if measured > bound || rmeasured > rbound {
				t.Errorf("bound exceeded: trial %d > %d or refit %d > %d", measured, bound, rmeasured, rbound)
			}
			const scratch = 16 << 20 // per-worker gathers etc., fixed in size
			if bound > 4*measured+scratch {
				t.Errorf("trial bound %.1f MiB is more than 4× the measured %.1f MiB: too loose to mean anything", mib(bound), mib(measured))
			}
		})
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// fixIterations shortens iterative fits (memory does not grow with epochs).
func fixIterations(spec *algo.Spec, p algo.Params) algo.Params {
	if spec.Iterative {
		p["train_epochs"] = 2
	}
	return p
}

func accepted(spec *algo.Spec, p algo.Params) algo.Params {
	out := algo.Params{}
	for _, n := range spec.Accepts {
		if v, ok := p[n]; ok {
			out[n] = v
		}
	}
	return out
}

func runTrial(t *testing.T, spec *algo.Spec, p algo.Params, X, heldout *sparse.CSR) {
	r, err := spec.New(accepted(spec, p), 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if it, ok := r.(algo.Iterative); ok {
		if err := it.Init(X); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := it.Epoch(ctx); err != nil {
				t.Fatal(err)
			}
		}
		snap := it.Snapshot()
		if err := it.Epoch(ctx); err != nil {
			t.Fatal(err)
		}
		it.Restore(snap)
	} else if err := r.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	if _, err := eval.Evaluate(ctx, r.Model(), X, heldout, X.Rows-heldout.Rows, 20); err != nil {
		t.Fatal(err)
	}
}

func runRefit(t *testing.T, spec *algo.Spec, p algo.Params, X *sparse.CSR) {
	r, err := spec.New(accepted(spec, p), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	m := r.Model()
	ids := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("%08d", i)
		}
		return s
	}
	b, fields, err := artifact.Build(m, ids(X.Rows), ids(X.Cols), X, artifact.Options{Q8: m.Kind == algo.KindFactor})
	if err != nil {
		t.Fatal(err)
	}
	key := format.Key{ID: "k", Secret: make([]byte, 32)}
	if err := format.Encode(io.Discard, key, map[string]any{"model": fields["model"]}, b); err != nil {
		t.Fatal(err)
	}
}
