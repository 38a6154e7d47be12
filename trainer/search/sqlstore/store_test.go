package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/search"
)

// testLookup maps the CI's RECOTEM_TEST_* credentials (.ci/services) to the
// variables the stores read.
func testLookup(key string) (string, bool) {
	m := map[string]string{
		"PGUSER": "RECOTEM_TEST_POSTGRES_USER", "PGPASSWORD": "RECOTEM_TEST_POSTGRES_PASSWORD",
		"MYSQL_USER": "RECOTEM_TEST_MYSQL_USER", "MYSQL_PWD": "RECOTEM_TEST_MYSQL_PASSWORD",
	}
	if v, ok := m[key]; ok {
		return os.LookupEnv(v)
	}
	return "", false
}

type storeCase struct {
	name string
	path string // storage_path; "" = memory
}

// storeCases lists every store; database ones skip loudly without their
// URL variable (set by .ci/services/*.sh).
func storeCases(t *testing.T) []storeCase {
	cs := []storeCase{{"memory", ""}, {"sqlite", filepath.Join(t.TempDir(), "trials.db")}}
	for _, db := range []struct{ name, env string }{{"postgres", "RECOTEM_TEST_POSTGRES_URL"}, {"mysql", "RECOTEM_TEST_MYSQL_URL"}} {
		cs = append(cs, storeCase{db.name, os.Getenv(db.env)})
	}
	return cs
}

func openCase(t *testing.T, c storeCase, grace time.Duration) search.Store {
	t.Helper()
	testenv.Require(t, testenv.Need(c.name), c.path != "" || c.name == "memory", "RECOTEM_TEST_%s_URL is unset", strings.ToUpper(c.name))
	s, err := Open(c.path, Options{Lookup: testLookup, Grace: grace})
	if err != nil {
		t.Fatalf("open %s: %v", c.name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// space and objective are a small search for the tests that run studies:
// a float, a log float, an int and a categorical, so every kind of value
// goes through the store and, past TPE's start-up trials, back into the
// sampler (the type assertions fail the study if a kind does not survive).
var space = []algo.ParamSpec{
	{Name: "x", Kind: algo.Float, Low: -5, High: 5},
	{Name: "reg", Kind: algo.Float, Low: 1e-4, High: 1, Log: true},
	{Name: "k", Kind: algo.Int, Low: 1, High: 100},
	{Name: "c", Kind: algo.Categorical, Choices: []any{"a", "b", "c"}},
}

func objective(_ context.Context, t search.TrialContext) (float64, error) {
	p := search.SpaceSuggest(t, space)
	v := -math.Abs(p["x"].(float64)) - math.Abs(math.Log10(p["reg"].(float64))+2) - float64(p["k"].(int))/100
	if p["c"] == "b" {
		v++
	}
	return v, nil
}

func numbers(ts []search.Trial) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = t.Number
	}
	return out
}

func uniqueStudy(t *testing.T) string {
	return fmt.Sprintf("recotem_test_%s_%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

func TestStoreConformance(t *testing.T) {
	for _, c := range storeCases(t) {
		t.Run(c.name, func(t *testing.T) {
			s := openCase(t, c, time.Minute)
			ctx := context.Background()
			study := uniqueStudy(t)
			if ts, err := s.Trials(ctx, study); err != nil || len(ts) != 0 {
				t.Fatalf("unknown study: %v %v", ts, err)
			}
			classes, budgets := []string{"A", "B"}, []int{2, 1}
			claim := func(wantN int, wantC string, wantOK bool) {
				t.Helper()
				n, cl, ok, err := s.Claim(ctx, study, classes, budgets)
				if err != nil || ok != wantOK || (ok && (n != wantN || cl != wantC)) {
					t.Fatalf("claim = %d %q %v %v; want %d %q %v", n, cl, ok, err, wantN, wantC, wantOK)
				}
			}
			claim(0, "A", true)
			claim(1, "A", true)
			claim(2, "B", true)
			claim(0, "", false)
			params := algo.Params{"k": 3, "x": 0.5, "c": "b", "flag": true}
			if err := s.Finish(ctx, study, search.Trial{Number: 0, State: search.Complete, Value: 0.25, Params: params,
				Attrs: map[string]any{"train_epochs": 15}, Intermediate: map[int]float64{4: 0.125, 9: 0.25}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(ctx, study, search.Trial{Number: 1, State: search.Pruned, TimedOut: true}); err != nil {
				t.Fatal(err)
			}
			// A FAIL trial frees its slot.
			if err := s.Finish(ctx, study, search.Trial{Number: 2, State: search.Fail}); err != nil {
				t.Fatal(err)
			}
			claim(3, "B", true)
			claim(0, "", false)
			if err := s.Finish(ctx, study, search.Trial{Number: 0, State: search.Complete}); !errors.Is(err, search.ErrTrialLost) {
				t.Fatalf("second finish: %v, want ErrTrialLost", err)
			}
			if err := s.Heartbeat(ctx, study, []int{3}); err != nil {
				t.Fatal(err)
			}
			ts, err := s.Trials(ctx, study)
			if err != nil || len(ts) != 4 {
				t.Fatalf("trials %v %v", ts, err)
			}
			t0 := ts[0]
			if t0.State != search.Complete || t0.Value != 0.25 || t0.Class != "A" || t0.FinishSeq == 0 {
				t.Fatalf("trial 0: %+v", t0)
			}
			for k, v := range params {
				if t0.Params[k] != v {
					t.Fatalf("param %s = %#v, want %#v", k, t0.Params[k], v)
				}
			}
			if t0.Attrs["train_epochs"] != 15 || t0.Intermediate[9] != 0.25 || len(t0.Intermediate) != 2 {
				t.Fatalf("trial 0 attrs %v reports %v", t0.Attrs, t0.Intermediate)
			}
			if ts[1].State != search.Pruned || !ts[1].TimedOut || ts[2].State != search.Fail || ts[3].State != search.Running || ts[3].Class != "B" {
				t.Fatalf("trials: %+v", ts)
			}
		})
	}
}

// A RUNNING trial whose process stopped heart-beating loses its slot.
func TestStoreStaleTrialTakeover(t *testing.T) {
	for _, c := range storeCases(t) {
		if c.name == "memory" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			grace := 2 * time.Second
			a := openCase(t, c, grace)
			b := openCase(t, c, grace)
			ctx := context.Background()
			study := uniqueStudy(t)
			n0, _, _, err := a.Claim(ctx, study, []string{"A"}, []int{2})
			if err != nil {
				t.Fatal(err)
			}
			n1, _, _, _ := a.Claim(ctx, study, []string{"A"}, []int{2})
			time.Sleep(time.Second)
			if err := a.Heartbeat(ctx, study, []int{n1}); err != nil { // n1 stays alive, n0 goes stale
				t.Fatal(err)
			}
			time.Sleep(1400 * time.Millisecond)
			n2, _, ok, err := b.Claim(ctx, study, []string{"A"}, []int{2})
			if err != nil || !ok || n2 != 2 {
				t.Fatalf("takeover claim = %d %v %v", n2, ok, err)
			}
			if n, _, ok, err := b.Claim(ctx, study, []string{"A"}, []int{2}); ok || err != nil {
				ts, _ := b.Trials(ctx, study)
				t.Fatalf("the live trial's slot was taken: trial %d (%v); trials %+v", n, err, ts)
			}
			if err := a.Finish(ctx, study, search.Trial{Number: n0, State: search.Complete, Value: 1}); !errors.Is(err, search.ErrTrialLost) {
				t.Fatalf("finishing a stale trial: %v, want ErrTrialLost", err)
			}
			if err := a.Finish(ctx, study, search.Trial{Number: n1, State: search.Complete, Value: 1}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	s, err := Open("", Options{})
	if _, ok := s.(*search.MemoryStore); err != nil || !ok {
		t.Fatalf("blank → %T %v", s, err)
	}
	for _, u := range []string{
		"postgresql://user:s3cr3t@db.example/recotem",
		"postgres://user@db.example/recotem",
		"mysql://root:s3cr3t@db.example:3306/recotem",
		"mysql+pymysql://root:s3cr3t@db.example/recotem",
		"POSTGRESQL://:s3cr3t@db.example/recotem",
	} {
		_, err := Open(u, Options{})
		if !errors.Is(err, ErrCredentialsInURL) || failure.CodeOf(err) != "search_error" || failure.ExitCode(err) != 4 {
			t.Fatalf("%s: got %v", u, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "db.example") {
			t.Fatalf("error echoes the URL: %v", err)
		}
	}
	if _, err := Open("postgres", Options{}); !errors.Is(err, ErrBadStorage) || failure.ExitCode(err) != 4 {
		t.Fatalf("bare scheme: %v", err)
	}
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "sub", "trials.db"), "sqlite:///" + filepath.Join(dir, "u.db"), filepath.Join(dir, "sqlite_trials.db")} {
		s, err := Open(p, Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if s.MaxParallelism() != 1 {
			t.Fatalf("%s: SQLite must force parallelism 1", p)
		}
		s.Close()
	}
	for _, f := range []string{filepath.Join(dir, "sub", "trials.db"), filepath.Join(dir, "u.db"), filepath.Join(dir, "sqlite_trials.db")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("SQLite file not created: %v", err)
		}
	}
}

// Same run id against SQLite: an interrupted study resumes and ends within
// its budgets; completed trials count.
func TestResumeSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resume.db")
	cfg := search.Config{Study: "recotem_r_run1", Classes: []string{"A", "B"}, Budgets: []int{4, 3}, Seed: 5, Parallelism: 4}
	run := func(stopAfter int) (*search.Result, error) {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c := cfg
		c.Store = s
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := 0
		c.OnTrial = func(search.Trial) {
			if done++; done == stopAfter {
				cancel()
			}
		}
		return search.Run(ctx, c, objective)
	}
	res, err := run(3)
	if !errors.Is(err, context.Canceled) || res.NCompleted != 3 || res.Parallelism != 1 {
		t.Fatalf("first run: %v, %d completed, parallelism %d", err, res.NCompleted, res.Parallelism)
	}
	var ran int
	res, err = run(-1)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for i, tr := range res.Trials {
		if tr.Number != i {
			t.Fatalf("trial numbers not 0..n-1: %v", numbers(res.Trials))
		}
		if tr.State == search.Complete {
			count[tr.Class]++
		}
		if tr.State == search.Running {
			t.Fatalf("trial %d left RUNNING", i)
		}
	}
	ran = len(res.Trials) - 3
	if count["A"] != 4 || count["B"] != 3 || res.NCompleted != 7 || ran != 4 {
		t.Fatalf("resumed: completed %v, %d trials run in the second run", count, ran)
	}
	// A third run finds every budget used and runs nothing.
	res, err = run(-1)
	if err != nil || len(res.Trials) != 7 {
		t.Fatalf("third run: %d trials, %v", len(res.Trials), err)
	}
}
