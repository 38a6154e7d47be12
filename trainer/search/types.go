package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/recotem/recotem/trainer/algo"
)

// State is a trial's lifecycle state (Optuna's names).
type State string

const (
	Running  State = "RUNNING"
	Complete State = "COMPLETE"
	Pruned   State = "PRUNED"
	Fail     State = "FAIL"
)

// Sentinels.
var (
	// ErrPruned is returned by an objective (or EarlyStop) to end a trial as pruned.
	ErrPruned = errors.New("trial pruned")
	// ErrTrialLost: the store no longer holds the trial as RUNNING (its
	// heartbeat expired and another process took over its slot).
	ErrTrialLost = errors.New("trial no longer running in the store")
)

// Trial is one trial of a study. Value is the metric (maximised); it is
// meaningful for COMPLETE trials only. Intermediate maps step → reported
// metric. Attrs are user attributes (e.g. "train_epochs").
type Trial struct {
	Number       int
	Class        string
	Params       algo.Params
	State        State
	Value        float64
	Intermediate map[int]float64
	Attrs        map[string]any
	TimedOut     bool
	// FinishSeq orders trials by when they finished (store-assigned; ties
	// are broken by Number). Zero while RUNNING.
	FinishSeq int64
}

// TrialContext is what an objective sees of its trial.
type TrialContext interface {
	Number() int
	Class() string
	// Suggest samples spec (TPE) and records the value under spec.Name.
	// Int specs return int, Float float64, Categorical one of spec.Choices.
	Suggest(spec algo.ParamSpec) any
	// Report records the metric at step and asks the median pruner; true
	// means the trial should stop and return ErrPruned.
	Report(step int, value float64) (prune bool)
	SetAttr(k string, v any)
}

// Objective trains and evaluates one trial and returns the metric to
// maximise; ErrPruned ends the trial as pruned; any other error fails the
// trial and aborts the search.
type Objective func(ctx context.Context, t TrialContext) (float64, error)

// Config configures Run. Zero values: Budgets nil → Budgets(Classes,
// NTrials, nil); NTrials ≤ 0 → 40; Timeout 0 → none; PerTrialTimeout 0 →
// none; Parallelism ≤ 0 → 1 (clamped to the store's maximum); Store nil →
// a new memory store; Logger nil → discard; OnTrial nil → none.
type Config struct {
	Study           string
	Classes         []string                    // recipe order
	Spaces          map[string][]algo.ParamSpec // class → space, suggestion order
	Budgets         []int                       // per class, aligned with Classes
	NTrials         int
	Timeout         time.Duration // global; checked before starting each trial
	PerTrialTimeout time.Duration // cancels the trial's context; the trial is pruned
	Parallelism     int
	Seed            int64
	Store           Store
	Logger          *slog.Logger
	OnTrial         func(Trial) // called after each trial this process finishes
	// RandomSearch samples every trial with the start-up uniform sampler
	// (a baseline for benchmarks; recotem train never sets it).
	RandomSearch bool
}

// Result is the outcome of Run over the whole (possibly shared) study.
type Result struct {
	Best        Trial   // first COMPLETE trial to reach the best value; zero if none
	Trials      []Trial // every trial in the study, by number
	NCompleted  int     // COMPLETE trials in the study
	NTimedOut   int     // trials of this run stopped by PerTrialTimeout
	NOrphaned   int     // trial work still running when Run returned (always 0)
	Parallelism int     // workers actually used
	Aborted     bool    // stopped by the global timeout or ctx before the budget ran out
}

// Check applies the outcome checks of algorithms.md §5.1 step 7 and
// recotem-behavior.md §5.1: no COMPLETE trial → no_completed_trials; a best
// score of exactly 0 → zero_score unless metric is "hit" (then zeroHit is
// true and the caller logs zero_score_hit_metric); more timed-out trials
// than ⌊completed/2⌋ → excessive_per_trial_timeouts.
func (r *Result) Check(metric string) (zeroHit bool, err error) {
	if r.NCompleted == 0 {
		return false, trainingErr("no_completed_trials", "no trial completed")
	}
	if r.NTimedOut > r.NCompleted/2 {
		return false, trainingErr("excessive_per_trial_timeouts",
			fmt.Sprintf("%d trials exceeded per_trial_timeout_seconds, more than half of %d completed", r.NTimedOut, r.NCompleted))
	}
	if r.Best.Value == 0 {
		if metric == "hit" {
			return true, nil
		}
		return false, trainingErr("zero_score", "all trials scored 0.0")
	}
	return false, nil
}

// BestParams returns best_params (algorithms.md §5.1 step 8): the trial's
// attributes overlaid with its suggested parameters.
func (t Trial) BestParams() algo.Params {
	out := algo.Params{}
	for k, v := range t.Attrs {
		out[k] = v
	}
	for k, v := range t.Params {
		if k == "recommender_class_name" || k == "optimizer_name" {
			continue
		}
		out[k] = v
	}
	return out
}
