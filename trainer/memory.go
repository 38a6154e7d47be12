package trainer

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/dataset"
	"github.com/recotem/recotem/trainer/membudget"
)

// checkMemory runs before the search: every algorithm's memory bound at the
// hungriest corner of its search space (times the trials that may run at
// once), and at its refit on all rows, must fit in what the budget has
// left. The first that does not ends the run with insufficient_memory
// (exit 4), naming the bytes it would need — rather than a kernel OOM kill
// hours into the search. With SetGoMemoryLimit the Go collector is told
// the limit, so garbage is collected before the process reaches it.
func (s *state) checkMemory(rec *recipe.Recipe, data *dataset.Interactions, split *dataset.Split) error {
	detect := s.opt.MemoryBudget
	if detect == nil {
		detect = func() (membudget.Budget, error) { return membudget.Detect(s.opt.MemoryLimit) }
	}
	b, err := detect()
	if err != nil {
		// No /proc (not Linux): nothing to check against.
		s.rlog.Warn("memory_budget_unknown", "error", err.Error())
		return nil
	}
	if s.opt.SetGoMemoryLimit && b.Source != membudget.SourceMeminfo {
		debug.SetMemoryLimit(b.Limit)
	}
	workers := runtime.GOMAXPROCS(0)
	trial := algo.Shape{Users: split.Search.Rows, Items: split.Search.Cols, NNZ: int64(split.Search.NNZ()), Heldout: split.Heldout.Rows, Workers: workers}
	refit := algo.Shape{Users: len(data.UserIDs), Items: len(data.ItemIDs), NNZ: int64(len(data.User)), Workers: workers}
	parallel := int64(max(rec.Training.Parallelism, 1))
	needs := map[string]any{}
	type refusal struct {
		class  string
		need   int64
		params algo.Params
		phase  string
	}
	var refused []refusal
	for _, a := range rec.Training.Algorithms {
		spec := specFor(a)
		if spec == nil {
			continue // reported by the search as a recipe error
		}
		tb, tp := algo.PeakMemory(spec, trial, nil)
		tb *= parallel
		rb, _ := algo.PeakMemory(spec, refit, tp)
		rb += refit.CSRBytes()
		need, phase := tb, "search"
		if rb > need {
			need, phase = rb, "refit"
		}
		needs[spec.Class] = need
		if need > b.Available() {
			refused = append(refused, refusal{spec.Class, need, tp, phase})
		}
	}
	s.rlog.Info("memory_budget", "limit_bytes", b.Limit, "limit_source", b.Source, "in_use_bytes", b.InUse,
		"available_bytes", b.Available(), "needs_bytes", needs)
	if len(refused) == 0 {
		return nil
	}
	var parts []string
	for _, r := range refused {
		s.rlog.Error("insufficient_memory", "algorithm", r.class, "needed_bytes", r.need, "available_bytes", b.Available(),
			"limit_bytes", b.Limit, "limit_source", b.Source, "phase", r.phase, "params", r.params)
		parts = append(parts, fmt.Sprintf("%s needs up to %s (%s at %s)", r.class, membudget.Bytes(r.need), r.phase, paramList(r.params)))
	}
	r := refused[0]
	e := failure.New(failure.Training, "insufficient_memory",
		"%s on %d users × %d items (%d interactions), but %s of %s is available (limit from %s): remove %s from training.algorithms, or give the job more memory",
		strings.Join(parts, "; "), refit.Users, refit.Items, refit.NNZ,
		membudget.Bytes(b.Available()), membudget.Bytes(b.Limit), b.Source, map[bool]string{true: "it", false: "them"}[len(refused) == 1])
	e.Fields = map[string]any{"algorithm": r.class, "needed_bytes": r.need, "available_bytes": b.Available()}
	return e
}

// paramList formats params as "a=1, b=x" in name order ("defaults" if none).
func paramList(p algo.Params) string {
	if len(p) == 0 {
		return "defaults"
	}
	var parts []string
	for _, n := range sortedKeys(p) {
		parts = append(parts, fmt.Sprintf("%s=%v", n, p[n]))
	}
	return strings.Join(parts, ", ")
}
