package blobsrc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/recotem/recotem/internal/testenv"
)

// TestS3TrainServeHotSwapEndToEnd drives the real binary against a real S3
// server (versitygw from .ci/services/s3.sh): train from an S3 CSV → the
// sha object and then the pointer are written to S3 → serve loads the
// model from S3 → a retrain writes a new artifact → the watcher sees the
// pointer's new ETag and hot-swaps (model_version changes).
func TestS3TrainServeHotSwapEndToEnd(t *testing.T) {
	base := s3Base(t)
	if testing.Short() {
		t.Skip("short: skips building the binary and training twice")
	}
	root := repoRoot(t)
	ratings, err := os.ReadFile(filepath.Join(root, "..", "shared", "data", "movielens", "ratings.csv"))
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data absent: %v", err)
	dir := t.TempDir()
	bin := filepath.Join(dir, "recotem")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "recotem")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(env []string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			code = ee.ExitCode()
		}
		return code, so.String(), se.String()
	}
	code, out, se := run(nil, "keygen", "--kid", "s3k")
	m := regexp.MustCompile(`env_entry=(\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("keygen: %d %s %s", code, out, se)
	}
	env := []string{m[1], "RECOTEM_LOCK_DIR=" + filepath.Join(dir, "locks"), "RECOTEM_WATCH_INTERVAL=1", "RECOTEM_LOG_FORMAT=json"}

	ctx := context.Background()
	st := Store()
	upload := func(lines int) {
		t.Helper()
		all := bytes.SplitAfter(ratings, []byte("\n"))
		if err := st.Put(ctx, base+"/ratings.csv", bytes.NewReader(bytes.Join(all[:min(lines, len(all))], nil))); err != nil {
			t.Fatal(err)
		}
	}
	upload(20001)
	out3 := base + "/out/ml.recotem"
	recipeDir := filepath.Join(dir, "recipes")
	os.MkdirAll(recipeDir, 0o755)
	y := fmt.Sprintf(`name: ml
source: {type: csv, path: %q}
schema: {user_column: userId, item_column: movieId}
training:
  algorithms: [TopPop]
  n_trials: 1
  cutoff: 10
output: {path: %q}
`, base+"/ratings.csv", out3)
	if err := os.WriteFile(filepath.Join(recipeDir, "ml.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}

	train := func() string {
		t.Helper()
		code, _, se := run(env, "train", "-q", filepath.Join(recipeDir, "ml.yaml"))
		if code != 0 {
			t.Fatalf("train: exit %d\n%s", code, se)
		}
		if !strings.Contains(se, `"recipe_lock_local_only"`) {
			t.Errorf("remote output without recipe_lock_local_only:\n%s", se)
		}
		ptr, _, err := st.ReadAll(ctx, out3, 512)
		if err != nil || !regexp.MustCompile(`^ml\.[0-9a-f]{8}\.recotem\n$`).Match(ptr) {
			t.Fatalf("pointer object %q %v", ptr, err)
		}
		name := strings.TrimSpace(string(ptr))
		art, _, err := st.ReadAll(ctx, base+"/out/"+name, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(art)
		if hex.EncodeToString(sum[:4]) != name[3:11] {
			t.Fatalf("sha object %s holds bytes with sha8 %x", name, sum[:4])
		}
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	v1 := train()

	// inspect reads the artifact from S3 through the pointer.
	code, out, se = run(env, "inspect", out3)
	if code != 0 || !strings.HasPrefix(out, "HMAC: OK  (kid='s3k')\n") {
		t.Errorf("inspect s3: exit %d %q %s", code, out, se)
	}

	srv := startServe(t, bin, dir, env, recipeDir)
	defer srv.stop()
	version := func() string {
		t.Helper()
		resp, err := http.Post(srv.base+"/v1/recipes/ml:recommend", "application/json", strings.NewReader(`{"user_id":"1","limit":5}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			ModelVersion string            `json:"model_version"`
			Items        []json.RawMessage `json:"items"`
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil || len(body.Items) == 0 {
			t.Fatalf(":recommend %d %s\n%s", resp.StatusCode, b, srv.log())
		}
		if h := resp.Header.Get("X-Recotem-Model-Version"); h != body.ModelVersion {
			t.Fatalf("header version %q != body %q", h, body.ModelVersion)
		}
		return body.ModelVersion
	}
	if got := version(); got != v1 {
		t.Fatalf("served model_version %s, trained %s", got, v1)
	}

	// Retrain on more rows: a new sha object, then the pointer moves.
	upload(40001)
	v2 := train()
	if v2 == v1 {
		t.Fatal("retrain produced identical bytes")
	}
	deadline := time.Now().Add(30 * time.Second)
	for version() != v2 {
		if time.Now().After(deadline) {
			t.Fatalf("no hot swap to %s within 30 s\n%s", v2, srv.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(srv.log(), `"artifact_hot_swapped"`) {
		t.Fatalf("model changed without artifact_hot_swapped:\n%s", srv.log())
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exit %d after SIGTERM", code)
	}
}

type served struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	once sync.Once
	code int
}

func (s *served) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func startServe(t *testing.T, bin, dir string, env []string, recipes string) *served {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--recipes", recipes, "--port", "0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, done: make(chan struct{})}
	portc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.buf.WriteString(line + "\n")
			s.mu.Unlock()
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil && e["event"] == "serve_listening" {
				portc <- fmt.Sprint(e["port"])
			}
		}
	}()
	go func() { cmd.Wait(); pw.Close(); close(s.done) }()
	select {
	case p := <-portc:
		s.base = "http://127.0.0.1:" + p
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-s.done
		t.Fatalf("serve did not report serve_listening:\n%s", s.log())
	}
	return s
}

func (s *served) stop() int {
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
