package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type keys struct {
	signingEnv, apiEnv, apiPlain, kid string
}

func genKeys(t *testing.T) keys {
	t.Helper()
	dir := t.TempDir()
	s := recotem(t, dir, nil, "keygen", "--kid", "k1")
	a := recotem(t, dir, nil, "keygen", "--type", "api", "--kid", "client")
	if s.code != 0 || a.code != 0 {
		t.Fatalf("keygen: %d %s / %d %s", s.code, s.stderr, a.code, a.stderr)
	}
	field := func(out, name string) string {
		m := regexp.MustCompile(`(?m)^\s*` + name + `=(\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("keygen output lacks %s=: %q", name, out)
		}
		return m[1]
	}
	return keys{signingEnv: field(s.stdout, "env_entry"), apiEnv: field(a.stdout, "env_entry"), apiPlain: field(a.stdout, "plaintext"), kid: "k1"}
}

// writeRecipe writes a small recipe over the bundled quickstart data into dir.
func writeRecipe(t *testing.T, dir, name, algos string, trials int) string {
	t.Helper()
	data := filepath.Join(repoRoot(t), "examples", "quickstart", "interactions.csv")
	y := fmt.Sprintf(`name: %s
source: {type: csv, path: %q}
schema: {user_column: user_id, item_column: item_id, time_column: timestamp, time_unit: s}
training:
  algorithms: [%s]
  n_trials: %d
  cutoff: 10
output: {path: %q}
`, name, data, algos, trials, filepath.Join(dir, "out", name+".recotem"))
	p := filepath.Join(dir, "recipes", name+".yaml")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrainInspectServeEndToEnd(t *testing.T) {
	k := genKeys(t)
	dir := t.TempDir()
	recipe := writeRecipe(t, dir, "quick", "TopPop, IALS", 4)
	env := []string{k.signingEnv, "RECOTEM_LOCK_DIR=" + filepath.Join(dir, "locks")}

	// No signing keys: exit 8 and a train_error with code signing_key_missing.
	r := recotem(t, dir, nil, "train", recipe)
	if r.code != 8 || findEvent(events(t, r.stderr), "train_error")["code"] != "signing_key_missing" {
		t.Fatalf("train without keys: exit %d, stderr %s", r.code, r.stderr)
	}

	r = recotem(t, dir, env, "train", recipe)
	if r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("train wrote to stdout: %q", r.stdout)
	}
	evs := events(t, r.stderr)
	order := []string{"training_started", "fetching_data", "data_fetched", "data_cleansed", "splitting_data", "split_done",
		"search_started", "trial_done", "tuning_complete", "search_done", "training_final_model", "final_model_trained", "artifact_written", "train_done"}
	pos := 0
	for _, e := range evs {
		if pos < len(order) && e["event"] == order[pos] {
			pos++
		}
	}
	if pos != len(order) {
		t.Fatalf("events out of order; reached %d (%s) of %v", pos, order[min(pos, len(order)-1)], order)
	}
	done := findEvent(evs, "train_done")
	for _, f := range []string{"name", "run_id", "exit_code", "artifact", "best_class", "best_score", "trials", "n_orphaned", "trained_at", "kid", "recipe_hash", "n_rows", "n_users", "n_items"} {
		if _, ok := done[f]; !ok {
			t.Errorf("train_done lacks %q: %v", f, done)
		}
	}
	// append_sha: pointer names <stem>.<sha8>.recotem.
	ptr, err := os.ReadFile(filepath.Join(dir, "out", "quick.recotem"))
	if err != nil || !regexp.MustCompile(`^quick\.[0-9a-f]{8}\.recotem\n$`).Match(ptr) {
		t.Fatalf("pointer %q %v", ptr, err)
	}

	// inspect follows the pointer and prints the header.
	r = recotem(t, dir, env, "inspect", filepath.Join(dir, "out", "quick.recotem"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "HMAC: OK  (kid='k1')\n") {
		t.Fatalf("inspect: %d %q %s", r.code, r.stdout, r.stderr)
	}
	var hdr map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[1]), &hdr); err != nil {
		t.Fatalf("inspect header: %v", err)
	}
	for _, f := range []string{"recipe_name", "recipe_hash", "recotem_version", "irspack_version", "trained_at", "best_class", "best_params", "best_score", "metric", "cutoff", "tuning", "data_stats", "payload"} {
		if _, ok := hdr[f]; !ok {
			t.Errorf("header lacks %q", f)
		}
	}

	// serve it and ask for recommendations over real HTTP.
	srv := startServe(t, dir, append(env, k.apiEnv), filepath.Join(dir, "recipes"))
	defer srv.stop(t)
	resp := srv.post(t, "/predict/quick", k.apiPlain, `{"user_id":"u0001","cutoff":5}`)
	if resp.code != 200 && resp.code != 404 {
		t.Fatalf("/predict: %d %s", resp.code, resp.body)
	}
	if resp := srv.post(t, "/predict/quick", "", `{"user_id":"x"}`); resp.code != 401 {
		t.Fatalf("/predict without key: %d", resp.code)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exit %d after SIGTERM", code)
	}
}

type served struct {
	cmd    *exec.Cmd
	base   string
	stderr *bytes.Buffer
	mu     *sync.Mutex
	once   sync.Once
	code   int
	done   chan struct{}
}

func startServe(t *testing.T, dir string, env []string, recipes string) *served {
	t.Helper()
	return startServeArgs(t, dir, env, "--recipes", recipes, "--port", "0")
}

type httpResp struct {
	code int
	body string
	hdr  http.Header
}

func (s *served) post(t *testing.T, path, key, body string) httpResp {
	t.Helper()
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResp{resp.StatusCode, string(b), resp.Header}
}

func (s *served) stop(t *testing.T) int {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
		s.code = s.cmd.ProcessState.ExitCode()
	})
	return s.code
}
