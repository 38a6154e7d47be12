package search

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

var testSpace = []algo.ParamSpec{
	{Name: "x", Kind: algo.Float, Low: -5, High: 5},
	{Name: "reg", Kind: algo.Float, Low: 1e-4, High: 1, Log: true},
	{Name: "k", Kind: algo.Int, Low: 1, High: 100},
	{Name: "c", Kind: algo.Categorical, Choices: []any{"a", "b", "c"}},
}

// synthetic is a smooth objective with its maximum 0.5 at x=1.3,
// reg=1e-2, k=70, c="b".
func synthetic(_ context.Context, t TrialContext) (float64, error) {
	p := SpaceSuggest(t, testSpace)
	x, reg, k := p["x"].(float64), p["reg"].(float64), p["k"].(int)
	v := -(x-1.3)*(x-1.3)/4 - (math.Log10(reg)+2)*(math.Log10(reg)+2)/4 - float64((k-70)*(k-70))/900
	if p["c"] == "b" {
		v += 0.5
	}
	return v, nil
}

func TestRunBudgetsAndBlocks(t *testing.T) {
	for _, par := range []int{1, 3} {
		res, err := Run(context.Background(), Config{
			Study: "s", Classes: []string{"A", "B", "C"}, Budgets: []int{4, 0, 3},
			Parallelism: par, Seed: 1,
		}, synthetic)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for i, tr := range res.Trials {
			if tr.Number != i || tr.State != Complete {
				t.Fatalf("trial %d: %+v", i, tr)
			}
			count[tr.Class]++
			if par == 1 && (i < 4) != (tr.Class == "A") {
				t.Fatalf("parallelism 1: classes not in consecutive blocks: trial %d is %s", i, tr.Class)
			}
			if len(tr.Params) != len(testSpace) {
				t.Fatalf("trial %d params %v", i, tr.Params)
			}
		}
		if count["A"] != 4 || count["B"] != 0 || count["C"] != 3 || res.NCompleted != 7 {
			t.Fatalf("parallelism %d: counts %v", par, count)
		}
		for _, tr := range res.Trials {
			if tr.Value > res.Best.Value {
				t.Fatalf("best %v is not the maximum (%v)", res.Best.Value, tr.Value)
			}
		}
	}
}

func TestRunNoActive(t *testing.T) {
	_, err := Run(context.Background(), Config{Study: "s", Classes: []string{"A"}, Budgets: []int{0}}, synthetic)
	if failure.CodeOf(err) != "no_active_algorithms" || failure.ExitCode(err) != 4 {
		t.Fatalf("got %v", err)
	}
}

func TestRunDeterministic(t *testing.T) {
	run := func() []Trial {
		res, err := Run(context.Background(), Config{Study: "s", Classes: []string{"A"}, NTrials: 15, Seed: 9}, synthetic)
		if err != nil {
			t.Fatal(err)
		}
		return res.Trials
	}
	a, b := run(), run()
	for i := range a {
		for k, v := range a[i].Params {
			if b[i].Params[k] != v {
				t.Fatalf("trial %d param %s: %v vs %v", i, k, v, b[i].Params[k])
			}
		}
	}
}

func TestRunObjectiveErrorAborts(t *testing.T) {
	var started atomic.Int32
	boom := errors.New("boom")
	res, err := Run(context.Background(), Config{Study: "s", Classes: []string{"A"}, NTrials: 20, Parallelism: 2},
		func(ctx context.Context, tc TrialContext) (float64, error) {
			if started.Add(1) == 3 {
				return 0, boom
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
			return 1, nil
		})
	if !errors.Is(err, boom) || failure.CodeOf(err) != "search_error" || failure.ExitCode(err) != 4 {
		t.Fatalf("got %v", err)
	}
	if n := started.Load(); n >= 20 {
		t.Fatalf("search was not aborted: %d trials started", n)
	}
	fails := 0
	for _, tr := range res.Trials {
		if tr.State == Running {
			t.Fatalf("trial %d left RUNNING", tr.Number)
		}
		if tr.State == Fail {
			fails++
		}
	}
	if fails == 0 {
		t.Fatal("the failing trial is not FAIL")
	}
}

func TestRunPerTrialTimeout(t *testing.T) {
	var active atomic.Int32
	res, err := Run(context.Background(), Config{
		Study: "s", Classes: []string{"A"}, NTrials: 6, Parallelism: 2, PerTrialTimeout: 30 * time.Millisecond,
	}, func(ctx context.Context, tc TrialContext) (float64, error) {
		active.Add(1)
		defer active.Add(-1)
		if tc.Number()%2 == 0 {
			<-ctx.Done() // a trial that would run forever
			return 0, ctx.Err()
		}
		return float64(tc.Number()), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if active.Load() != 0 {
		t.Fatal("trial work still running after Run returned")
	}
	if res.NTimedOut != 3 || res.NCompleted != 3 || res.NOrphaned != 0 {
		t.Fatalf("timed out %d, completed %d, orphaned %d", res.NTimedOut, res.NCompleted, res.NOrphaned)
	}
	for _, tr := range res.Trials {
		if (tr.Number%2 == 0) != (tr.State == Pruned && tr.TimedOut) {
			t.Fatalf("trial %d: state %s timed out %v", tr.Number, tr.State, tr.TimedOut)
		}
	}
	if _, err := res.Check("ndcg"); failure.CodeOf(err) != "excessive_per_trial_timeouts" {
		t.Fatalf("3 timeouts > ⌊3/2⌋: got %v", err)
	}
	res.NTimedOut = 1
	if _, err := res.Check("ndcg"); err != nil {
		t.Fatalf("1 timeout of 3 completed: got %v", err)
	}
}

func TestRunGlobalTimeout(t *testing.T) {
	res, err := Run(context.Background(), Config{
		Study: "s", Classes: []string{"A"}, NTrials: 1000, Timeout: 100 * time.Millisecond,
	}, func(ctx context.Context, tc TrialContext) (float64, error) {
		time.Sleep(10 * time.Millisecond)
		return 1, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Aborted || len(res.Trials) >= 100 || len(res.Trials) < 1 {
		t.Fatalf("aborted %v after %d trials", res.Aborted, len(res.Trials))
	}
	for _, tr := range res.Trials {
		if tr.State != Complete {
			t.Fatalf("running trial %d did not finish: %s", tr.Number, tr.State)
		}
	}
}

func TestRunBestTieGoesToFirstFinished(t *testing.T) {
	// Trial 0 finishes last; trials 1 and 0 tie at the best value.
	gate := make(chan struct{})
	var once sync.Once
	// Release trial 0 only once trial 1 is recorded as finished (OnTrial
	// runs after the store has it), so the finish order is deterministic.
	onTrial := func(tr Trial) {
		if tr.Number == 1 {
			once.Do(func() { close(gate) })
		}
	}
	res, err := Run(context.Background(), Config{Study: "s", Classes: []string{"A"}, NTrials: 3, Parallelism: 3, OnTrial: onTrial},
		func(ctx context.Context, tc TrialContext) (float64, error) {
			switch tc.Number() {
			case 0:
				<-gate
				return 1, nil
			case 1:
				return 1, nil
			}
			return 0.5, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.Number != 1 {
		t.Fatalf("best = trial %d, want 1 (first to finish with the best value)", res.Best.Number)
	}
}

func TestCheck(t *testing.T) {
	f := func(r Result, metric, code string, hit bool) {
		t.Helper()
		gotHit, err := r.Check(metric)
		if gotHit != hit || (code == "" && err != nil) || (code != "" && failure.CodeOf(err) != code) {
			t.Fatalf("Check(%+v, %s) = %v, %v; want %s", r, metric, gotHit, err, code)
		}
	}
	f(Result{}, "ndcg", "no_completed_trials", false)
	f(Result{NCompleted: 2, Best: Trial{Value: 0}}, "ndcg", "zero_score", false)
	f(Result{NCompleted: 2, Best: Trial{Value: 0}}, "hit", "", true)
	f(Result{NCompleted: 2, Best: Trial{Value: 0.1}}, "ndcg", "", false)
}

func TestBestParams(t *testing.T) {
	tr := Trial{Params: algo.Params{"k": 3, "recommender_class_name": "X"}, Attrs: map[string]any{"train_epochs": 15, "k": 1}}
	p := tr.BestParams()
	if p["k"] != 3 || p["train_epochs"] != 15 || len(p) != 2 {
		t.Fatalf("BestParams = %v", p)
	}
}

// fakeIter scores epochs from a table; Snapshot/Restore track the epoch.
type fakeIter struct {
	epoch    int
	restored int
}

func (m *fakeIter) Fit(context.Context, *sparse.CSR) error { return nil }
func (m *fakeIter) Model() *algo.Model                     { return nil }
func (m *fakeIter) Init(*sparse.CSR) error                 { return nil }
func (m *fakeIter) Epoch(context.Context) error            { m.epoch++; return nil }
func (m *fakeIter) Snapshot() any                          { return m.epoch }
func (m *fakeIter) Restore(s any)                          { m.restored = s.(int); m.epoch = s.(int) }

type recTrial struct {
	reports map[int]float64
	attrs   map[string]any
	pruneAt int
}

func (r *recTrial) Number() int                     { return 0 }
func (r *recTrial) Class() string                   { return "IALS" }
func (r *recTrial) Suggest(s algo.ParamSpec) any    { return nil }
func (r *recTrial) SetAttr(k string, v any)         { r.attrs[k] = v }
func (r *recTrial) Report(step int, v float64) bool { r.reports[step] = v; return step == r.pruneAt }

func TestEarlyStop(t *testing.T) {
	// Score rises until epoch 20, then falls: best epoch 20, stop after 5
	// more evaluations (epoch 45), reports at 4, 9, …, 39 (not at the stop).
	m := &fakeIter{}
	score := func() (float64, error) { return -math.Abs(float64(m.epoch - 20)), nil }
	tr := &recTrial{reports: map[int]float64{}, attrs: map[string]any{}, pruneAt: -1}
	best, ep, err := EarlyStop(context.Background(), tr, m, score)
	if err != nil || best != 0 || ep != 20 || m.restored != 20 || tr.attrs["train_epochs"] != 20 {
		t.Fatalf("best %v epoch %d restored %d attrs %v err %v", best, ep, m.restored, tr.attrs, err)
	}
	if len(tr.reports) != 8 || tr.reports[19] != 0 || tr.reports[4] != -15 {
		t.Fatalf("reports %v", tr.reports)
	}
	if _, ok := tr.reports[44]; ok {
		t.Fatal("reported at the stopping evaluation")
	}
	// Improving forever: all 128 epochs, best epoch 125.
	m2 := &fakeIter{}
	_, ep, _ = EarlyStop(context.Background(), nil, m2, func() (float64, error) { return float64(m2.epoch), nil })
	if ep != 125 || m2.epoch != 125 {
		t.Fatalf("best epoch %d, model at %d", ep, m2.epoch)
	}
	// Pruned at step 9.
	m3 := &fakeIter{}
	tr3 := &recTrial{reports: map[int]float64{}, attrs: map[string]any{}, pruneAt: 9}
	if _, _, err := EarlyStop(context.Background(), tr3, m3, score); !errors.Is(err, ErrPruned) || m3.epoch != 10 {
		t.Fatalf("got %v at epoch %d", err, m3.epoch)
	}
}

// The median pruner ends IALS-like trials through Run.
func TestRunPrunes(t *testing.T) {
	res, err := Run(context.Background(), Config{Study: "s", Classes: []string{"A"}, NTrials: 12},
		func(ctx context.Context, tc TrialContext) (float64, error) {
			q := 1.0
			if tc.Number() >= 6 && tc.Number()%2 == 0 {
				q = 0.1 // bad trials after the pruner's start-up
			}
			m := &fakeIter{}
			best, _, err := EarlyStop(ctx, tc, m, func() (float64, error) { return q * math.Min(float64(m.epoch), 30), nil })
			return best, err
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials {
		bad := tr.Number >= 6 && tr.Number%2 == 0
		if bad != (tr.State == Pruned) {
			t.Fatalf("trial %d state %s", tr.Number, tr.State)
		}
		if tr.State == Complete && tr.Attrs["train_epochs"] != 30 {
			t.Fatalf("trial %d train_epochs %v", tr.Number, tr.Attrs["train_epochs"])
		}
	}
}
