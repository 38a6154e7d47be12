package trainer

// In-process tests of Run: the whole pipeline on a small temporary CSV read
// by the real local source, one case per failure class with its exit code
// and train_error code, the lock outcomes, and the events of §5.1. The
// binary's own tests (cmd/recotem) repeat the exit codes end to end.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/trainer/lock"
	"github.com/recotem/recotem/trainer/source"
)

// logBuf collects the JSON lines of a logx logger; safe for concurrent
// writers (the search logs from its workers).
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

// events decodes every line.
func (l *logBuf) events(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

func names(evs []map[string]any) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprint(e["event"]))
	}
	return out
}

func find(evs []map[string]any, name string) map[string]any {
	for _, e := range evs {
		if e["event"] == name {
			return e
		}
	}
	return nil
}

func count(evs []map[string]any, name string) int {
	n := 0
	for _, e := range evs {
		if e["event"] == name {
			n++
		}
	}
	return n
}

// fixture is one test's sandbox: a directory, a data file and a key ring.
type fixture struct {
	dir  string
	data string // interactions CSV
	ring *format.KeyRing
}

const testKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.data = f.csv(t, "data.csv", interactions(60, 40))
	ring, err := format.ParseKeyRing("k1:" + testKey)
	if err != nil {
		t.Fatal(err)
	}
	f.ring = ring
	return f
}

// interactions renders a deterministic CSV: every user sees the three most
// popular items and nine of the rest, one second apart (twelve rows, so the
// default heldout_ratio 0.1 holds one out), so that a popularity model
// scores above zero on any split.
func interactions(users, items int) string {
	var b strings.Builder
	b.WriteString("user_id,item_id,timestamp\n")
	ts := 1_700_000_000
	for u := range users {
		for j := range 3 {
			fmt.Fprintf(&b, "u%d,i%d,%d\n", u, j, ts)
			ts++
		}
		for j := range 9 {
			fmt.Fprintf(&b, "u%d,i%d,%d\n", u, 3+(u*7+j*3)%(items-3), ts)
			ts++
		}
	}
	return b.String()
}

// disjoint renders a CSV in which every user's items are their own: a
// held-out item was never seen by anyone else, so a popularity model scores
// exactly 0.
func disjoint(users, per int) string {
	var b strings.Builder
	b.WriteString("user_id,item_id,timestamp\n")
	for u := range users {
		for j := range per {
			fmt.Fprintf(&b, "u%d,i%d_%d,%d\n", u, u, j, u*per+j)
		}
	}
	return b.String()
}

func (f *fixture) csv(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rcp is a recipe with defaults for every part left empty.
type rcp struct {
	name, source, schema, training, output, extra string
}

func (f *fixture) out(name string) string { return filepath.Join(f.dir, "out", name+".recotem") }

func (f *fixture) write(t *testing.T, r rcp) string {
	t.Helper()
	if r.name == "" {
		r.name = "t"
	}
	if r.source == "" {
		r.source = fmt.Sprintf("{type: csv, path: %q}", f.data)
	}
	if r.schema == "" {
		r.schema = "{user_column: user_id, item_column: item_id, time_column: timestamp, time_unit: s}"
	}
	if r.training == "" {
		r.training = "{algorithms: [TopPop], n_trials: 2, cutoff: 5}"
	}
	if r.output == "" {
		r.output = fmt.Sprintf("{path: %q}", f.out(r.name))
	}
	y := fmt.Sprintf("name: %q\nsource: %s\nschema: %s\ntraining: %s\noutput: %s\n%s", r.name, r.source, r.schema, r.training, r.output, r.extra)
	file, err := os.CreateTemp(f.dir, "recipe-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file.WriteString(y)
	file.Close()
	return file.Name()
}

// opts returns Options for a recipe file with the fixture's ring, a lock
// directory of its own and a logger into lb.
func (f *fixture) opts(path string, lb *logBuf) Options {
	return Options{
		RecipePath: path,
		RunID:      "run1",
		Ring:       f.ring,
		LockDir:    filepath.Join(f.dir, "locks"),
		Logger:     logx.New(lb, logx.FormatJSON, slog.LevelInfo),
	}
}

// run runs Run and checks the contract every failure keeps: exactly one
// train_error with the code and exit code of the returned error.
func run(t *testing.T, ctx context.Context, opt Options, lb *logBuf) (*Result, error, []map[string]any) {
	t.Helper()
	res, err := Run(ctx, opt)
	evs := lb.events(t)
	if err == nil {
		if n := count(evs, "train_error"); n != 0 {
			t.Fatalf("success logged %d train_error", n)
		}
		return res, nil, evs
	}
	if n := count(evs, "train_error"); n != 1 {
		t.Fatalf("%d train_error events for %v:\n%v", n, err, names(evs))
	}
	e := find(evs, "train_error")
	if e["code"] != failure.CodeOf(err) || e["exit_code"] != float64(failure.ExitCode(err)) || e["error"] != err.Error() {
		t.Fatalf("train_error %v does not match %v (exit %d)", e, err, failure.ExitCode(err))
	}
	for _, k := range []string{"name", "run_id", "trained_at", "level"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("train_error lacks %s: %v", k, e)
		}
	}
	if e["level"] != "error" {
		t.Fatalf("train_error level %v", e["level"])
	}
	return res, err, evs
}

func TestRunAppendSha(t *testing.T) {
	f := newFixture(t)
	var lb logBuf
	opt := f.opts(f.write(t, rcp{}), &lb)
	opt.Verbose = true
	var progress []string
	opt.Progress = func(line string) { progress = append(progress, line) }
	res, err, evs := run(t, context.Background(), opt, &lb)
	if err != nil {
		t.Fatal(err)
	}

	// §5.1 order (repeats collapsed).
	want := []string{"recipe_loaded", "training_started", "fetching_data", "csv_source_fetch_start", "csv_source_fetch_done",
		"data_fetched", "data_cleansed", "splitting_data", "split_done", "search_started", "trial_done",
		"tuning_complete", "search_done", "training_final_model", "final_model_trained", "artifact_written", "train_done"}
	var got []string
	for _, n := range names(evs) {
		if slices.Contains(want, n) && (len(got) == 0 || got[len(got)-1] != n) {
			got = append(got, n)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("event order\n got %v\nwant %v", got, want)
	}
	for _, e := range evs {
		if e["event"] != "train_done" && e["event"] != "recipe_loaded" && (e["recipe"] != "t" || e["run_id"] != "run1") {
			t.Errorf("%v lacks recipe/run_id: %v", e["event"], e)
		}
	}
	if n := count(evs, "trial_done"); n != 2 {
		t.Errorf("%d trial_done, want 2", n)
	}
	// Each phase's event carries its resident-set peak; train_done the run's.
	var most float64
	for _, n := range []string{"split_done", "search_done", "final_model_trained", "artifact_written"} {
		p, _ := find(evs, n)["peak_rss_bytes"].(float64)
		if p <= 0 {
			t.Errorf("%s: peak_rss_bytes %v", n, find(evs, n)["peak_rss_bytes"])
		}
		most = max(most, p)
	}
	if p, _ := find(evs, "train_done")["peak_rss_bytes"].(float64); p != most {
		t.Errorf("train_done peak_rss_bytes %v, want the phases' largest %v", p, most)
	}
	if td := find(evs, "trial_done"); td["params"] == nil || td["algorithm"] != "TopPopRecommender" || td["state"] != "COMPLETE" {
		t.Errorf("verbose trial_done: %v", td)
	}
	if len(progress) != 2 || !strings.HasPrefix(progress[1], "trial 2/2") {
		t.Errorf("progress lines: %q", progress)
	}
	done := find(evs, "train_done")
	for _, k := range []string{"name", "run_id", "exit_code", "artifact", "best_class", "best_score", "trials", "n_orphaned",
		"trained_at", "kid", "recipe_hash", "n_rows", "n_users", "n_items"} {
		if _, ok := done[k]; !ok {
			t.Errorf("train_done lacks %s", k)
		}
	}
	if done["kid"] != "k1" || done["n_users"] != float64(60) || done["n_rows"] != float64(720) || done["exit_code"] != float64(0) {
		t.Errorf("train_done: %v", done)
	}

	// The result, the pointer and a verifiable artifact.
	if res.Skipped || res.BestClass != "TopPopRecommender" || !(res.BestScore > 0) || res.Pointer != f.out("t") {
		t.Fatalf("result %+v", res)
	}
	ptr, err := os.ReadFile(res.Pointer)
	if err != nil || filepath.Join(filepath.Dir(res.Pointer), strings.TrimSpace(string(ptr))) != res.Artifact {
		t.Fatalf("pointer %q → %s: %v", ptr, res.Artifact, err)
	}
	if w := find(evs, "artifact_written"); w["artifact"] != res.Artifact || w["pointer"] != res.Pointer || w["versioning"] != "append_sha" {
		t.Errorf("artifact_written %v", w)
	}
	c, err := format.ReadContainer(res.Pointer, f.ring, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var bestClass, hash string
	json.Unmarshal(c.Header.Fields["best_class"], &bestClass)
	json.Unmarshal(c.Header.Fields["recipe_hash"], &hash)
	// The log redacts the 64-hex hash (§9); the header keeps it.
	if c.Kid != "k1" || bestClass != "TopPopRecommender" || len(hash) != 64 || done["recipe_hash"] != logx.RedactedHex64 || c.Header.Payload == nil {
		t.Errorf("header: kid %q best_class %q hash %q payload %v", c.Kid, bestClass, hash, c.Header.Payload)
	}
	for _, k := range []string{"recipe_name", "config_digest", "recotem_version", "irspack_version", "trained_at", "best_params",
		"best_score", "metric", "cutoff", "algorithms", "tuning", "data_stats", "recipe"} {
		if _, ok := c.Header.Fields[k]; !ok {
			t.Errorf("header lacks %s", k)
		}
	}
	if _, err := os.Stat(f.out("t") + ".lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}
}

// A factor model (IALS, iterative with early stopping, q8 copy), quiet,
// overwriting its output inside the artifact root.
func TestRunFactorOverwriteQuiet(t *testing.T) {
	f := newFixture(t)
	root := filepath.Join(f.dir, "root")
	os.MkdirAll(root, 0o755)
	out := filepath.Join(root, "m.recotem")
	var lb logBuf
	opt := f.opts(f.write(t, rcp{training: "{algorithms: [IALS, TopPop], n_trials: 2, cutoff: 5, per_algorithm_trials: {IALS: 1}}",
		output: fmt.Sprintf("{path: %q, versioning: always_overwrite}", out)}), &lb)
	opt.Quiet = true
	opt.ArtifactRoot = root
	opt.RunID = "" // a random 12-hex id
	res, err, evs := run(t, context.Background(), opt, &lb)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(evs, "trial_done"); n != 0 {
		t.Errorf("quiet run logged %d trial_done", n)
	}
	id, _ := find(evs, "train_done")["run_id"].(string)
	if _, err := hex.DecodeString(id); err != nil || len(id) != 12 {
		t.Errorf("generated run id %q", id)
	}
	if res.Artifact != out || res.Pointer != "" {
		t.Errorf("overwrite result %+v", res)
	}
	if s := find(evs, "search_started"); fmt.Sprint(s["algorithms"]) != "[IALSRecommender TopPopRecommender]" {
		t.Errorf("search_started %v", s)
	}
	if _, err := format.ReadContainer(out, f.ring, format.Limits{}); err != nil {
		t.Fatal(err)
	}
}

func TestRunFailures(t *testing.T) {
	f := newFixture(t)
	single := f.csv(t, "single.csv", "user_id,item_id,timestamp\nu1,i1,1\nu2,i2,2\nu3,i3,3\nu4,i4,4\n")
	zero := f.csv(t, "disjoint.csv", disjoint(40, 10))
	src := func(p string) string { return fmt.Sprintf("{type: csv, path: %q}", p) }
	notDir := f.csv(t, "file", "x")
	for _, tc := range []struct {
		name  string
		r     rcp
		opt   func(*Options)
		exit  int
		code  string
		event string // also logged
	}{
		{name: "signing keys missing", opt: func(o *Options) { o.Ring = nil }, exit: 8, code: "signing_key_missing"},
		{name: "missing keys beat recipe errors", r: rcp{extra: "bogus: 1\n"}, opt: func(o *Options) { o.Ring = nil }, exit: 8, code: "signing_key_missing"},
		{name: "unknown recipe key", r: rcp{extra: "bogus: 1\n"}, exit: 2, code: "recipe_error"},
		{name: "unset recipe variable", r: rcp{source: src("${RECOTEM_RECIPE_NOPE}")}, exit: 2, code: "recipe_error"},
		{name: "bad run id", opt: func(o *Options) { o.RunID = "a b" }, exit: 2, code: "recipe_error"},
		{name: "output outside the artifact root", opt: func(o *Options) { o.ArtifactRoot = filepath.Join(f.dir, "elsewhere") }, exit: 2, code: "recipe_error"},
		{name: "missing source", r: rcp{source: src(filepath.Join(f.dir, "absent.csv"))}, exit: 3, code: "datasource_error", event: "fetching_data"},
		{name: "source over the download cap", opt: func(o *Options) { o.Source = source.Settings{MaxDownloadBytes: 100} }, exit: 3, code: "datasource_error"},
		{name: "min_rows", r: rcp{extra: "cleansing: {min_rows: 100000}\n"}, exit: 4, code: "min_data_violation"},
		{name: "empty held-out set", r: rcp{source: src(single)}, exit: 4, code: "split_error", event: "splitting_data"},
		{name: "storage URL with a password", r: rcp{training: "{algorithms: [TopPop], n_trials: 2, storage_path: \"postgresql://u:p@h/db\"}"}, exit: 4, code: "search_error"},
		{name: "zero score", r: rcp{source: src(zero)}, exit: 4, code: "zero_score", event: "trial_done"},
		{name: "artifact write fails", r: rcp{output: fmt.Sprintf("{path: %q}", filepath.Join(notDir, "x.recotem"))}, opt: func(o *Options) { o.NoLock = true }, exit: 5, code: "internal_error", event: "final_model_trained"},
		{name: "lock path is a symlink", r: rcp{name: "sym"}, opt: func(o *Options) {
			os.MkdirAll(filepath.Join(f.dir, "out"), 0o755)
			os.Symlink(filepath.Join(f.dir, "target"), f.out("sym")+".lock")
		}, exit: 1, code: "internal_error", event: "recipe_lock_unsafe_symlink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lb logBuf
			opt := f.opts(f.write(t, tc.r), &lb)
			if tc.opt != nil {
				tc.opt(&opt)
			}
			res, err, evs := run(t, context.Background(), opt, &lb)
			if err == nil {
				t.Fatalf("succeeded: %+v", res)
			}
			if failure.ExitCode(err) != tc.exit || failure.CodeOf(err) != tc.code {
				t.Fatalf("exit %d code %s, want %d %s: %v", failure.ExitCode(err), failure.CodeOf(err), tc.exit, tc.code, err)
			}
			if tc.event != "" && find(evs, tc.event) == nil {
				t.Errorf("no %s:\n%v", tc.event, names(evs))
			}
			e := find(evs, "train_error")
			switch tc.code {
			case "signing_key_missing", "recipe_error":
				if find(evs, "training_started") != nil {
					t.Error("training started")
				}
			case "min_data_violation":
				if e["n_rows"] == nil || e["min_rows"] != float64(100000) || e["kid"] != "k1" || e["recipe_hash"] == nil {
					t.Errorf("min_data_violation fields: %v", e)
				}
			}
			if e["name"] == "" {
				t.Errorf("train_error without a name: %v", e)
			}
		})
	}
}

// The zero-score rule has one exception (§5.1): metric hit warns and goes on.
func TestRunZeroScoreHit(t *testing.T) {
	f := newFixture(t)
	data := f.csv(t, "disjoint.csv", disjoint(40, 10))
	var lb logBuf
	opt := f.opts(f.write(t, rcp{source: fmt.Sprintf("{type: csv, path: %q}", data),
		training: "{algorithms: [TopPop], n_trials: 1, cutoff: 5, metric: hit}"}), &lb)
	res, err, evs := run(t, context.Background(), opt, &lb)
	if err != nil || res.BestScore != 0 || find(evs, "zero_score_hit_metric") == nil {
		t.Fatalf("hit metric at 0: %v %+v\n%v", err, res, names(evs))
	}
}

func TestRunLock(t *testing.T) {
	f := newFixture(t)
	path := f.write(t, rcp{name: "locked"})
	os.MkdirAll(filepath.Join(f.dir, "out"), 0o755)
	held, err := lock.Acquire(context.Background(), f.out("locked")+".lock", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	// Default: skip, exit 0, only recipe_lock_contended_skipping.
	var lb logBuf
	res, err, evs := run(t, context.Background(), f.opts(path, &lb), &lb)
	if err != nil || !res.Skipped || find(evs, "recipe_lock_contended_skipping") == nil || find(evs, "training_started") != nil {
		t.Fatalf("contended: %v %+v %v", err, res, names(evs))
	}
	if _, err := os.Stat(f.out("locked")); err == nil {
		t.Fatal("a skipped run wrote an artifact")
	}
	// --fail-on-busy: 6 lock_contested.
	lb = logBuf{}
	opt := f.opts(path, &lb)
	opt.FailOnBusy = true
	if _, err, _ = run(t, context.Background(), opt, &lb); failure.ExitCode(err) != 6 || failure.CodeOf(err) != "lock_contested" {
		t.Fatalf("fail on busy: %v", err)
	}
	// --lock-timeout: 6 lock_timeout after the wait, with its event.
	lb = logBuf{}
	opt = f.opts(path, &lb)
	opt.LockTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err, evs = run(t, context.Background(), opt, &lb)
	if failure.ExitCode(err) != 6 || failure.CodeOf(err) != "lock_timeout" || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("lock timeout: %v after %v", err, time.Since(start))
	}
	if e := find(evs, "recipe_lock_timeout"); e == nil || e["lock_path"] != f.out("locked")+".lock" || e["timeout"] != 0.2 {
		t.Fatalf("recipe_lock_timeout %v", e)
	}
	// --no-lock trains regardless.
	lb = logBuf{}
	opt = f.opts(path, &lb)
	opt.NoLock = true
	if res, err, _ := run(t, context.Background(), opt, &lb); err != nil || res.Artifact == "" {
		t.Fatalf("no lock: %v %+v", err, res)
	}
}

// A remote output locks under LockDir (sha256 of output.path) and warns once.
func TestRunRemoteOutputLocksLocally(t *testing.T) {
	f := newFixture(t)
	var lb logBuf
	path := f.write(t, rcp{output: `{path: "s3://bucket/models/t.recotem"}`, source: fmt.Sprintf("{type: csv, path: %q}", filepath.Join(f.dir, "absent.csv"))})
	_, err, evs := run(t, context.Background(), f.opts(path, &lb), &lb)
	if failure.ExitCode(err) != 3 {
		t.Fatalf("remote output, absent source: %v", err)
	}
	e := find(evs, "recipe_lock_local_only")
	if e == nil || e["scheme"] != "s3" || e["output_path"] != "s3://bucket/models/t.recotem" || e["level"] != "warning" {
		t.Fatalf("recipe_lock_local_only %v", e)
	}
	ents, _ := os.ReadDir(filepath.Join(f.dir, "locks"))
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ".lock") || len(ents[0].Name()) != 64+len(".lock") {
		t.Fatalf("lock dir holds %v", ents)
	}
}

// A cancelled search stops the run: tuning_aborted, search_error (exit 4).
func TestRunCancelled(t *testing.T) {
	f := newFixture(t)
	var lb logBuf
	opt := f.opts(f.write(t, rcp{training: "{algorithms: [TopPop], n_trials: 50, cutoff: 5}"}), &lb)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opt.Progress = func(string) { cancel() }
	_, err, evs := run(t, ctx, opt, &lb)
	if failure.ExitCode(err) != 4 || failure.CodeOf(err) != "search_error" || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v (exit %d, code %s)", err, failure.ExitCode(err), failure.CodeOf(err))
	}
	if e := find(evs, "tuning_aborted"); e == nil || e["trials_done"] == nil {
		t.Fatalf("tuning_aborted %v", e)
	}
	if find(evs, "artifact_written") != nil {
		t.Fatal("a cancelled run wrote an artifact")
	}
}

// A SQLite study store allows one trial at a time: parallelism is clamped
// with a warning and the run completes.
func TestRunSQLiteStoreClampsParallelism(t *testing.T) {
	f := newFixture(t)
	var lb logBuf
	store := filepath.Join(f.dir, "study.db")
	opt := f.opts(f.write(t, rcp{training: fmt.Sprintf("{algorithms: [TopPop], n_trials: 2, cutoff: 5, parallelism: 4, storage_path: %q}", store)}), &lb)
	_, err, evs := run(t, context.Background(), opt, &lb)
	if err != nil {
		t.Fatal(err)
	}
	if e := find(evs, "env_var_clamped"); e == nil || e["var"] != "parallelism" || e["requested"] != float64(4) || e["clamped"] != float64(1) {
		t.Fatalf("parallelism clamp %v", e)
	}
	if b, err := os.ReadFile(store); err != nil || !bytes.HasPrefix(b, []byte("SQLite format 3\x00")) {
		t.Fatalf("study store: %v", err)
	}
}

// EnvVars beat LookupEnv for recipe expansion and reach the source lookup.
func TestRunEnvVars(t *testing.T) {
	f := newFixture(t)
	var lb logBuf
	opt := f.opts(f.write(t, rcp{source: `{type: csv, path: "${RECOTEM_RECIPE_DATA}"}`}), &lb)
	opt.EnvVars = map[string]string{"RECOTEM_RECIPE_DATA": f.data}
	opt.LookupEnv = func(k string) (string, bool) {
		if k == "RECOTEM_RECIPE_DATA" {
			return "/nonexistent.csv", true
		}
		return "", false
	}
	if _, err, _ := run(t, context.Background(), opt, &lb); err != nil {
		t.Fatal(err)
	}
	s := &state{opt: opt}
	look := s.lookupEnv()
	if v, ok := look("RECOTEM_RECIPE_DATA"); !ok || v != f.data {
		t.Fatalf("--env-var first: %q %v", v, ok)
	}
	s.opt.LookupEnv = nil
	if _, ok := look("RECOTEM_RECIPE_OTHER"); ok {
		t.Fatal("nil LookupEnv is an empty environment")
	}
}

func TestHelpers(t *testing.T) {
	if got := localPath("file:///srv/m.recotem"); got != "/srv/m.recotem" {
		t.Errorf("localPath file:// = %q", got)
	}
	if got := localPath("file://localhost/srv/m.recotem"); got != "/srv/m.recotem" {
		t.Errorf("localPath file://localhost = %q", got)
	}
	if got := localPath("/srv/m.recotem"); got != "/srv/m.recotem" {
		t.Errorf("localPath plain = %q", got)
	}
	if specFor("nope") != nil || specFor("ials") == nil || specFor("TopPopRecommender").Alias != "TopPop" {
		t.Error("specFor")
	}
	spec := specFor("TopPop")
	p, dropped := acceptedParams(spec, map[string]any{"zzz": 1, "aaa": 2})
	if len(p) != 0 || !slices.Equal(dropped, []string{"aaa", "zzz"}) {
		t.Errorf("acceptedParams: %v %v", p, dropped)
	}
	classified := failure.New(failure.HTTPFetch, "datasource_error", "refused")
	if ensureClass(classified, failure.DataSource, "x") != error(classified) {
		t.Error("ensureClass rewrapped a classified error")
	}
	if e := ensureClass(errors.New("plain"), failure.Training, "search_error"); failure.ExitCode(e) != 4 || failure.CodeOf(e) != "search_error" {
		t.Errorf("ensureClass plain: %v", e)
	}
	root := t.TempDir()
	if err := recheckContainment(root, filepath.Join(root, "m.recotem")); err != nil {
		t.Errorf("inside root: %v", err)
	}
	if err := recheckContainment(root, filepath.Join(t.TempDir(), "m.recotem")); failure.ExitCode(err) != 5 {
		t.Errorf("outside root: %v", err)
	}
	if countDone(nil) != 0 {
		t.Error("countDone(nil)")
	}
}
