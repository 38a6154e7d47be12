package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/search"
)

// TestMain lets the test binary act as a `recotem train`-like worker
// process (style.md #16): with RECOTEM_SEARCH_HELPER set it runs one study
// against the store named by RECOTEM_SEARCH_HELPER_STORE and prints the
// trial numbers it ran as JSON.
func TestMain(m *testing.M) {
	if os.Getenv("RECOTEM_SEARCH_HELPER") == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

const helperClassesN = 30

var helperClasses = []string{"IALS", "CosineKNN", "TopPop"}

func helperMain() int {
	store, err := Open(os.Getenv("RECOTEM_SEARCH_HELPER_STORE"), Options{Lookup: testLookup, Grace: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	defer store.Close()
	var mu sync.Mutex
	var mine []int
	_, err = search.Run(context.Background(), search.Config{
		Study:       os.Getenv("RECOTEM_SEARCH_HELPER_STUDY"),
		Classes:     helperClasses,
		NTrials:     helperClassesN,
		Parallelism: 2,
		Seed:        42,
		Store:       store,
		OnTrial: func(t search.Trial) {
			mu.Lock()
			mine = append(mine, t.Number)
			mu.Unlock()
		},
	}, func(ctx context.Context, t search.TrialContext) (float64, error) {
		v, err := objective(ctx, t)
		time.Sleep(time.Duration(5+t.Number()%4*5) * time.Millisecond)
		return v, err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 4
	}
	json.NewEncoder(os.Stdout).Encode(mine)
	return 0
}

// Three processes share one study in a real database and finish with
// exactly n_trials trials, no duplicate numbers, budgets per class.
func TestMultiProcessSharedStudy(t *testing.T) {
	for _, db := range []struct{ name, env string }{{"postgres", "RECOTEM_TEST_POSTGRES_URL"}, {"mysql", "RECOTEM_TEST_MYSQL_URL"}} {
		t.Run(db.name, func(t *testing.T) {
			url := testenv.Getenv(t, testenv.Need(db.name), db.env)
			study := uniqueStudy(t)
			type out struct {
				trials []int
				err    error
				stderr string
			}
			outs := make([]out, 3)
			var wg sync.WaitGroup
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmd := exec.Command(os.Args[0], "-test.run=^$")
					cmd.Env = append(os.Environ(), "RECOTEM_SEARCH_HELPER=1",
						"RECOTEM_SEARCH_HELPER_STORE="+url, "RECOTEM_SEARCH_HELPER_STUDY="+study)
					var stderr strings.Builder
					cmd.Stderr = &stderr
					b, err := cmd.Output()
					outs[i].err, outs[i].stderr = err, stderr.String()
					if err == nil {
						outs[i].err = json.Unmarshal(b, &outs[i].trials)
					}
				}()
			}
			wg.Wait()
			seen := map[int]int{}
			total := 0
			for i, o := range outs {
				if o.err != nil {
					t.Fatalf("process %d: %v\n%s", i, o.err, o.stderr)
				}
				for _, n := range o.trials {
					seen[n]++
				}
				total += len(o.trials)
				t.Logf("process %d ran %d trials", i, len(o.trials))
			}
			if total != helperClassesN {
				t.Fatalf("processes ran %d trials in total, want %d", total, helperClassesN)
			}
			for n, k := range seen {
				if k != 1 {
					t.Fatalf("trial %d run by %d processes", n, k)
				}
			}
			s := openCase(t, storeCase{db.name, url}, time.Minute)
			ts, err := s.Trials(context.Background(), study)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != helperClassesN {
				t.Fatalf("store holds %d trials, want %d", len(ts), helperClassesN)
			}
			count := map[string]int{}
			for i, tr := range ts {
				if tr.Number != i || tr.State != search.Complete {
					t.Fatalf("trial %d: number %d state %s", i, tr.Number, tr.State)
				}
				count[tr.Class]++
			}
			want := search.Budgets(helperClasses, helperClassesN, nil)
			for i, c := range helperClasses {
				if count[c] != want[i] {
					t.Fatalf("class %s ran %d trials, budget %d", c, count[c], want[i])
				}
			}
		})
	}
}
