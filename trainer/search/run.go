package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/search/tpe"
)

// Run runs the study: workers (Parallelism, clamped to the store's limit)
// claim trials from cfg.Store until every class budget is used, the global
// Timeout passes (checked before each trial; running trials finish) or ctx
// ends. An objective error other than ErrPruned fails its trial, cancels the
// other running trials and aborts the search with a Training "search_error"
// (or the error's own class). Result covers every trial in the study,
// including other processes' trials in a shared store.
func Run(ctx context.Context, cfg Config, obj Objective) (*Result, error) {
	if cfg.NTrials <= 0 {
		cfg.NTrials = 40
	}
	if cfg.Budgets == nil {
		cfg.Budgets = Budgets(cfg.Classes, cfg.NTrials, nil)
	}
	if len(cfg.Budgets) != len(cfg.Classes) {
		return nil, searchErr(fmt.Errorf("%d budgets for %d classes", len(cfg.Budgets), len(cfg.Classes)))
	}
	if cfg.Study == "" {
		return nil, searchErr(errors.New("empty study name"))
	}
	var classes []string
	var budgets []int
	for i, c := range cfg.Classes {
		if cfg.Budgets[i] > 0 {
			classes = append(classes, c)
			budgets = append(budgets, cfg.Budgets[i])
		}
	}
	if len(classes) == 0 {
		return nil, trainingErr("no_active_algorithms", "every algorithm has a trial budget of 0")
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	par := max(cfg.Parallelism, 1)
	if m := cfg.Store.MaxParallelism(); m > 0 && par > m {
		par = m
	}
	r := &runner{cfg: cfg, classes: classes, budgets: budgets, obj: obj, start: time.Now(), running: map[int]struct{}{}}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel

	stopHB := r.heartbeats(runCtx)
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(runCtx)
		}()
	}
	wg.Wait()
	stopHB()

	res := &Result{Parallelism: par, NTimedOut: r.nTimedOut, Aborted: r.aborted}
	// Read the final pool with a context that outlives a cancelled ctx.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer rcancel()
	all, err := cfg.Store.Trials(rctx, cfg.Study)
	if err != nil && r.err == nil {
		r.err = searchErr(fmt.Errorf("read trials: %w", err))
	}
	res.Trials = all
	bestIdx := -1
	for i, t := range all {
		if t.State != Complete {
			continue
		}
		res.NCompleted++
		if bestIdx < 0 || t.Value > all[bestIdx].Value ||
			(t.Value == all[bestIdx].Value && finishedBefore(t, all[bestIdx])) {
			bestIdx = i
		}
	}
	if bestIdx >= 0 {
		res.Best = all[bestIdx]
	}
	if r.err != nil {
		return res, r.err
	}
	if err := ctx.Err(); err != nil {
		res.Aborted = true
		return res, err
	}
	return res, nil
}

func finishedBefore(a, b Trial) bool {
	if a.FinishSeq != b.FinishSeq {
		return a.FinishSeq < b.FinishSeq
	}
	return a.Number < b.Number
}

type runner struct {
	cfg     Config
	classes []string
	budgets []int
	obj     Objective
	start   time.Time
	cancel  context.CancelFunc

	mu        sync.Mutex
	running   map[int]struct{}
	err       error
	aborted   bool
	nTimedOut int
	cbMu      sync.Mutex
}

func (r *runner) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.cancel()
}

func (r *runner) heartbeats(ctx context.Context) (stop func()) {
	every := r.cfg.Store.HeartbeatInterval()
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			r.mu.Lock()
			nums := make([]int, 0, len(r.running))
			for n := range r.running {
				nums = append(nums, n)
			}
			r.mu.Unlock()
			if len(nums) == 0 {
				continue
			}
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
			if err := r.cfg.Store.Heartbeat(hctx, r.cfg.Study, nums); err != nil {
				r.cfg.Logger.Warn("trial_heartbeat_failed", "study", r.cfg.Study, "error", err.Error())
			}
			cancel()
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (r *runner) worker(ctx context.Context) {
	for {
		if ctx.Err() != nil {
			return
		}
		if r.cfg.Timeout > 0 && time.Since(r.start) >= r.cfg.Timeout {
			r.mu.Lock()
			r.aborted = true
			r.mu.Unlock()
			return
		}
		number, class, ok, err := r.cfg.Store.Claim(ctx, r.cfg.Study, r.classes, r.budgets)
		if err != nil {
			if ctx.Err() == nil {
				r.fail(searchErr(fmt.Errorf("claim trial: %w", err)))
			}
			return
		}
		if !ok {
			// Every slot is taken. Other processes' RUNNING trials may
			// still fail or go stale and free one: wait for them.
			if !r.waitForOthers(ctx) {
				return
			}
			continue
		}
		r.mu.Lock()
		r.running[number] = struct{}{}
		r.mu.Unlock()
		r.runTrial(ctx, number, class)
		r.mu.Lock()
		delete(r.running, number)
		r.mu.Unlock()
	}
}

// waitForOthers sleeps one poll interval and reports true if RUNNING
// trials that this runner does not own remain in the study.
func (r *runner) waitForOthers(ctx context.Context) bool {
	ts, err := r.cfg.Store.Trials(ctx, r.cfg.Study)
	if err != nil {
		return false
	}
	r.mu.Lock()
	others := 0
	for _, t := range ts {
		if _, mine := r.running[t.Number]; t.State == Running && !mine {
			others++
		}
	}
	r.mu.Unlock()
	if others == 0 {
		return false
	}
	poll := r.cfg.Store.HeartbeatInterval()
	if poll <= 0 || poll > time.Second {
		poll = time.Second
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(poll):
	}
	return true
}

func (r *runner) runTrial(ctx context.Context, number int, class string) {
	hist, err := r.cfg.Store.Trials(ctx, r.cfg.Study)
	if err != nil {
		r.finish(number, Trial{Number: number, Class: class, State: Fail})
		if ctx.Err() == nil {
			r.fail(searchErr(fmt.Errorf("read trials: %w", err)))
		}
		return
	}
	tc := &trialCtx{
		r:      r,
		ctx:    ctx,
		number: number,
		class:  class,
		s:      tpe.New(r.cfg.Seed, number, history(hist), r.cfg.RandomSearch),
		params: algo.Params{},
		attrs:  map[string]any{},
		inter:  map[int]float64{},
	}
	tctx, cancel := ctx, context.CancelFunc(func() {})
	if r.cfg.PerTrialTimeout > 0 {
		tctx, cancel = context.WithTimeout(ctx, r.cfg.PerTrialTimeout)
	}
	value, oerr := r.call(tctx, tc)
	timedOut := r.cfg.PerTrialTimeout > 0 && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()

	t := tc.snapshot()
	switch {
	case ctx.Err() != nil && oerr != nil:
		t.State = Fail // interrupted by an aborted search
	case timedOut:
		t.State, t.TimedOut = Pruned, true
		r.mu.Lock()
		r.nTimedOut++
		r.mu.Unlock()
	case errors.Is(oerr, ErrPruned):
		t.State = Pruned
	case oerr != nil:
		t.State = Fail
		r.finish(number, t)
		r.fail(searchErr(fmt.Errorf("trial %d (%s): %w", number, class, oerr)))
		return
	case math.IsNaN(value) || math.IsInf(value, 0):
		t.State = Fail
		r.cfg.Logger.Warn("trial_value_not_finite", "study", r.cfg.Study, "trial", number, "algorithm", class)
	default:
		t.State, t.Value = Complete, value
	}
	if !r.finish(number, t) {
		return
	}
	if r.cfg.OnTrial != nil {
		r.cbMu.Lock()
		r.cfg.OnTrial(t)
		r.cbMu.Unlock()
	}
}

// call runs the objective, turning a panic into an error.
func (r *runner) call(ctx context.Context, tc *trialCtx) (v float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("objective panicked: %v", p)
		}
	}()
	return r.obj(ctx, tc)
}

// finish stores t; false if the store no longer held the trial.
func (r *runner) finish(number int, t Trial) bool {
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Number = number
	err := r.cfg.Store.Finish(fctx, r.cfg.Study, t)
	switch {
	case errors.Is(err, ErrTrialLost):
		r.cfg.Logger.Warn("trial_lost", "study", r.cfg.Study, "trial", number)
		return false
	case err != nil:
		r.fail(searchErr(fmt.Errorf("store trial %d: %w", number, err)))
		return false
	}
	return true
}

// history is the TPE history: the COMPLETE and PRUNED trials.
func history(ts []Trial) []tpe.Trial {
	out := make([]tpe.Trial, 0, len(ts))
	for _, t := range ts {
		if t.State == Complete || t.State == Pruned {
			out = append(out, tpe.Trial{Number: t.Number, Pruned: t.State == Pruned, Value: t.Value,
				Params: t.Params, Intermediate: t.Intermediate})
		}
	}
	return out
}

type trialCtx struct {
	r      *runner
	ctx    context.Context
	number int
	class  string
	s      *tpe.Sampler

	mu     sync.Mutex
	params algo.Params
	attrs  map[string]any
	inter  map[int]float64
}

func (t *trialCtx) Number() int   { return t.number }
func (t *trialCtx) Class() string { return t.class }

func (t *trialCtx) Suggest(spec algo.ParamSpec) any {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.params[spec.Name]; ok {
		return v
	}
	v := t.s.Suggest(spec)
	t.params[spec.Name] = v
	return v
}

func (t *trialCtx) SetAttr(k string, v any) {
	t.mu.Lock()
	t.attrs[k] = v
	t.mu.Unlock()
}

func (t *trialCtx) Report(step int, value float64) bool {
	t.mu.Lock()
	t.inter[step] = value
	own := maps.Clone(t.inter)
	t.mu.Unlock()
	hist, err := t.r.cfg.Store.Trials(t.ctx, t.r.cfg.Study)
	if err != nil {
		return false
	}
	return shouldPrune(hist, own, step)
}

func (t *trialCtx) snapshot() Trial {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Trial{
		Number:       t.number,
		Class:        t.class,
		Params:       maps.Clone(t.params),
		Attrs:        maps.Clone(t.attrs),
		Intermediate: maps.Clone(t.inter),
	}
}

// SpaceSuggest suggests every parameter of space in order and returns them.
func SpaceSuggest(t TrialContext, space []algo.ParamSpec) algo.Params {
	p := algo.Params{}
	for _, s := range space {
		p[s.Name] = t.Suggest(s)
	}
	return p
}
