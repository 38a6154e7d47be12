package trainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/trainer/membudget"
)

// TestRunRefusesWhatCannotFit: before any trial, an algorithm whose memory
// bound exceeds the budget ends the run with insufficient_memory (exit 4)
// naming the algorithm and the bytes; nothing is written. With room, the
// same recipe trains and memory_budget reports each algorithm's need.
func TestRunRefusesWhatCannotFit(t *testing.T) {
	f := newFixture(t)
	wide := fmt.Sprintf("{type: csv, path: %q}", f.csv(t, "wide.csv", interactions(400, 3000)))
	recipe := f.write(t, rcp{source: wide, training: "{algorithms: [TopPop, DenseSLIM], n_trials: 2, cutoff: 5}"})
	budget := func(avail int64) func() (membudget.Budget, error) {
		return func() (membudget.Budget, error) {
			return membudget.Budget{Limit: 1 << 30, InUse: 1<<30 - avail, Source: membudget.SourceCgroup}, nil
		}
	}

	var lb logBuf
	opt := f.opts(recipe, &lb)
	opt.MemoryBudget = budget(10 << 20) // TopPop fits in 10 MiB, DenseSLIM (4·items² bytes) does not
	_, err, evs := run(t, context.Background(), opt, &lb)
	if failure.ExitCode(err) != 4 || failure.CodeOf(err) != "insufficient_memory" {
		t.Fatalf("exit %d code %s: %v", failure.ExitCode(err), failure.CodeOf(err), err)
	}
	for _, want := range []string{"DenseSLIMRecommender needs up to", "but 10.0 MiB of 1.0 GiB is available (limit from cgroup)", "400 users × "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if count(evs, "search_started") != 0 || count(evs, "trial_done") != 0 {
		t.Errorf("the search ran: %v", names(evs))
	}
	im := find(evs, "insufficient_memory")
	if im == nil || im["algorithm"] != "DenseSLIMRecommender" || im["needed_bytes"].(float64) <= 3<<20 || im["available_bytes"] != float64(10<<20) {
		t.Errorf("insufficient_memory event: %v", im)
	}
	if te := find(evs, "train_error"); te["needed_bytes"] == nil || te["algorithm"] != "DenseSLIMRecommender" {
		t.Errorf("train_error fields: %v", te)
	}
	if _, err := os.Stat(f.out("t")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an artifact was written: %v", err)
	}

	// Every algorithm that does not fit is named, not only the first.
	lb = logBuf{}
	opt = f.opts(recipe, &lb)
	opt.MemoryBudget = budget(1 << 10)
	_, err, evs = run(t, context.Background(), opt, &lb)
	if count(evs, "insufficient_memory") != 2 || !strings.Contains(err.Error(), "TopPopRecommender needs up to") ||
		!strings.Contains(err.Error(), "; DenseSLIMRecommender needs up to") || !strings.Contains(err.Error(), "remove them") {
		t.Errorf("two refusals: %v\n%v", err, names(evs))
	}

	lb = logBuf{}
	opt = f.opts(recipe, &lb)
	opt.MemoryBudget = budget(256 << 20)
	if _, err, evs = run(t, context.Background(), opt, &lb); err != nil {
		t.Fatal(err)
	}
	mb := find(evs, "memory_budget")
	needs, _ := mb["needs_bytes"].(map[string]any)
	if mb["limit_source"] != "cgroup" || needs["TopPopRecommender"] == nil || needs["DenseSLIMRecommender"].(float64) <= needs["TopPopRecommender"].(float64) {
		t.Errorf("memory_budget: %v", mb)
	}

	// Parallel trials multiply the search's need.
	lb = logBuf{}
	recipe = f.write(t, rcp{training: "{algorithms: [IALS], n_trials: 2, cutoff: 5, parallelism: 2}"})
	opt = f.opts(recipe, &lb)
	var one, two float64
	opt.MemoryBudget = budget(1 << 20) // too little for IALS either way
	_, err, evs = run(t, context.Background(), opt, &lb)
	if failure.CodeOf(err) != "insufficient_memory" {
		t.Fatalf("%v", err)
	}
	two = find(evs, "insufficient_memory")["needed_bytes"].(float64)
	lb = logBuf{}
	opt = f.opts(f.write(t, rcp{training: "{algorithms: [IALS], n_trials: 2, cutoff: 5}"}), &lb)
	opt.MemoryBudget = budget(1 << 20)
	_, _, evs = run(t, context.Background(), opt, &lb)
	one = find(evs, "insufficient_memory")["needed_bytes"].(float64)
	if find(evs, "insufficient_memory")["phase"] == "search" && two < 1.9*one {
		t.Errorf("parallelism 2 needs %.0f bytes, parallelism 1 %.0f", two, one)
	}
}
