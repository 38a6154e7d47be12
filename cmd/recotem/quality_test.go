package main

// A black-box quality harness: for each algorithm, one recipe over a fixed
// split's train.csv → the real `recotem train` → `recotem serve` over
// loopback HTTP with an API key → /predict top-20 for every test user known
// from train.csv → nDCG@20 and recall@20 against test.csv, computed as
// algorithms.md §3.4 defines them. It takes minutes, so it runs only when
// asked:
//
//	go test -run TestQualityOnSplitFiles -v -timeout 60m ./cmd/recotem \
//	    -args -quality.split=both -quality.trials=20
//
// -quality.split is time (a per-user time hold-out of ratings.csv written by
// tools/holdout, recipe split time_user), random (the fixed
// split-random-42 files, recipe split random) or both;
// -quality.algorithms picks the algorithms (BPRFM is slow and off by
// default); -quality.timeout=S sets training.timeout_seconds and, unless
// -quality.trials is given, n_trials 1000, so the wall clock bounds the
// search.

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/tools/holdout"
	"github.com/recotem/recotem/trainer/eval"
)

var (
	qualitySplit   = flag.String("quality.split", "", "run TestQualityOnSplitFiles on this split: time, random or both")
	qualityTrials  = flag.Int("quality.trials", 20, "n_trials per algorithm (1000 by default with -quality.timeout)")
	qualityAlgos   = flag.String("quality.algorithms", "IALS,CosineKNN,TopPop,RP3beta,DenseSLIM,TruncatedSVD", "comma-separated algorithms, one recipe each (BPRFM optional)")
	qualityTimeout = flag.Int("quality.timeout", 0, "training.timeout_seconds per recipe (0: none)")
)

// qualityCutoff is the recipe's cutoff and the K of the test metrics.
const qualityCutoff = 20

// qualitySplitFiles holds one split's interactions as string ids.
type qualitySplitFiles struct {
	train, test map[string]map[string]bool // user → items
	nItems      int                        // distinct items of train.csv
}

// qualityRow is one line of the result table.
type qualityRow struct {
	split, algo           string
	trials, run, pruned   int // completed, trial_done events, of which pruned
	searchWall, trainWall float64
	valBest               float64
	ndcg, recall          float64
	users                 int
	load                  string
}

// rankMetrics returns nDCG and recall of one user's ranked list (already cut
// at the cutoff, n = len(ranked)) against its test items (algorithms.md
// §3.4): nDCG = Σ_j h_j/log₂(j+2) over Σ_{j<min(g,n)} 1/log₂(j+2), recall =
// H/g. A user with g = 0 is not valid (the caller skips it); n = 0 scores 0.
func rankMetrics(ranked []string, test map[string]bool) (ndcg, recall float64) {
	g, n := len(test), len(ranked)
	if g == 0 || n == 0 {
		return 0, 0
	}
	var dcg, idcg float64
	hits := 0
	for j, it := range ranked {
		if test[it] {
			hits++
			dcg += 1 / math.Log2(float64(j+2))
		}
	}
	for j := range min(g, n) {
		idcg += 1 / math.Log2(float64(j+2))
	}
	return dcg / idcg, float64(hits) / float64(g)
}

func TestRankMetrics(t *testing.T) {
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	for _, c := range []struct {
		ranked       []string
		test         map[string]bool
		ndcg, recall float64
	}{
		// hits at ranks 0 and 2 of 4, g = 3: DCG = 1 + 1/2, IDCG = 1 + 1/log₂3 + 1/2.
		{[]string{"a", "x", "b", "y"}, set("a", "b", "c"), 1.5 / (1.5 + 1/math.Log2(3)), 2.0 / 3},
		// one hit at rank 1, g = 5 > n = 2: IDCG over min(g,n) = 2 positions.
		{[]string{"x", "a"}, set("a", "b", "c", "d", "e"), (1 / math.Log2(3)) / (1 + 1/math.Log2(3)), 1.0 / 5},
		// perfect list shorter than g's ideal is still 1; recall counts all of g.
		{[]string{"a", "b"}, set("a", "b"), 1, 1},
		{[]string{"x", "y"}, set("a"), 0, 0},
		{nil, set("a"), 0, 0},
	} {
		ndcg, recall := rankMetrics(c.ranked, c.test)
		if math.Abs(ndcg-c.ndcg) > 1e-12 || math.Abs(recall-c.recall) > 1e-12 {
			t.Errorf("rankMetrics(%v, %v) = %v, %v; want %v, %v", c.ranked, c.test, ndcg, recall, c.ndcg, c.recall)
		}
	}
	// A hand-computed figure, not only the formula again: hits at ranks 1
	// and 3 with g = 2 → (1/log₂3 + 1/log₂5) / (1 + 1/log₂3) = 0.650920...
	if ndcg, _ := rankMetrics([]string{"x", "a", "y", "b"}, set("a", "b")); math.Abs(ndcg-0.6509209298) > 1e-9 {
		t.Errorf("nDCG %v, want 0.6509209298", ndcg)
	}
}

func TestQualityOnSplitFiles(t *testing.T) {
	var splits []string
	switch *qualitySplit {
	case "":
		t.Skip("quality harness runs only with -args -quality.split=time|random|both (minutes; see quality_test.go)")
	case "time", "random":
		splits = []string{*qualitySplit}
	case "both":
		splits = []string{"time", "random"}
	default:
		t.Fatalf("-quality.split=%q, want time, random or both", *qualitySplit)
	}
	trials := *qualityTrials
	trialsSet := false
	flag.Visit(func(f *flag.Flag) { trialsSet = trialsSet || f.Name == "quality.trials" })
	if *qualityTimeout > 0 && !trialsSet {
		trials = 1000
	}
	var algos []string
	for a := range strings.SplitSeq(*qualityAlgos, ",") {
		if a = strings.TrimSpace(a); a != "" {
			algos = append(algos, a)
		}
	}
	if len(algos) == 0 || trials < 1 {
		t.Fatalf("-quality.algorithms=%q -quality.trials=%d: nothing to run", *qualityAlgos, trials)
	}

	k := genKeys(t)
	var rows []qualityRow
	defer func() { t.Log("\n" + qualityTable(rows, trials)) }()
	for _, split := range splits {
		dir := qualitySplitDir(t, split)
		files := readQualitySplit(t, dir)
		t.Logf("split %s (%s): %d train users, %d test users, %d train items; load %s", split, dir, len(files.train), len(files.test), files.nItems, loadAvg())
		for _, a := range algos {
			t.Run(split+"/"+a, func(t *testing.T) {
				row := qualityRun(t, k, split, dir, a, trials, files)
				row.load = loadAvg()
				rows = append(rows, row)
				t.Logf("%s %s: trials %d completed (%d run, %d pruned), search %.1fs, train %.1fs, val %.4f, test nDCG@20 %.4f recall@20 %.4f over %d users; load %s",
					split, a, row.trials, row.run, row.pruned, row.searchWall, row.trainWall, row.valBest, row.ndcg, row.recall, row.users, row.load)
			})
		}
	}
}

// qualitySplitDir returns the directory holding the split's train.csv and
// test.csv: the fixed random split, or a time split written now.
func qualitySplitDir(t *testing.T, split string) string {
	t.Helper()
	if split == "random" {
		dir, ok := eval.MovieLensSplitDir()
		testenv.Require(t, testenv.MovieLens, ok, "MovieLens split not found at %s relative to the repository root", eval.MovieLensSplitRel)
		return dir
	}
	src, err := os.Open(movieLensPath(t, "ratings.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	train, err := os.Create(filepath.Join(dir, "train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	test, err := os.Create(filepath.Join(dir, "test.csv"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := holdout.TimeUser(src, "userId", "timestamp", 0.1, train, test)
	if err := errors.Join(err, train.Close(), test.Close()); err != nil {
		t.Fatal(err)
	}
	t.Logf("time split: %+v", st)
	return dir
}

// readQualitySplit reads dir/train.csv and dir/test.csv (header with userId
// and movieId; every row an implicit interaction).
func readQualitySplit(t *testing.T, dir string) qualitySplitFiles {
	t.Helper()
	read := func(name string) map[string]map[string]bool {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := csv.NewReader(f)
		head, err := r.Read()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ui, ii := slices.Index(head, "userId"), slices.Index(head, "movieId")
		if ui < 0 || ii < 0 {
			t.Fatalf("%s: header %v lacks userId/movieId", name, head)
		}
		out := map[string]map[string]bool{}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			u := rec[ui]
			if out[u] == nil {
				out[u] = map[string]bool{}
			}
			out[u][rec[ii]] = true
		}
	}
	s := qualitySplitFiles{train: read("train.csv"), test: read("test.csv")}
	items := map[string]bool{}
	for _, its := range s.train {
		for it := range its {
			items[it] = true
		}
	}
	s.nItems = len(items)
	return s
}

// qualityRun trains one algorithm on the split's train.csv, serves the
// artifact and scores /predict against test.csv.
func qualityRun(t *testing.T, k keys, split, dir, algo string, trials int, s qualitySplitFiles) qualityRow {
	work := t.TempDir()
	name := strings.ToLower("q-" + split + "-" + algo)
	scheme := map[string]string{"time": "time_user", "random": "random"}[split]
	timeout := ""
	if *qualityTimeout > 0 {
		timeout = fmt.Sprintf("\n  timeout_seconds: %d", *qualityTimeout)
	}
	y := fmt.Sprintf(`name: %s
source: {type: csv, path: %q}
schema: {user_column: userId, item_column: movieId, time_column: timestamp, time_unit: s}
training:
  algorithms: [%s]
  metric: ndcg
  cutoff: %d
  n_trials: %d%s
  split: {scheme: %s, heldout_ratio: 0.1, seed: 42}
output: {path: %q}
`, name, filepath.Join(dir, "train.csv"), algo, qualityCutoff, trials, timeout, scheme, filepath.Join(work, "out", name+".recotem"))
	recipes := filepath.Join(work, "recipes")
	if err := os.MkdirAll(recipes, 0o755); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(recipes, name+".yaml")
	if err := os.WriteFile(recipe, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	r := recotem(t, work, []string{k.signingEnv}, "train", recipe)
	row := qualityRow{split: split, algo: algo, trainWall: time.Since(start).Seconds()}
	if r.code != 0 {
		t.Fatalf("train %s: exit %d\n%s", algo, r.code, r.stderr)
	}
	evs := events(t, r.stderr)
	started, done, trained := findEvent(evs, "search_started"), findEvent(evs, "search_done"), findEvent(evs, "train_done")
	if started == nil || done == nil || trained == nil {
		t.Fatalf("train %s: no search_started/search_done/train_done in\n%s", algo, r.stderr)
	}
	row.trials = int(done["n_completed"].(float64))
	for _, e := range evs {
		if e["event"] == "trial_done" {
			row.run++
			if e["state"] == "PRUNED" {
				row.pruned++
			}
		}
	}
	row.valBest = trained["best_score"].(float64)
	if t0, t1 := eventTime(t, started), eventTime(t, done); !t0.IsZero() && !t1.IsZero() {
		row.searchWall = t1.Sub(t0).Seconds()
	}
	if got := int(trained["n_items"].(float64)); got != s.nItems {
		t.Errorf("train_done n_items %d, want train.csv's %d distinct items", got, s.nItems)
	}
	if got := int(trained["n_users"].(float64)); got != len(s.train) {
		t.Errorf("train_done n_users %d, want train.csv's %d distinct users", got, len(s.train))
	}

	srv := startServe(t, work, []string{k.signingEnv, k.apiEnv}, recipes)
	defer srv.stop(t)
	if !waitFor(t, 30*time.Second, func() bool {
		resp, err := http.Get(srv.base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatalf("serve never reported the recipe healthy:\n%s", srv.stderr)
	}

	users := make([]string, 0, len(s.test))
	for u := range s.test {
		if s.train[u] != nil {
			users = append(users, u)
		}
	}
	slices.Sort(users)
	var sumNDCG, sumRecall float64
	scored, bad := 0, 0
	for _, u := range users {
		test, seen := s.test[u], s.train[u]
		if len(test) == 0 {
			continue
		}
		body, _ := json.Marshal(map[string]any{"user_id": u, "cutoff": qualityCutoff})
		resp := srv.post(t, "/predict/"+name, k.apiPlain, string(body))
		if resp.code != 200 {
			t.Fatalf("/predict user %s: %d %s", u, resp.code, resp.body)
		}
		var out struct {
			Items []struct {
				ItemID string `json:"item_id"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(resp.body), &out); err != nil {
			t.Fatalf("/predict user %s: %v in %s", u, err, resp.body)
		}
		ranked := make([]string, len(out.Items))
		for i, it := range out.Items {
			ranked[i] = it.ItemID
		}
		if want := min(qualityCutoff, s.nItems-len(seen)); len(ranked) != want && bad < 5 {
			bad++
			t.Errorf("user %s got %d items, want %d (cutoff %d, %d candidates)", u, len(ranked), want, qualityCutoff, s.nItems-len(seen))
		}
		for i, it := range ranked {
			if seen[it] && bad < 5 {
				bad++
				t.Errorf("user %s: item %s at rank %d is one of the user's train items", u, it, i)
			}
			if slices.Contains(ranked[:i], it) && bad < 5 {
				bad++
				t.Errorf("user %s: item %s returned twice", u, it)
			}
		}
		ndcg, recall := rankMetrics(ranked, test)
		if !(ndcg >= 0 && ndcg <= 1 && recall >= 0 && recall <= 1) {
			t.Errorf("user %s: nDCG %v recall %v outside [0,1]", u, ndcg, recall)
		}
		sumNDCG += ndcg
		sumRecall += recall
		scored++
	}
	if scored != len(users) || scored == 0 {
		t.Fatalf("scored %d users, want the %d test users found in train.csv", scored, len(users))
	}
	row.users = scored
	row.ndcg, row.recall = sumNDCG/float64(scored), sumRecall/float64(scored)
	if !(row.ndcg >= 0 && row.ndcg <= 1) {
		t.Errorf("mean nDCG@20 %v outside [0,1]", row.ndcg)
	}
	if code := srv.stop(t); code != 0 {
		t.Errorf("serve exit %d after SIGTERM", code)
	}
	return row
}

// eventTime parses an event's timestamp (zero when absent).
func eventTime(t *testing.T, e map[string]any) time.Time {
	s, _ := e["timestamp"].(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Logf("event %v: timestamp %q: %v", e["event"], s, err)
	}
	return ts
}

// loadAvg is the machine's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// qualityTable renders the rows as a markdown table.
func qualityTable(rows []qualityRow, trials int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "quality on split files: n_trials %d, timeout_seconds %d, cutoff %d, %d CPUs\n\n", trials, *qualityTimeout, qualityCutoff, runtime.NumCPU())
	b.WriteString("| split | algorithm | trials completed | run (pruned) | search wall s | train wall s | validation best nDCG@20 | test nDCG@20 | test recall@20 | test users | load 1/5/15 after |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d (%d) | %.1f | %.1f | %.4f | %.4f | %.4f | %d | %s |\n",
			r.split, r.algo, r.trials, r.run, r.pruned, r.searchWall, r.trainWall, r.valBest, r.ndcg, r.recall, r.users, r.load)
	}
	return b.String()
}
