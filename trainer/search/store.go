package search

import (
	"context"
	"maps"
	"sort"
	"sync"
	"time"
)

// Store holds the trials of studies. Implementations are safe for
// concurrent use; the SQL stores (package sqlstore, which also opens the
// store training.storage_path names) are safe across processes and hosts
// too (see the package doc for the budget rules).
type Store interface {
	// Claim creates the study if needed, marks RUNNING trials with an
	// expired heartbeat FAIL, then atomically registers a new RUNNING trial
	// with the next trial number (0, 1, …) for the first class, in order,
	// whose RUNNING, COMPLETE and PRUNED trials are fewer than its budget.
	// ok is false when every budget is used up.
	Claim(ctx context.Context, study string, classes []string, budgets []int) (number int, class string, ok bool, err error)
	// Heartbeat refreshes the liveness of this process's RUNNING trials.
	Heartbeat(ctx context.Context, study string, numbers []int) error
	// Finish stores the final state, value, params, attributes and reports
	// of a RUNNING trial (t.Number). ErrTrialLost if it is no longer RUNNING.
	Finish(ctx context.Context, study string, t Trial) error
	// Trials returns every trial of the study by number (none if the study
	// does not exist).
	Trials(ctx context.Context, study string) ([]Trial, error)
	// MaxParallelism is the most concurrent trials one process may run
	// against the store; 0 means no limit. SQLite returns 1.
	MaxParallelism() int
	// HeartbeatInterval is how often Run refreshes running trials; 0 = never.
	HeartbeatInterval() time.Duration
	Close() error
}

// MemoryStore keeps trials in process memory (the default store, and Run's
// when Config.Store is nil).
type MemoryStore struct {
	mu      sync.Mutex
	studies map[string][]Trial
	seq     map[string]int64
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{studies: map[string][]Trial{}, seq: map[string]int64{}}
}

func (s *MemoryStore) Claim(_ context.Context, study string, classes []string, budgets []int) (int, string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.studies[study]
	used := map[string]int{}
	for _, t := range ts {
		if t.State != Fail {
			used[t.Class]++
		}
	}
	for i, c := range classes {
		if i < len(budgets) && used[c] < budgets[i] {
			n := len(ts)
			s.studies[study] = append(ts, Trial{Number: n, Class: c, State: Running})
			return n, c, true, nil
		}
	}
	return 0, "", false, nil
}

func (s *MemoryStore) Heartbeat(context.Context, string, []int) error { return nil }

func (s *MemoryStore) Finish(_ context.Context, study string, t Trial) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.studies[study]
	if t.Number < 0 || t.Number >= len(ts) || ts[t.Number].State != Running {
		return ErrTrialLost
	}
	t.Class = ts[t.Number].Class
	t.Params = maps.Clone(t.Params)
	t.Attrs = maps.Clone(t.Attrs)
	t.Intermediate = maps.Clone(t.Intermediate)
	s.seq[study]++
	t.FinishSeq = s.seq[study]
	ts[t.Number] = t
	return nil
}

func (s *MemoryStore) Trials(_ context.Context, study string) ([]Trial, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Trial, len(s.studies[study]))
	copy(out, s.studies[study])
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

func (s *MemoryStore) MaxParallelism() int              { return 0 }
func (s *MemoryStore) HeartbeatInterval() time.Duration { return 0 }
func (s *MemoryStore) Close() error                     { return nil }
