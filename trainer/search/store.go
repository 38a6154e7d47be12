package search

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Store holds the trials of studies. Implementations are safe for
// concurrent use; the SQL stores are also safe across processes and hosts
// (see the package doc for the budget rules).
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

// StoreOptions configures OpenStoreWith. Zero values are the defaults.
type StoreOptions struct {
	// Lookup reads the environment for ambient database credentials
	// (MySQL: MYSQL_USER, MYSQL_PWD; PostgreSQL: the driver's own PG*
	// variables and ~/.pgpass). nil: no lookup (train passes its
	// Options.LookupEnv, envconfig.Config.External).
	Lookup func(key string) (string, bool)
	// Grace is how long a RUNNING trial may go without a heartbeat before
	// another process takes its slot. 0 → 60 s. Heartbeats run every Grace/4.
	Grace time.Duration
}

var dbURL = regexp.MustCompile(`(?i)^(postgresql|postgres|mysql|sqlite)\b`)

// OpenStore opens the trial store named by training.storage_path
// (recotem-behavior.md §5.3) with default options: "" → memory; a value
// starting with postgresql/postgres/mysql/sqlite at a word boundary → that
// database URL (credentials inside it are refused with a Training
// "search_error" that never echoes the URL); anything else → a SQLite file
// at that path.
func OpenStore(storagePath string) (Store, error) {
	return OpenStoreWith(storagePath, StoreOptions{})
}

// OpenStoreWith is OpenStore with options.
func OpenStoreWith(storagePath string, opt StoreOptions) (Store, error) {
	if strings.TrimSpace(storagePath) == "" {
		return NewMemoryStore(), nil
	}
	if opt.Grace <= 0 {
		opt.Grace = 60 * time.Second
	}
	m := dbURL.FindStringSubmatch(storagePath)
	if m == nil {
		return openSQL(dialectSQLite, sqliteDSN(storagePath), opt)
	}
	scheme := strings.ToLower(m[1])
	rest, ok := strings.CutPrefix(storagePath[len(m[1]):], "://")
	if !ok {
		// "mysql+pymysql://…", "postgresql+psycopg2://…": drop the driver.
		if i := strings.Index(storagePath, "://"); i > 0 && storagePath[len(m[1])] == '+' {
			rest = storagePath[i+3:]
		} else {
			return nil, searchErr(fmt.Errorf("%w: %s storage needs a %s:// URL", ErrBadStorage, scheme, scheme))
		}
	}
	if scheme == "sqlite" {
		// sqlite:///relative.db, sqlite:////abs/path.db (SQLAlchemy form).
		p := strings.TrimPrefix(rest, "/")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p == "" {
			return nil, searchErr(fmt.Errorf("%w: sqlite URL without a path", ErrBadStorage))
		}
		return openSQL(dialectSQLite, sqliteDSN(p), opt)
	}
	authority := rest
	if i := strings.IndexAny(authority, "/?"); i >= 0 {
		authority = authority[:i]
	}
	if strings.Contains(authority, "@") {
		return nil, searchErr(fmt.Errorf("%w; supply them through the environment", ErrCredentialsInURL))
	}
	switch scheme {
	case "postgres", "postgresql":
		return openSQL(dialectPostgres, "postgres://"+rest, opt)
	default:
		dsn, err := mysqlDSN(rest, opt.Lookup)
		if err != nil {
			return nil, searchErr(err)
		}
		return openSQL(dialectMySQL, dsn, opt)
	}
}

// MemoryStore keeps trials in process memory (the default store).
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
