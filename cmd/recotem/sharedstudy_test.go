package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/search"
	"github.com/recotem/recotem/trainer/search/sqlstore"
)

// Three `recotem train` processes with the same --run-id share one trial
// pool in a real PostgreSQL and, separately, a real MariaDB (started by
// .ci/services): together they run exactly n_trials trials, each trial
// number once.
func TestThreeTrainProcessesShareOneTrialPool(t *testing.T) {
	for _, db := range []struct {
		need                                testenv.Need
		name, url, user, pw, userEnv, pwEnv string
	}{
		{testenv.Postgres, "postgres", "RECOTEM_TEST_POSTGRES_URL", "RECOTEM_TEST_POSTGRES_USER", "RECOTEM_TEST_POSTGRES_PASSWORD", "PGUSER", "PGPASSWORD"},
		{testenv.MySQL, "mariadb", "RECOTEM_TEST_MYSQL_URL", "RECOTEM_TEST_MYSQL_USER", "RECOTEM_TEST_MYSQL_PASSWORD", "MYSQL_USER", "MYSQL_PWD"},
	} {
		t.Run(db.name, func(t *testing.T) {
			url := testenv.Getenv(t, db.need, db.url)
			creds := map[string]string{db.userEnv: os.Getenv(db.user), db.pwEnv: os.Getenv(db.pw)}
			k := genKeys(t)
			dir := t.TempDir()
			const nTrials = 9
			data := filepath.Join(repoRoot(t), "examples", "quickstart", "interactions.csv")
			recipe := filepath.Join(dir, "shared.yaml")
			os.WriteFile(recipe, []byte(fmt.Sprintf(`name: shared
source: {type: csv, path: %q}
schema: {user_column: user_id, item_column: item_id}
training:
  algorithms: [TopPop, CosineKNN, RP3beta]
  n_trials: %d
  cutoff: 10
  storage_path: %q
output: {path: %q}
`, data, nTrials, url, filepath.Join(dir, "out", "shared.recotem"))), 0o644)
			var b [6]byte
			rand.Read(b[:])
			runID := "p3-" + hex.EncodeToString(b[:])

			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), k.signingEnv}
			for k, v := range creds {
				env = append(env, k+"="+v)
			}
			var procs []*exec.Cmd
			for i := 0; i < 3; i++ {
				cmd := exec.Command(binPath, "train", "--no-lock", "--run-id", runID, recipe)
				cmd.Dir, cmd.Env = dir, env
				out, _ := os.Create(filepath.Join(dir, fmt.Sprintf("p%d.log", i)))
				cmd.Stderr = out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				procs = append(procs, cmd)
			}
			ran := 0
			for i, p := range procs {
				log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("p%d.log", i)))
				if err := p.Wait(); err != nil {
					log, _ = os.ReadFile(filepath.Join(dir, fmt.Sprintf("p%d.log", i)))
					t.Fatalf("process %d: %v\n%s", i, err, log)
				}
				log, _ = os.ReadFile(filepath.Join(dir, fmt.Sprintf("p%d.log", i)))
				n := 0
				for _, e := range events(t, string(log)) {
					if e["event"] == "trial_done" {
						n++
					}
				}
				t.Logf("process %d ran %d trials", i, n)
				ran += n
			}
			if ran != nTrials {
				t.Errorf("processes ran %d trials together, want %d", ran, nTrials)
			}

			lookup := func(k string) (string, bool) { v, ok := creds[k]; return v, ok }
			store, err := sqlstore.Open(url, sqlstore.Options{Lookup: lookup})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			trials, err := store.Trials(context.Background(), "recotem_shared_"+runID)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]bool{}
			for _, tr := range trials {
				if seen[tr.Number] {
					t.Errorf("trial number %d twice", tr.Number)
				}
				seen[tr.Number] = true
				if tr.State != search.Complete {
					t.Errorf("trial %d is %s", tr.Number, tr.State)
				}
			}
			if len(trials) != nTrials {
				t.Fatalf("%d trials in the shared study, want exactly %d", len(trials), nTrials)
			}
		})
	}
}
