package main

// Black-box acceptance tests of the real binary for the CLI/train/inspect/
// validate/schema/serve-config items of the behaviour spec's checklist
// (recotem-behavior.md §10). docs/acceptance.md maps each item to a test here.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/scrypt"
	_ "modernc.org/sqlite"

	"github.com/recotem/recotem/internal/testenv"
)

// accEnv is one test's sandbox: a temp dir, a two-kid signing ring (k1
// first) and the environment every train run gets.
type accEnv struct {
	dir        string
	k1, k2     []byte // signing secrets
	ringEnv    string // RECOTEM_SIGNING_KEYS=k1:..,k2:..
	env        []string
	quickstart string
}

// signingKey runs keygen and returns the secret of kid.
func signingKey(t *testing.T, kid string) []byte {
	t.Helper()
	r := recotem(t, t.TempDir(), nil, "keygen", "--kid", kid)
	if r.code != 0 {
		t.Fatalf("keygen: %d %s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`(?m)plaintext=([0-9a-f]{64})$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("keygen output: %q", r.stdout)
	}
	b, _ := hex.DecodeString(m[1])
	return b
}

func newAcc(t *testing.T) *accEnv {
	t.Helper()
	a := &accEnv{dir: t.TempDir(), k1: signingKey(t, "k1"), k2: signingKey(t, "k2")}
	a.ringEnv = "RECOTEM_SIGNING_KEYS=k1:" + hex.EncodeToString(a.k1) + ",k2:" + hex.EncodeToString(a.k2)
	a.env = []string{a.ringEnv, "RECOTEM_LOCK_DIR=" + filepath.Join(a.dir, "locks")}
	a.quickstart = filepath.Join(repoRoot(t), "examples", "quickstart", "interactions.csv")
	_, err := os.Stat(a.quickstart)
	testenv.Require(t, testenv.Quickstart, err == nil, "bundled quickstart data missing: %v", err)
	return a
}

// rcp is a recipe with defaults for every part left empty.
type rcp struct {
	name, source, schema, training, output, extra string
}

func (a *accEnv) write(t *testing.T, r rcp) string {
	t.Helper()
	if r.name == "" {
		r.name = "acc"
	}
	if r.source == "" {
		r.source = fmt.Sprintf("{type: csv, path: %q}", a.quickstart)
	}
	if r.schema == "" {
		r.schema = "{user_column: user_id, item_column: item_id, time_column: timestamp, time_unit: s}"
	}
	if r.training == "" {
		r.training = "{algorithms: [TopPop], n_trials: 2, cutoff: 10}"
	}
	if r.output == "" {
		r.output = fmt.Sprintf("{path: %q}", a.out(r.name))
	}
	y := fmt.Sprintf("name: %q\nsource: %s\nschema: %s\ntraining: %s\noutput: %s\n%s", r.name, r.source, r.schema, r.training, r.output, r.extra)
	f, err := os.CreateTemp(a.dir, "recipe-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(y)
	f.Close()
	return f.Name()
}

func (a *accEnv) out(name string) string { return filepath.Join(a.dir, "out", name+".recotem") }

func (a *accEnv) train(t *testing.T, env []string, args ...string) runResult {
	t.Helper()
	return recotem(t, a.dir, append(append([]string{}, a.env...), env...), append([]string{"train"}, args...)...)
}

func eventNames(evs []map[string]any) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprint(e["event"]))
	}
	return out
}

func countEvents(evs []map[string]any, name string) int {
	n := 0
	for _, e := range evs {
		if e["event"] == name {
			n++
		}
	}
	return n
}

// container is an independent format-1 reader (§4).
type container struct {
	version, reserved uint16
	kid               string
	mac               []byte
	header            []byte
	payload           []byte
}

func readContainer(b []byte) (container, error) {
	var c container
	if len(b) < 13 || string(b[:8]) != "RECOTEM\x00" {
		return c, fmt.Errorf("bad magic")
	}
	c.version = binary.LittleEndian.Uint16(b[8:])
	c.reserved = binary.LittleEndian.Uint16(b[10:])
	k := int(b[12])
	if len(b) < 49+k {
		return c, fmt.Errorf("truncated")
	}
	c.kid = string(b[13 : 13+k])
	c.mac = b[13+k : 45+k]
	n := int(binary.LittleEndian.Uint32(b[45+k:]))
	if len(b) < 49+k+n {
		return c, fmt.Errorf("truncated header")
	}
	c.header = b[49+k : 49+k+n]
	c.payload = b[49+k+n:]
	return c, nil
}

func (c container) verify(key []byte) bool {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(c.kid))
	m.Write(c.header)
	m.Write(c.payload)
	return hmac.Equal(m.Sum(nil), c.mac)
}

// writeContainer is an independent format-1 writer (an "upstream" artifact).
func writeContainer(kid string, key, header, payload []byte, version uint16, headerLen int) []byte {
	var b bytes.Buffer
	b.WriteString("RECOTEM\x00")
	binary.Write(&b, binary.LittleEndian, version)
	binary.Write(&b, binary.LittleEndian, uint16(0))
	b.WriteByte(byte(len(kid)))
	b.WriteString(kid)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kid))
	m.Write(header)
	m.Write(payload)
	b.Write(m.Sum(nil))
	binary.Write(&b, binary.LittleEndian, uint32(headerLen))
	b.Write(header)
	b.Write(payload)
	return b.Bytes()
}

// Items 1, 34: usage exit codes and the schema.
func TestAccCLIAndSchema(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		out  bool // stdout non-empty
	}{
		{[]string{"--help"}, 0, true},
		{nil, 2, false},
		{[]string{"--bogus"}, 2, false},
		{[]string{"keygen", "--bogus"}, 2, false},
		{[]string{"validate"}, 2, false},
		{[]string{"validate", "does-not-exist.yaml"}, 2, false},
		{[]string{"inspect", "--help"}, 0, true},
		{[]string{"serve"}, 2, false},
		{[]string{"serve", "--recipes", "no-such-dir"}, 2, false},
		{[]string{"schema", "extra-arg"}, 2, false},
	} {
		r := recotem(t, dir, nil, tc.args...)
		if r.code != tc.code || (r.stdout != "") != tc.out {
			t.Errorf("recotem %q: exit %d stdout %d bytes; want exit %d stdout %v; stderr %s", tc.args, r.code, len(r.stdout), tc.code, tc.out, r.stderr)
		}
	}
	r := recotem(t, dir, nil, "schema")
	if r.code != 0 {
		t.Fatalf("schema: %d %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "{\n  \"") {
		t.Errorf("schema not 2-space indented: %.40q", r.stdout)
	}
	var s struct {
		Properties struct {
			Source struct {
				OneOf []struct {
					Properties struct {
						Type struct {
							Enum  []string `json:"enum"`
							Const string   `json:"const"`
						} `json:"type"`
					} `json:"properties"`
				} `json:"oneOf"`
			} `json:"source"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	var types []string
	for _, v := range s.Properties.Source.OneOf {
		types = append(types, v.Properties.Type.Enum...)
		if v.Properties.Type.Const != "" {
			types = append(types, v.Properties.Type.Const)
		}
	}
	if strings.Join(types, ",") != "csv,parquet,bigquery,sql" {
		t.Errorf("source variants %v, want csv,parquet,bigquery,sql", types)
	}
}

// Items 2, 3, 4: keygen output shapes, fingerprints and the scrypt digest.
func TestAccKeygen(t *testing.T) {
	dir := t.TempDir()
	line := func(out, name string) string {
		m := regexp.MustCompile(`(?m)^\s*` + name + `=(\S*)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s= in %q", name, out)
		}
		return m[1]
	}
	r := recotem(t, dir, nil, "keygen")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 4 {
		t.Fatalf("keygen: %d %q", r.code, r.stdout)
	}
	kid, plain := line(r.stdout, "kid"), line(r.stdout, "plaintext")
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(kid) || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(plain) {
		t.Errorf("default kid %q / plaintext %q", kid, plain)
	}
	key, _ := hex.DecodeString(plain)
	sum := sha256.Sum256(key)
	if fp := line(r.stdout, "fingerprint"); fp != hex.EncodeToString(sum[:])[:8] {
		t.Errorf("fingerprint %q, want %x", fp, sum[:4])
	}
	if e := line(r.stdout, "env_entry"); e != "RECOTEM_SIGNING_KEYS="+kid+":"+plain {
		t.Errorf("env_entry %q", e)
	}
	if r2 := recotem(t, dir, nil, "keygen"); line(r2.stdout, "plaintext") == plain {
		t.Error("two keygen runs printed the same key")
	}

	r = recotem(t, dir, nil, "keygen", "--type", "api", "--kid", "svc_1")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 4 {
		t.Fatalf("keygen api: %d %q", r.code, r.stdout)
	}
	plain = line(r.stdout, "plaintext")
	if line(r.stdout, "kid") != "svc_1" || !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(plain) {
		t.Errorf("api kid/plaintext: %q", r.stdout)
	}
	dk, err := scrypt.Key([]byte(plain), []byte("recotem.api-key.v1"), 2, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	if h := line(r.stdout, "hash"); h != "sha256:"+hex.EncodeToString(dk) {
		t.Errorf("hash %q, want scrypt digest %x", h, dk)
	}
	if e := line(r.stdout, "env_entry"); e != "RECOTEM_API_KEYS=svc_1:sha256:"+hex.EncodeToString(dk) {
		t.Errorf("api env_entry %q", e)
	}
	// The spec's vector holds for the digest this test compares against.
	dk, _ = scrypt.Key([]byte("recotem-quickstart-demo-key-0000"), []byte("recotem.api-key.v1"), 2, 8, 1, 32)
	if hex.EncodeToString(dk) != "21be5c3be85b8d68123df9f9b6a26d8e307db30350ea8bcc844883e22ebcf125" {
		t.Errorf("scrypt vector: %x", dk)
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"keygen", "--type", "x"}, 8},
		{[]string{"keygen", "--kid", "a,b"}, 8},
		{[]string{"keygen", "--kid", "a:b"}, 8},
		{[]string{"keygen", "--kid", strings.Repeat("k", 33)}, 8},
		{[]string{"keygen", "--kid", strings.Repeat("k", 32)}, 0},
	} {
		if r := recotem(t, dir, nil, tc.args...); r.code != tc.code {
			t.Errorf("%q: exit %d, want %d (%s)", tc.args, r.code, tc.code, r.stderr)
		}
	}
}

// Items 6, 8, 9, 22 (local lock): append_sha training, the pointer, an
// independent reader, the event order and train_done's fields.
func TestAccTrainAppendSha(t *testing.T) {
	a := newAcc(t)
	r := a.train(t, nil, a.write(t, rcp{}))
	if r.code != 0 {
		t.Fatalf("train: %d\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("train stdout %q", r.stdout)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("stderr line is not JSON: %q", l)
		}
	}
	for _, k := range [][]byte{a.k1, a.k2} {
		if strings.Contains(r.stderr, hex.EncodeToString(k)) {
			t.Error("train log holds a signing key")
		}
	}
	evs := events(t, r.stderr)
	order := []string{"training_started", "fetching_data", "csv_source_fetch_start", "csv_source_fetch_done", "data_fetched", "data_cleansed",
		"splitting_data", "split_done", "search_started", "trial_done", "tuning_complete", "search_done",
		"training_final_model", "final_model_trained", "artifact_written", "train_done"}
	var got []string
	for _, n := range eventNames(evs) {
		for _, o := range order {
			if n == o && (len(got) == 0 || got[len(got)-1] != n) {
				got = append(got, n)
			}
		}
	}
	if strings.Join(got, " ") != strings.Join(order, " ") {
		t.Errorf("event order\n got %v\nwant %v", got, order)
	}
	for _, e := range evs {
		// §5.1 events carry recipe and run_id; recipe_loaded (§3.1) precedes the run id.
		if e["event"] != "train_done" && e["event"] != "recipe_loaded" && (e["recipe"] != "acc" || e["run_id"] == nil) {
			t.Errorf("event %v lacks recipe/run_id", e["event"])
		}
		for _, f := range []string{"level", "timestamp", "logger"} {
			if _, ok := e[f]; !ok {
				t.Errorf("event %v lacks %s", e["event"], f)
			}
		}
	}
	done := findEvent(evs, "train_done")
	want := []string{"name", "run_id", "exit_code", "artifact", "best_class", "best_score", "trials", "n_orphaned", "trained_at", "kid", "recipe_hash", "n_rows", "n_users", "n_items"}
	for _, f := range want {
		if _, ok := done[f]; !ok {
			t.Errorf("train_done lacks %s", f)
		}
	}
	if done["kid"] != "k1" || done["exit_code"] != 0.0 {
		t.Errorf("train_done kid %v exit_code %v", done["kid"], done["exit_code"])
	}

	ptr, err := os.ReadFile(a.out("acc"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^acc\.([0-9a-f]{8})\.recotem\n$`).FindSubmatch(ptr)
	if m == nil {
		t.Fatalf("pointer %q", ptr)
	}
	art := filepath.Join(filepath.Dir(a.out("acc")), strings.TrimSpace(string(ptr)))
	b, err := os.ReadFile(art)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:])[:8] != string(m[1]) {
		t.Errorf("sha8 %s is not sha256 of the file (%x)", m[1], sum[:4])
	}
	if w := findEvent(evs, "artifact_written"); w["artifact"] != art || w["pointer"] != a.out("acc") || w["versioning"] != "append_sha" {
		t.Errorf("artifact_written %v", w)
	}
	c, err := readContainer(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.version != 1 || c.reserved != 0 || c.kid != "k1" || !c.verify(a.k1) || c.verify(a.k2) {
		t.Errorf("container v%d r%d kid %q verifies with k1: %v", c.version, c.reserved, c.kid, c.verify(a.k1))
	}
	var hdr map[string]any
	if err := json.Unmarshal(c.header, &hdr); err != nil {
		t.Fatalf("header JSON: %v", err)
	}
	if bytes.Contains(c.header, []byte(": ")) || bytes.Contains(c.header, []byte("\n")) {
		t.Error("header JSON not compact")
	}
	for _, f := range []string{"recipe_name", "recipe_hash", "recotem_version", "irspack_version", "trained_at", "best_class",
		"best_params", "best_score", "metric", "cutoff", "tuning", "data_stats", "payload", "algorithms", "config_digest"} {
		if _, ok := hdr[f]; !ok {
			t.Errorf("header lacks %s", f)
		}
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(fmt.Sprint(hdr["trained_at"])) {
		t.Errorf("trained_at %v", hdr["trained_at"])
	}
	if hdr["config_digest"] != "sha256:"+fmt.Sprint(hdr["recipe_hash"]) {
		t.Errorf("config_digest %v vs recipe_hash %v", hdr["config_digest"], hdr["recipe_hash"])
	}
	for _, f := range []string{"tried_algorithms", "n_trials", "n_completed", "n_orphaned", "best_trial_number", "search_seed"} {
		if _, ok := hdr["tuning"].(map[string]any)[f]; !ok {
			t.Errorf("tuning lacks %s", f)
		}
	}
	for _, f := range []string{"n_rows", "n_users", "n_items", "drop_count", "dedup_policy"} {
		if _, ok := hdr["data_stats"].(map[string]any)[f]; !ok {
			t.Errorf("data_stats lacks %s", f)
		}
	}
	// Item 22: the lock file persists next to the output.
	if _, err := os.Stat(a.out("acc") + ".lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}

	// Item 35: inspect via the pointer and directly.
	for _, p := range []string{a.out("acc"), art} {
		r := recotem(t, a.dir, []string{a.ringEnv}, "inspect", p)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "HMAC: OK  (kid='k1')\n{\n  \"") {
			t.Fatalf("inspect %s: %d %q %s", p, r.code, r.stdout, r.stderr)
		}
		var h2 map[string]any
		if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[1]), &h2); err != nil || h2["recipe_hash"] != hdr["recipe_hash"] {
			t.Errorf("inspect header: %v %v", err, h2["recipe_hash"])
		}
	}
	r = recotem(t, a.dir, nil, "inspect", art)
	if r.code != 8 || !strings.Contains(r.stderr, "k1") {
		t.Errorf("inspect without keys: %d %s", r.code, r.stderr)
	}

	// A retrain with identical data writes the same recipe_hash.
	r = a.train(t, nil, "-q", a.write(t, rcp{}))
	if r.code != 0 || countEvents(events(t, r.stderr), "trial_done") != 0 {
		t.Errorf("train -q: %d, %d trial_done", r.code, countEvents(events(t, r.stderr), "trial_done"))
	}
}

// Item 7: always_overwrite writes only output.path.
func TestAccTrainAlwaysOverwrite(t *testing.T) {
	a := newAcc(t)
	out := a.out("ow")
	r := a.train(t, nil, a.write(t, rcp{name: "ow", output: fmt.Sprintf("{path: %q, versioning: always_overwrite}", out)}))
	if r.code != 0 {
		t.Fatalf("train: %d %s", r.code, r.stderr)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "ow.recotem,ow.recotem.lock" {
		t.Errorf("output dir holds %v", names)
	}
	b, _ := os.ReadFile(out)
	if c, err := readContainer(b); err != nil || !c.verify(a.k1) {
		t.Errorf("overwrite artifact does not verify: %v", err)
	}
}

// Items 10–13, 15–17, 19, 27, 30 (bad storage URL), 32: failures before or
// during training, each with its exit code and train_error code.
func TestAccTrainFailures(t *testing.T) {
	a := newAcc(t)
	big := filepath.Join(a.dir, "big.csv")
	{
		f, _ := os.Create(big)
		f.WriteString("user_id,item_id,timestamp\n")
		for i := 0; f != nil && i < 60000; i++ {
			fmt.Fprintf(f, "u%d,i%d,%d\n", i%500, i%300, 1577836800+i)
		}
		f.Close()
	}
	wide := filepath.Join(a.dir, "wide.csv") // 6000 items: DenseSLIM's items² matrix alone is 144 MB
	{
		f, _ := os.Create(wide)
		f.WriteString("user_id,item_id,timestamp\n")
		for i := 0; f != nil && i < 18000; i++ {
			fmt.Fprintf(f, "u%d,i%d,%d\n", i%300, i%6000, 1577836800+i)
		}
		f.Close()
	}
	numTime := filepath.Join(a.dir, "numtime.csv")
	os.WriteFile(numTime, []byte("user_id,item_id,timestamp\nu1,i1,100\nu2,i2,200\nu1,i2,300\n"), 0o644)
	root := filepath.Join(a.dir, "root")
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	os.Symlink(a.dir, filepath.Join(root, "escape"))
	long := strings.Repeat("n", 65)
	src := func(p string) string { return fmt.Sprintf("{type: csv, path: %q}", p) }
	sha := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name      string
		r         rcp
		env, args []string
		code      int
		errCode   string // train_error code ("" = no check)
		msg       string // stderr substring
		notMsg    string // stderr must not contain
	}{
		{name: "no keys", env: []string{"RECOTEM_SIGNING_KEYS="}, code: 8, errCode: "signing_key_missing"},
		{name: "malformed ring", env: []string{"RECOTEM_SIGNING_KEYS=k1:zz"}, code: 8},
		{name: "duplicate kid", env: []string{"RECOTEM_SIGNING_KEYS=k1:" + sha + ",k1:" + sha}, code: 8},
		{name: "min_rows", r: rcp{extra: "cleansing: {min_rows: 1000000}\n"}, code: 4, errCode: "min_data_violation"},
		{name: "numeric time without unit", r: rcp{source: src(numTime), schema: "{user_column: user_id, item_column: item_id, time_column: timestamp}"}, code: 4, errCode: "time_unit_required"},
		{name: "time_user without time_column", r: rcp{schema: "{user_column: user_id, item_column: item_id}", training: "{algorithms: [TopPop], n_trials: 2, split: {scheme: time_user}}"}, code: 2, errCode: "recipe_error"},
		{name: "unknown key", r: rcp{extra: "bogus: 1\n"}, code: 2, errCode: "recipe_error", msg: "bogus"},
		{name: "unknown nested key", r: rcp{training: "{algorithms: [TopPop], n_trials: 2, frobs: 3}"}, code: 2, msg: "training.frobs"},
		{name: "bad name", r: rcp{name: "bad name!"}, code: 2},
		{name: "65-char name", r: rcp{name: long}, code: 2},
		{name: "partition key var", r: rcp{source: src("/x/${RECOTEM_RECIPE_PARTITION_KEY}.csv")}, env: []string{"RECOTEM_RECIPE_PARTITION_KEY=zzsecretzz"}, code: 2, msg: "RECOTEM_RECIPE_PARTITION_KEY", notMsg: "zzsecretzz"},
		{name: "HOME var", r: rcp{source: src("${HOME}/x.csv")}, code: 2, msg: "HOME", notMsg: os.Getenv("HOME") + "/"},
		{name: "unset var", r: rcp{source: src("${RECOTEM_RECIPE_NOPE}")}, code: 2, msg: "RECOTEM_RECIPE_NOPE"},
		{name: "no default syntax", r: rcp{source: src("${RECOTEM_RECIPE_X:-/tmp/x.csv}")}, env: []string{"RECOTEM_RECIPE_X=" + a.quickstart}, code: 2, notMsg: a.quickstart},
		{name: "env-var blacklisted name", args: []string{"--env-var", "RECOTEM_RECIPE_API_TOKEN=x"}, code: 2},
		{name: "missing keys beat recipe errors", r: rcp{extra: "bogus: 1\n"}, env: []string{"RECOTEM_SIGNING_KEYS="}, code: 8, errCode: "signing_key_missing"},
		{name: "lock-timeout checked before the recipe", r: rcp{extra: "bogus: 1\n"}, args: []string{"--lock-timeout", "-3"}, code: 8},
		{name: "env-var without =", args: []string{"--env-var", "NOEQ"}, code: 2},
		{name: "env-var not RECOTEM_RECIPE_", args: []string{"--env-var", "HOME=/x"}, code: 2},
		{name: "run id with space", args: []string{"--run-id", "a b"}, code: 2},
		{name: "run id 65 chars", args: []string{"--run-id", long}, code: 2},
		{name: "https source without sha256", r: rcp{source: src("https://example.com/x.csv")}, code: 2},
		{name: "ftp source", r: rcp{source: src("ftp://example.com/x.csv")}, code: 2},
		{name: "double colon", r: rcp{source: src("a::b")}, code: 2},
		{name: "https output", r: rcp{output: `{path: "https://example.com/x.recotem"}`}, code: 2},
		{name: "s3 userinfo output", r: rcp{output: `{path: "s3://k:s@b/x.recotem"}`}, code: 2, notMsg: "k:s@"},
		{name: "file host output", r: rcp{output: `{path: "file://evil/x.recotem"}`}, code: 2},
		{name: "artifact root outside", env: []string{"RECOTEM_ARTIFACT_ROOT=" + root}, code: 2},
		{name: "artifact root escaping symlink", r: rcp{output: fmt.Sprintf("{path: %q}", filepath.Join(root, "escape", "x.recotem"))}, env: []string{"RECOTEM_ARTIFACT_ROOT=" + root}, code: 2},
		{name: "artifact root missing parent", r: rcp{output: fmt.Sprintf("{path: %q}", filepath.Join(root, "nope", "x.recotem"))}, env: []string{"RECOTEM_ARTIFACT_ROOT=" + root}, code: 2},
		{name: "lock-timeout -2", args: []string{"--lock-timeout", "-2"}, code: 8},
		{name: "dev flag without companion", args: []string{"--dev-allow-unsigned"}, env: []string{"RECOTEM_ENV=development"}, code: 8},
		{name: "dev flag under production", args: []string{"--dev-allow-unsigned", "--i-understand-this-loads-arbitrary-code"}, env: []string{"RECOTEM_ENV=production"}, code: 8},
		{name: "missing local source", r: rcp{source: src(filepath.Join(a.dir, "absent.csv"))}, code: 3, errCode: "datasource_error"},
		{name: "local source over cap", r: rcp{source: src(big)}, env: []string{"RECOTEM_MAX_DOWNLOAD_BYTES=1048576"}, code: 3, errCode: "datasource_error", msg: "RECOTEM_MAX_DOWNLOAD_BYTES"},
		{name: "storage URL with password", r: rcp{training: "{algorithms: [TopPop], n_trials: 2, storage_path: \"postgresql://u:p@h/db\"}"}, code: 4, errCode: "search_error", notMsg: "u:p@"},
		{name: "bad per_algorithm_trials key", r: rcp{training: "{algorithms: [TopPop], n_trials: 2, per_algorithm_trials: {IALS: 1}}"}, code: 2},
		{name: "unknown algorithm", r: rcp{training: "{algorithms: [Frob], n_trials: 2}"}, code: 2},
		{name: "algorithm over the memory limit", r: rcp{source: src(wide), training: "{algorithms: [TopPop, DenseSLIM], n_trials: 2}"}, env: []string{"RECOTEM_TRAIN_MEMORY_LIMIT=160MiB"}, code: 4, errCode: "insufficient_memory", msg: "Training failed: DenseSLIMRecommender needs up to", notMsg: "TopPopRecommender needs"},
		{name: "memory limit not a size", env: []string{"RECOTEM_TRAIN_MEMORY_LIMIT=lots"}, code: 8, msg: "RECOTEM_TRAIN_MEMORY_LIMIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), a.write(t, tc.r))
			r := a.train(t, tc.env, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
			if tc.msg != "" && !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr lacks %q:\n%s", tc.msg, r.stderr)
			}
			if tc.notMsg != "" && strings.Contains(r.stderr, tc.notMsg) {
				t.Errorf("stderr leaks %q:\n%s", tc.notMsg, r.stderr)
			}
			evs := events(t, r.stderr)
			if tc.errCode != "" {
				if n := countEvents(evs, "train_error"); n != 1 {
					t.Fatalf("%d train_error events:\n%s", n, r.stderr)
				}
				e := findEvent(evs, "train_error")
				if e["code"] != tc.errCode || e["exit_code"] != float64(tc.code) {
					t.Errorf("train_error %v, want code %s", e, tc.errCode)
				}
				if tc.errCode == "min_data_violation" && (e["n_rows"] == nil || e["min_rows"] == nil) {
					t.Errorf("min_data_violation lacks n_rows/min_rows: %v", e)
				}
			}
			// Exactly one plain (non-JSON) line on failure.
			plain := 0
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if !strings.HasPrefix(l, "{") {
					plain++
				}
			}
			if plain != 1 {
				t.Errorf("%d plain stderr lines:\n%s", plain, r.stderr)
			}
		})
	}
}

// Items 13, 14, 16, 18, 32: the accepted spellings train.
func TestAccTrainAccepted(t *testing.T) {
	a := newAcc(t)
	root := filepath.Join(a.dir, "root")
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	for _, tc := range []struct {
		name      string
		r         rcp
		env, args []string
	}{
		{name: "name _ok-1", r: rcp{name: "_ok-1"}},
		{name: "64-char name", r: rcp{name: strings.Repeat("n", 64)}},
		{name: "64-char run id", args: []string{"--run-id", strings.Repeat("r", 64)}},
		{name: "env-var expands source.path", r: rcp{source: `{type: csv, path: "${RECOTEM_RECIPE_X}"}`}, args: []string{"--env-var", "RECOTEM_RECIPE_X=" + a.quickstart}},
		{name: "env-var beats environment", r: rcp{source: `{type: csv, path: "${RECOTEM_RECIPE_X}"}`}, env: []string{"RECOTEM_RECIPE_X=/nonexistent.csv"}, args: []string{"--env-var", "RECOTEM_RECIPE_X=" + a.quickstart}},
		{name: "environment expands", r: rcp{source: `{type: csv, path: "${recotem_recipe_x}"}`}, env: []string{"RECOTEM_RECIPE_X=" + a.quickstart}},
		{name: "aliases", r: rcp{training: "{algorithms: [ials, CosinekNN], n_trials: \"2\", cutoff: \"10\"}"}},
		{name: "Recommender suffix", r: rcp{training: "{algorithms: [IALSRecommender], n_trials: 1}"}},
		{name: "inside artifact root", r: rcp{output: fmt.Sprintf("{path: %q}", filepath.Join(root, "sub", "x.recotem"))}, env: []string{"RECOTEM_ARTIFACT_ROOT=" + root}},
		{name: "gs userinfo output passes policy", r: rcp{output: `{path: "gs://p@b/x.recotem"}`, source: fmt.Sprintf("{type: csv, path: %q}", filepath.Join(a.dir, "absent.csv"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), a.write(t, tc.r))
			r := a.train(t, tc.env, args...)
			want := 0
			if strings.HasPrefix(tc.name, "gs userinfo") {
				want = 3 // passes the path policy and the lock; fails at the (absent) source
			}
			if r.code != want {
				t.Fatalf("exit %d, want %d\n%s", r.code, want, r.stderr)
			}
		})
	}
}

// Items 20, 21, 22: the per-recipe lock.
func TestAccLock(t *testing.T) {
	a := newAcc(t)
	recipe := a.write(t, rcp{name: "locked"})
	lockPath := a.out("locked") + ".lock"
	os.MkdirAll(filepath.Dir(lockPath), 0o755)
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// flock locks belong to the open file description: the child's own open
	// of the same path contends with this one.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	r := a.train(t, nil, recipe)
	evs := events(t, r.stderr)
	if r.code != 0 || findEvent(evs, "recipe_lock_contended_skipping") == nil || findEvent(evs, "train_error") != nil || findEvent(evs, "training_started") != nil {
		t.Errorf("held lock: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(a.out("locked")); err == nil {
		t.Error("skipped run wrote an artifact")
	}
	r = a.train(t, nil, "--fail-on-busy", recipe)
	if r.code != 6 || findEvent(events(t, r.stderr), "train_error")["code"] != "lock_contested" {
		t.Errorf("--fail-on-busy: exit %d\n%s", r.code, r.stderr)
	}
	start := time.Now()
	r = a.train(t, nil, "--lock-timeout", "1", recipe)
	took := time.Since(start)
	e := findEvent(events(t, r.stderr), "recipe_lock_timeout")
	if r.code != 6 || e == nil || e["lock_path"] != lockPath || took < time.Second || took > 10*time.Second {
		t.Errorf("--lock-timeout 1: exit %d after %v, event %v\n%s", r.code, took, e, r.stderr)
	}
	if e != nil {
		if w, _ := e["waited_seconds"].(float64); w < 1 || w > 5 {
			t.Errorf("waited_seconds %v", e["waited_seconds"])
		}
	}
	r = a.train(t, nil, "--no-lock", recipe)
	if r.code != 0 {
		t.Errorf("--no-lock: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(a.out("locked")); err != nil {
		t.Errorf("--no-lock run wrote no artifact: %v", err)
	}

	// Lock released → a later run proceeds; the lock file stays.
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if r := a.train(t, nil, "--fail-on-busy", recipe); r.code != 0 {
		t.Errorf("after unlock: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(lockPath); err != nil {
		t.Errorf("lock file gone: %v", err)
	}

	// Symlink at the lock path → exit 1 + recipe_lock_unsafe_symlink.
	sym := a.write(t, rcp{name: "sym"})
	os.Symlink(filepath.Join(a.dir, "target"), a.out("sym")+".lock")
	r = a.train(t, nil, sym)
	if r.code != 1 || findEvent(events(t, r.stderr), "recipe_lock_unsafe_symlink") == nil {
		t.Errorf("symlink lock: exit %d\n%s", r.code, r.stderr)
	}

	// Remote output: the lock lives under RECOTEM_LOCK_DIR, named by the
	// sha256 of output.path, with recipe_lock_local_only.
	remote := "s3://bucket/acc/remote.recotem"
	rr := a.write(t, rcp{name: "remote", output: fmt.Sprintf("{path: %q}", remote), source: fmt.Sprintf("{type: csv, path: %q}", filepath.Join(a.dir, "absent.csv"))})
	r = a.train(t, nil, rr)
	sum := sha256.Sum256([]byte(remote))
	want := filepath.Join(a.dir, "locks", hex.EncodeToString(sum[:])+".lock")
	ev := findEvent(events(t, r.stderr), "recipe_lock_local_only")
	// The 64-hex file name logs redacted (§9).
	if r.code != 3 || ev == nil || ev["lock_path"] != filepath.Join(a.dir, "locks", "[REDACTED-HEX64].lock") || ev["scheme"] != "s3" {
		t.Errorf("remote output: exit %d event %v\n%s", r.code, ev, r.stderr)
	}
	if st, err := os.Stat(want); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("remote lock file: %v", err)
	}
}

// csvServer serves the quickstart CSV over plain HTTP on loopback with the
// redirect shapes of §5.4.
func csvServer(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/data.csv", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n <= 0 {
			http.Redirect(w, r, "/data.csv", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "file:///etc/passwd")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/to-https", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://"+r.Host+"/data.csv")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/no-location", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("u1,i1,1577836800\n"), 4096)
		w.Write([]byte("user_id,item_id,timestamp\n"))
		for i := 0; i < 40; i++ { // ≈2.7 MiB
			w.Write(chunk)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// Items 23–26: the HTTP source (address guard, sha pin, cap, redirects).
func TestAccHTTPSource(t *testing.T) {
	a := newAcc(t)
	body, err := os.ReadFile(a.quickstart)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	good := hex.EncodeToString(sum[:])
	srv := csvServer(t, body)
	allow := []string{"RECOTEM_HTTP_ALLOW_PRIVATE=1", "RECOTEM_HTTP_TIMEOUT_SECONDS=5"}
	httpSrc := func(u, sha string) rcp {
		return rcp{source: fmt.Sprintf("{type: csv, path: %q, sha256: %q}", u, sha)}
	}
	for _, tc := range []struct {
		name      string
		r         rcp
		env       []string
		code      int
		event     string
		nRedirect int
	}{
		{name: "10.0.0.1", r: httpSrc("https://10.0.0.1/x.csv", good), code: 7},
		{name: "127.0.0.1", r: httpSrc(srv.URL+"/data.csv", good), code: 7},
		{name: "169.254.169.254", r: httpSrc("http://169.254.169.254/latest/x.csv", good), code: 7},
		{name: "::1", r: httpSrc("https://[::1]/x.csv", good), code: 7},
		{name: "100.64.0.1", r: httpSrc("https://100.64.0.1/x.csv", good), code: 7},
		{name: "::ffff:127.0.0.1", r: httpSrc("https://[::ffff:127.0.0.1]/x.csv", good), code: 7},
		{name: "localhost name", r: httpSrc("http://localhost:1/x.csv", good), code: 7},
		{name: "allowed private", r: httpSrc(srv.URL+"/data.csv", good), env: allow, code: 0},
		{name: "wrong sha256", r: httpSrc(srv.URL+"/data.csv", strings.Repeat("ab", 32)), env: allow, code: 7},
		{name: "4 redirects", r: httpSrc(srv.URL+"/hop/3", good), env: allow, code: 0, nRedirect: 4},
		{name: "5 redirects", r: httpSrc(srv.URL+"/hop/4", good), env: allow, code: 7},
		{name: "file target", r: httpSrc(srv.URL+"/to-file", good), env: allow, code: 7},
		{name: "http to https", r: httpSrc(srv.URL+"/to-https", good), env: allow, code: 7},
		{name: "loop", r: httpSrc(srv.URL+"/loop", good), env: allow, code: 7},
		{name: "no location", r: httpSrc(srv.URL+"/no-location", good), env: allow, code: 7},
		{name: "404", r: httpSrc(srv.URL+"/missing.csv", good), env: allow, code: 7},
		{name: "over download cap", r: httpSrc(srv.URL+"/big", good), env: append([]string{"RECOTEM_MAX_DOWNLOAD_BYTES=1048576"}, allow...), code: 7, event: "csv_source_size_exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.train(t, tc.env, a.write(t, tc.r))
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			evs := events(t, r.stderr)
			if tc.event != "" {
				e := findEvent(evs, tc.event)
				if e == nil || e["cap"] != 1048576.0 {
					t.Errorf("%s: %v\n%s", tc.event, e, r.stderr)
				}
			}
			if n := countEvents(evs, "csv_source_redirect"); n != tc.nRedirect && tc.code == 0 {
				t.Errorf("%d csv_source_redirect events, want %d", n, tc.nRedirect)
			}
			for _, e := range evs {
				if e["event"] == "csv_source_redirect" && (e["from"] == nil || e["to"] == nil || e["path"] == nil || e["status"] == nil) {
					t.Errorf("csv_source_redirect lacks path/from/to/status: %v", e)
				}
			}
			if tc.code == 7 {
				if e := findEvent(evs, "train_error"); e["code"] != "datasource_error" {
					t.Errorf("train_error %v", e)
				}
			}
		})
	}
}

// sqliteDB writes the quickstart CSV into a table t of a new SQLite file.
func sqliteDB(t *testing.T, a *accEnv) string {
	t.Helper()
	p := filepath.Join(a.dir, "inter.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := os.Open(a.quickstart)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := db.Begin()
	tx.Exec(`CREATE TABLE t (user_id TEXT, item_id TEXT, timestamp INTEGER)`)
	for _, r := range rows[1:] {
		ts, _ := strconv.Atoi(r[2])
		if _, err := tx.Exec(`INSERT INTO t VALUES (?,?,?)`, r[0], r[1], ts); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Items 14 (query stays literal), 28, 29, 83 (DSN password): SQL sources.
func TestAccSQLSource(t *testing.T) {
	a := newAcc(t)
	db := sqliteDB(t, a)
	sqlSrc := func(query string) rcp {
		return rcp{source: fmt.Sprintf("{type: sql, dsn_env: RECOTEM_RECIPE_DSN, query: %q}", query)}
	}
	dsn := "RECOTEM_RECIPE_DSN=sqlite:///" + db
	// A closed loopback port: nothing listens there.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pg := fmt.Sprintf("RECOTEM_RECIPE_DSN=postgresql://acc:hunter2pw@127.0.0.1:%d/db?sslmode=require&connect_timeout=1", closed)
	for _, tc := range []struct {
		name string
		r    rcp
		env  []string
		code int
		msg  string
	}{
		{name: "sqlite trains", r: sqlSrc("SELECT user_id, item_id, timestamp FROM t"), env: []string{dsn}, code: 0},
		{name: "${} in query stays literal", r: sqlSrc("SELECT user_id, item_id, timestamp FROM t WHERE '${RECOTEM_RECIPE_NOPE}' <> ''"), env: []string{dsn}, code: 0},
		{name: "unset dsn var", r: sqlSrc("SELECT user_id, item_id, timestamp FROM t"), code: 3},
		{name: "empty dsn var", r: sqlSrc("SELECT user_id, item_id, timestamp FROM t"), env: []string{"RECOTEM_RECIPE_DSN="}, code: 3},
		{name: "postgres at loopback refused", r: sqlSrc("SELECT 1"), env: []string{pg}, code: 7},
		{name: "postgres at loopback allowed", r: sqlSrc("SELECT 1"), env: []string{pg, "RECOTEM_SQL_ALLOW_PRIVATE=1"}, code: 3},
		{name: "row cap", r: sqlSrc("SELECT user_id, item_id, timestamp FROM t"), env: []string{dsn, "RECOTEM_MAX_SQL_ROWS=1000"}, code: 3, msg: "RECOTEM_MAX_SQL_ROWS=1000"},
		{name: "write statement", r: sqlSrc("DELETE FROM t RETURNING user_id, item_id, timestamp"), env: []string{dsn}, code: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.train(t, tc.env, a.write(t, tc.r))
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if tc.msg != "" && !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr lacks %q:\n%s", tc.msg, r.stderr)
			}
			if strings.Contains(r.stderr, "hunter2pw") || strings.Contains(r.stderr, "sqlite:///") {
				t.Errorf("stderr leaks the DSN:\n%s", r.stderr)
			}
		})
	}
	// The write statement did not delete anything.
	d, _ := sql.Open("sqlite", db)
	defer d.Close()
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2000 {
		t.Errorf("table t has %d rows after the write attempt (%v), want 2000", n, err)
	}
}

// Items 30, 31: the study store and trial budgets.
func TestAccStudyBudgets(t *testing.T) {
	a := newAcc(t)
	perAlgo := func(evs []map[string]any) map[string]int {
		m := map[string]int{}
		for _, e := range evs {
			if e["event"] == "trial_done" {
				m[strings.TrimSuffix(fmt.Sprint(e["algorithm"]), "Recommender")]++
			}
		}
		return m
	}
	for _, tc := range []struct {
		training string
		want     map[string]int
	}{
		{"{algorithms: [IALS, TopPop], n_trials: 40, per_algorithm_trials: {IALS: 10, TopPop: 5}}", map[string]int{"IALS": 10, "TopPop": 30}},
		{"{algorithms: [IALS, TopPop], n_trials: 40, per_algorithm_trials: {IALS: 0}}", map[string]int{"TopPop": 40}},
		{"{algorithms: [IALS, CosineKNN, TopPop], n_trials: 2, per_algorithm_trials: {IALS: 5, CosineKNN: 5, TopPop: 5}}", map[string]int{"IALS": 1, "CosineKNN": 1}},
		{"{algorithms: [TopPop, IALS, CosineKNN], n_trials: 7}", map[string]int{"TopPop": 3, "IALS": 2, "CosineKNN": 2}},
		{"{algorithms: [IALS, CosineKNN, TopPop], n_trials: 40}", map[string]int{"IALS": 14, "CosineKNN": 13, "TopPop": 13}},
		{"{algorithms: [IALS, CosineKNN, TopPop], n_trials: 40, per_algorithm_trials: {IALS: 24, CosineKNN: 12, TopPop: 4}}", map[string]int{"IALS": 24, "CosineKNN": 12, "TopPop": 4}},
		{"{algorithms: [IALS, TopPop], n_trials: 40, per_algorithm_trials: {IALS: 30, TopPop: 30}}", map[string]int{"IALS": 20, "TopPop": 20}},
		{"{algorithms: [IALS, CosineKNN, TopPop], n_trials: 40, per_algorithm_trials: {IALS: 10}}", map[string]int{"IALS": 10, "CosineKNN": 15, "TopPop": 15}},
	} {
		r := a.train(t, nil, a.write(t, rcp{training: tc.training}))
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", tc.training, r.code, r.stderr)
		}
		if got := perAlgo(events(t, r.stderr)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: trials %v, want %v", tc.training, got, tc.want)
		}
	}

	// A bare storage_path is a SQLite file; the same run id resumes and
	// completed trials count against the budget.
	store := filepath.Join(a.dir, "study.db")
	recipe := a.write(t, rcp{training: fmt.Sprintf("{algorithms: [TopPop], n_trials: 3, storage_path: %q}", store)})
	r := a.train(t, nil, "--run-id", "resume1", recipe)
	if r.code != 0 || countEvents(events(t, r.stderr), "trial_done") != 3 {
		t.Fatalf("first run: exit %d, %d trials\n%s", r.code, countEvents(events(t, r.stderr), "trial_done"), r.stderr)
	}
	if b, err := os.ReadFile(store); err != nil || !bytes.HasPrefix(b, []byte("SQLite format 3\x00")) {
		t.Errorf("storage_path is not a SQLite file: %v", err)
	}
	r = a.train(t, nil, "--run-id", "resume1", recipe)
	if n := countEvents(events(t, r.stderr), "trial_done"); n != 0 || r.code != 0 {
		t.Errorf("resumed run ran %d more trials over a spent budget (exit %d)\n%s", n, r.code, r.stderr)
	}
	r = a.train(t, nil, "--run-id", "other", recipe)
	if r.code != 0 || countEvents(events(t, r.stderr), "trial_done") != 3 {
		t.Errorf("new run id: exit %d, %d trials", r.code, countEvents(events(t, r.stderr), "trial_done"))
	}
}

// Item 33: validate.
func TestAccValidate(t *testing.T) {
	a := newAcc(t)
	good := a.write(t, rcp{})
	r := recotem(t, a.dir, nil, "validate", good)
	if r.code != 0 || r.stdout != "Recipe 'acc': schema OK\nDataSource: probe OK (csv)\nValidation passed.\n" {
		t.Errorf("validate: %d %q %s", r.code, r.stdout, r.stderr)
	}
	db := sqliteDB(t, a)
	sqlRcp := rcp{source: "{type: sql, dsn_env: RECOTEM_RECIPE_DSN, query: \"SELECT user_id, item_id, timestamp FROM t\"}"}
	for _, tc := range []struct {
		name string
		r    rcp
		env  []string
		code int
	}{
		{"missing local source", rcp{source: fmt.Sprintf("{type: csv, path: %q}", filepath.Join(a.dir, "absent.csv"))}, nil, 3},
		{"unknown key", rcp{extra: "bogus: 1\n"}, nil, 2},
		{"guard-refused https", rcp{source: fmt.Sprintf("{type: csv, path: \"https://127.0.0.1/x.csv\", sha256: %q}", strings.Repeat("0", 64))}, nil, 7},
		{"guard-refused postgres", sqlRcp, []string{"RECOTEM_RECIPE_DSN=postgresql://u:pw@127.0.0.1:5432/db"}, 7},
		{"sqlite probe", sqlRcp, []string{"RECOTEM_RECIPE_DSN=sqlite:///" + db}, 0},
		{"unset dsn", sqlRcp, nil, 3},
		{"unset env var", rcp{source: `{type: csv, path: "${RECOTEM_RECIPE_NOPE}"}`}, nil, 2},
	} {
		r := recotem(t, a.dir, tc.env, "validate", a.write(t, tc.r))
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.code, r.stderr)
		}
		if tc.code == 0 && !strings.HasSuffix(r.stdout, "DataSource: probe OK (sql)\nValidation passed.\n") {
			t.Errorf("%s: stdout %q", tc.name, r.stdout)
		}
		if strings.Contains(r.stderr, ":pw@") {
			t.Errorf("%s: DSN leaked: %s", tc.name, r.stderr)
		}
	}

	// A directory is loaded strictly: a duplicate name → 2.
	vdir := filepath.Join(a.dir, "vdir")
	os.MkdirAll(vdir, 0o755)
	body, _ := os.ReadFile(good)
	os.WriteFile(filepath.Join(vdir, "a.yaml"), body, 0o644)
	if r := recotem(t, a.dir, nil, "validate", vdir); r.code != 0 || strings.Count(r.stdout, "schema OK") != 1 {
		t.Errorf("validate dir: %d %q %s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(filepath.Join(vdir, "b.yaml"), body, 0o644)
	if r := recotem(t, a.dir, nil, "validate", vdir); r.code != 2 {
		t.Errorf("validate dir with a duplicate name: %d %q %s", r.code, r.stdout, r.stderr)
	}
}

// Items 35–38: inspect.
func TestAccInspect(t *testing.T) {
	a := newAcc(t)
	if r := a.train(t, nil, a.write(t, rcp{name: "ins"})); r.code != 0 {
		t.Fatalf("train: %d %s", r.code, r.stderr)
	}
	ptr, _ := os.ReadFile(a.out("ins"))
	art := filepath.Join(filepath.Dir(a.out("ins")), strings.TrimSpace(string(ptr)))
	good, _ := os.ReadFile(art)
	put := func(name string, b []byte) string {
		p := filepath.Join(a.dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2 := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(v2[8:], 2)
	hdr := []byte(`{"recipe_name":"up"}`)
	bigHeader := writeContainer("k1", a.k1, bytes.Repeat([]byte(" "), 65537), nil, 1, 65537)
	bigPayload := writeContainer("k1", a.k1, hdr, make([]byte, 2<<20), 1, len(hdr))
	wrongKey := "RECOTEM_SIGNING_KEYS=k1:" + hex.EncodeToString(a.k2)
	onlyK2 := "RECOTEM_SIGNING_KEYS=k2:" + hex.EncodeToString(a.k2)
	for _, tc := range []struct {
		name, path string
		env        []string
		code       int
		msg        string
	}{
		{"zero bytes", put("zero.recotem", nil), nil, 5, "magic bytes mismatch"},
		{"version 2", put("v2.recotem", v2), nil, 5, "unsupported format version"},
		{"wrong key", art, []string{wrongKey}, 5, "signature mismatch"},
		{"absent kid", art, []string{onlyK2}, 5, "unknown kid: k1"},
		{"header 65537", put("bighdr.recotem", bigHeader), nil, 5, "header JSON too large"},
		{"payload over cap", put("bigpay.recotem", bigPayload), []string{"RECOTEM_MAX_PAYLOAD_BYTES=1048576"}, 5, "payload exceeds max bytes"},
		{"artifact over cap", put("bigart.recotem", bigPayload), []string{"RECOTEM_MAX_ARTIFACT_BYTES=1048576", "RECOTEM_MAX_PAYLOAD_BYTES=1048576"}, 5, "payload exceeds max bytes"},
		{"missing file", filepath.Join(a.dir, "nope.recotem"), nil, 5, "artifact not found"},
		{"dangling pointer", put("dangling.recotem", []byte("gone.12345678.recotem\n")), nil, 5, "gone.12345678.recotem"},
		{"header not an object", put("arr.recotem", writeContainer("k1", a.k1, []byte(`[1]`), nil, 1, 3)), nil, 5, "header JSON decode failed"},
		{"payload cap over artifact cap", art, []string{"RECOTEM_MAX_ARTIFACT_BYTES=1048576", "RECOTEM_MAX_PAYLOAD_BYTES=2097152"}, 8, ""},
		{"dev flag outside development", art, []string{"RECOTEM_ENV=production", "--dev"}, 8, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{a.ringEnv}
			args := []string{"inspect", tc.path}
			for _, e := range tc.env {
				if e == "--dev" {
					args = append(args, "--dev-allow-unsigned")
					continue
				}
				env = append(env, e)
			}
			r := recotem(t, a.dir, env, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr lacks %q?\n%s", r.code, tc.code, r.stdout, tc.msg, r.stderr)
			}
		})
	}

	// Item 38: an artifact from an independent ("upstream") writer — no Go
	// payload table, an opaque payload — verifies with the same key.
	up := put("upstream.recotem", writeContainer("k1", a.k1, []byte(`{"recipe_name":"up","best_class":"IALSRecommender"}`), []byte("\x80\x04opaque pickle"), 1, 51))
	r := recotem(t, a.dir, []string{a.ringEnv}, "inspect", up)
	if r.code != 0 || r.stdout != "HMAC: OK  (kid='k1')\n{\n  \"best_class\": \"IALSRecommender\",\n  \"recipe_name\": \"up\"\n}\n" &&
		r.stdout != "HMAC: OK  (kid='k1')\n{\n  \"recipe_name\": \"up\",\n  \"best_class\": \"IALSRecommender\"\n}\n" {
		t.Errorf("upstream artifact: %d %q %s", r.code, r.stdout, r.stderr)
	}

	// Item 36: dev-signed artifact, inspected with the dev flag in development.
	dev := []string{"RECOTEM_ENV=development", "RECOTEM_LOCK_DIR=" + filepath.Join(a.dir, "locks")}
	rp := a.write(t, rcp{name: "devsigned"})
	r = recotem(t, a.dir, dev, "train", "--dev-allow-unsigned", "--i-understand-this-loads-arbitrary-code", rp)
	if r.code != 0 || findEvent(events(t, r.stderr), "train_done")["kid"] != "dev" {
		t.Fatalf("dev train: %d %s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(a.out("devsigned")), strings.TrimSpace(string(must(os.ReadFile(a.out("devsigned")))))))
	if c, err := readContainer(b); err != nil || c.kid != "dev" || !c.verify(make([]byte, 32)) {
		t.Errorf("dev artifact not signed with the zero key: %v", err)
	}
	r = recotem(t, a.dir, dev, "inspect", "--dev-allow-unsigned", a.out("devsigned"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "HMAC: OK  (kid='dev')\n") {
		t.Errorf("inspect dev: %d %q %s", r.code, r.stdout, r.stderr)
	}
	// Keys set + dev flag: verified with the ring, dev_allow_unsigned_ignored.
	r = recotem(t, a.dir, append(dev, a.ringEnv), "inspect", "--dev-allow-unsigned", art)
	if r.code != 0 || findEvent(events(t, r.stderr), "dev_allow_unsigned_ignored") == nil {
		t.Errorf("inspect dev with keys: %d %s", r.code, r.stderr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Items 39–43: serve configuration errors and the security posture.
func TestAccServeConfig(t *testing.T) {
	a := newAcc(t)
	recipes := filepath.Join(a.dir, "recipes")
	os.MkdirAll(recipes, 0o755)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		name  string
		env   []string
		args  []string
		code  int
		event string
	}{
		{"payload cap over artifact cap", []string{a.ringEnv, "RECOTEM_MAX_ARTIFACT_BYTES=1048576", "RECOTEM_MAX_PAYLOAD_BYTES=2097152"}, nil, 8, ""},
		{"no signing keys", nil, nil, 8, "security.posture"},
		{"malformed signing keys", []string{"RECOTEM_SIGNING_KEYS=k1:00"}, nil, 8, ""},
		{"port 70000", []string{a.ringEnv, "RECOTEM_PORT=70000"}, nil, 8, ""},
		{"port abc", []string{a.ringEnv, "RECOTEM_PORT=abc"}, nil, 8, ""},
		{"busy port", []string{a.ringEnv}, []string{"--port", busyPort}, 8, "serve_bind_failed"},
		{"watch interval abc", []string{a.ringEnv, "RECOTEM_WATCH_INTERVAL=abc"}, nil, 8, ""},
		{"log format bad", []string{a.ringEnv, "RECOTEM_LOG_FORMAT=xml"}, nil, 8, ""},
		{"bad api keys", []string{a.ringEnv, "RECOTEM_API_KEYS=c:sha256:zz"}, nil, 8, ""},
		{"insecure under production", []string{a.ringEnv, "RECOTEM_ENV=production"}, []string{"--insecure-no-auth"}, 8, "security.posture"},
		{"dev unsigned under dev", []string{a.ringEnv, "RECOTEM_ENV=dev"}, []string{"--dev-allow-unsigned", "--i-understand-this-loads-arbitrary-code"}, 8, ""},
		{"dev unsigned without companion", []string{a.ringEnv, "RECOTEM_ENV=development"}, []string{"--dev-allow-unsigned"}, 8, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--recipes", recipes}, tc.args...)
			r := recotem(t, a.dir, tc.env, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "Configuration error: ") {
				t.Errorf("no Configuration error line:\n%s", r.stderr)
			}
			evs := events(t, r.stderr)
			if tc.event != "" && findEvent(evs, tc.event) == nil {
				t.Errorf("no %s event:\n%s", tc.event, r.stderr)
			}
			if e := findEvent(evs, "serve_bind_failed"); tc.event == "serve_bind_failed" && (e["port"] != float64(busy.Addr().(*net.TCPAddr).Port) || e["host"] != "127.0.0.1" || e["error"] == nil || e["errno"] == nil) {
				t.Errorf("serve_bind_failed fields: %v", e)
			}
			if tc.name == "no signing keys" && findEvent(evs, "security.posture")["signing_key_status"] != "missing" {
				t.Errorf("posture: %v", findEvent(evs, "security.posture"))
			}
		})
	}

	// Items 5, 41, 42, 43, 83: a served model with keygen pairs.
	if r := a.train(t, nil, a.write(t, rcp{name: "srv"})); r.code != 0 {
		t.Fatalf("train: %d %s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(recipes, "srv.yaml"), []byte(fmt.Sprintf("name: srv\nsource: {type: csv, path: %q}\nschema: {user_column: user_id, item_column: item_id}\ntraining: {algorithms: [TopPop]}\noutput: {path: %q}\n", a.quickstart, a.out("srv"))), 0o644)
	k := genKeys(t)
	apiDigest := strings.TrimPrefix(k.apiEnv, "RECOTEM_API_KEYS=client:sha256:")

	// No API keys + RECOTEM_HOST=0.0.0.0 → forced to loopback.
	s := startServeArgs(t, a.dir, []string{a.ringEnv, "RECOTEM_HOST=0.0.0.0"}, "--recipes", recipes, "--port", "0")
	ok := waitFor(t, 10*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return strings.Contains(s.stderr.String(), "host_forced_to_loopback")
	})
	s.stop(t)
	evs := events(t, s.stderr.String())
	if !ok || findEvent(evs, "host_forced_to_loopback")["requested_host"] != "0.0.0.0" || findEvent(evs, "serve_listening")["host"] != "127.0.0.1" {
		t.Errorf("host forcing:\n%s", s.stderr)
	}
	p := findEvent(evs, "security.posture")
	sum1, sum2 := sha256.Sum256(a.k1), sha256.Sum256(a.k2)
	wantKeys := fmt.Sprintf("[map[fingerprint:%x kid:k1] map[fingerprint:%x kid:k2]]", sum1[:4], sum2[:4])
	if fmt.Sprint(p["signing_keys"]) != wantKeys || p["auth_enabled"] != false || p["signing_key_status"] != "configured" {
		t.Errorf("posture %v, want signing_keys %s", p, wantKeys)
	}

	// Keys + --insecure-no-auth under dev: requests pass without a key.
	s = startServeArgs(t, a.dir, []string{a.ringEnv, k.apiEnv, "RECOTEM_ENV=dev"}, "--recipes", recipes, "--port", "0")
	resp := s.post(t, "/v1/recipes/srv:recommend", "", `{"user_id":"u75"}`)
	s.stop(t)
	if resp.code != 401 {
		t.Errorf("no key without --insecure-no-auth: %d", resp.code)
	}
	s = startServeArgs(t, a.dir, []string{a.ringEnv, k.apiEnv, "RECOTEM_ENV=dev"}, "--recipes", recipes, "--port", "0", "--insecure-no-auth")
	resp = s.post(t, "/v1/recipes/srv:recommend", "", `{"user_id":"u75"}`)
	s.stop(t)
	if resp.code != 200 {
		t.Errorf("--insecure-no-auth under dev: %d %s", resp.code, resp.body)
	}

	// Item 5: the keygen pair authenticates; item 41: auth_enabled true.
	s = startServeArgs(t, a.dir, []string{a.ringEnv, k.apiEnv}, "--recipes", recipes, "--port", "0")
	ok1 := s.post(t, "/v1/recipes/srv:recommend", k.apiPlain, `{"user_id":"u75"}`)
	bad := s.post(t, "/v1/recipes/srv:recommend", k.apiPlain[:42]+"x", `{"user_id":"u75"}`)
	s.stop(t)
	if ok1.code != 200 || bad.code != 401 {
		t.Errorf("keygen api pair: %d %s / wrong key %d", ok1.code, ok1.body, bad.code)
	}
	logs := s.stderr.String()
	if findEvent(events(t, logs), "security.posture")["auth_enabled"] != true {
		t.Errorf("auth_enabled not true")
	}
	// Item 83: no secret in the logs of a train+serve run.
	for _, secret := range []string{hex.EncodeToString(a.k1), hex.EncodeToString(a.k2), k.apiPlain, apiDigest} {
		if strings.Contains(logs, secret) {
			t.Errorf("serve log leaks a secret %.8s…", secret)
		}
	}
}

// startServeArgs is startServe with arbitrary serve flags.
func startServeArgs(t *testing.T, dir string, env []string, args ...string) *served {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, stderr: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	portc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil && e["event"] == "serve_listening" {
				portc <- fmt.Sprint(e["port"])
			}
		}
	}()
	// done closes only after the scanner has taken every line: after stop,
	// s.stderr is complete and safe to read.
	go func() { cmd.Wait(); pw.Close(); <-scanned; close(s.done) }()
	select {
	case p := <-portc:
		s.base = "http://127.0.0.1:" + p
	case <-s.done:
		t.Fatalf("serve exited before listening:\n%s", s.stderr)
	case <-time.After(30 * time.Second):
		s.stop(t)
		t.Fatalf("serve did not report serve_listening:\n%s", s.stderr)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// Item 84: bench against a served model; non-loopback without --allow-remote → 8.
func TestAccBench(t *testing.T) {
	if testing.Short() {
		t.Skip("bench run takes a few seconds")
	}
	a := newAcc(t)
	recipes := filepath.Join(a.dir, "recipes")
	os.MkdirAll(recipes, 0o755)
	if r := a.train(t, nil, a.write(t, rcp{name: "b"})); r.code != 0 {
		t.Fatalf("train: %d %s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(recipes, "b.yaml"), []byte(fmt.Sprintf("name: b\nsource: {type: csv, path: %q}\nschema: {user_column: user_id, item_column: item_id}\ntraining: {algorithms: [TopPop]}\noutput: {path: %q}\n", a.quickstart, a.out("b"))), 0o644)
	s := startServeArgs(t, a.dir, []string{a.ringEnv}, "--recipes", recipes, "--port", "0")
	defer s.stop(t)
	r := recotem(t, a.dir, []string{a.ringEnv}, "bench", "--url", s.base, "--recipe", "b", "--endpoint", "recommend", "--duration", "2s", "--connections", "2", "--json", "--artifact", a.out("b"))
	if r.code != 0 {
		t.Fatalf("bench: %d %s", r.code, r.stderr)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("bench --json: %v %q", err, r.stdout)
	}
	for _, f := range []string{"throughput", "p50_ms", "p99_ms", "p999_ms", "errors"} {
		if _, ok := out[f].(float64); !ok {
			t.Errorf("bench json lacks numeric %s: %v", f, out)
		}
	}
	if tp, _ := out["throughput"].(float64); tp <= 0 {
		t.Errorf("throughput %v", out["throughput"])
	}
	r = recotem(t, a.dir, nil, "bench", "--url", "http://192.0.2.1:8080", "--recipe", "b", "--duration", "1s", "--json")
	if r.code != 8 {
		t.Errorf("non-loopback bench: exit %d %s", r.code, r.stderr)
	}
}

// Items 24 (local pin), 27, 9 (log fallbacks), §3.1 parse errors: local
// source details.
func TestAccLocalSource(t *testing.T) {
	a := newAcc(t)
	body, _ := os.ReadFile(a.quickstart)
	sum := sha256.Sum256(body)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	gzPath := filepath.Join(a.dir, "inter.csv.gz")
	os.WriteFile(gzPath, gz.Bytes(), 0o644)
	empty := filepath.Join(a.dir, "empty.csv")
	os.WriteFile(empty, nil, 0o644)
	noCol := filepath.Join(a.dir, "nocol.csv")
	os.WriteFile(noCol, []byte("user,item_id,timestamp\nu1,i1,1\n"), 0o644)
	src := func(p, sha string) rcp {
		if sha == "" {
			return rcp{source: fmt.Sprintf("{type: csv, path: %q}", p)}
		}
		return rcp{source: fmt.Sprintf("{type: csv, path: %q, sha256: %q}", p, sha)}
	}
	for _, tc := range []struct {
		name  string
		r     rcp
		env   []string
		code  int
		event string
		msg   string
	}{
		{name: "right local sha256", r: src(a.quickstart, hex.EncodeToString(sum[:])), code: 0},
		{name: "wrong local sha256", r: src(a.quickstart, strings.Repeat("cd", 32)), code: 7, msg: "sha256 mismatch"},
		{name: "gzip by suffix", r: src(gzPath, ""), code: 0},
		{name: "file URI", r: src("file://"+a.quickstart, ""), code: 0},
		{name: "empty csv", r: src(empty, ""), code: 3},
		{name: "missing column", r: src(noCol, ""), code: 3, msg: "user_id"},
		{name: "bad log format falls back", r: src(a.quickstart, ""), env: []string{"RECOTEM_LOG_FORMAT=xml"}, code: 0},
		{name: "unparseable download cap", r: src(a.quickstart, ""), env: []string{"RECOTEM_MAX_DOWNLOAD_BYTES=lots"}, code: 0, event: "env_var_unparseable"},
		{name: "clamped download cap", r: src(a.quickstart, ""), env: []string{"RECOTEM_MAX_DOWNLOAD_BYTES=5"}, code: 0, event: "env_var_clamped"},
		{name: "string spellings", r: rcp{training: `{algorithms: [TopPop], n_trials: "2", cutoff: "5"}`, extra: "cleansing: {drop_null_ids: \"true\", min_rows: \"10\"}\n"}, code: 0},
		{name: "YAML syntax error", r: rcp{extra: "oops: a: b\n"}, code: 2, msg: ".yaml:6: YAML parse failed"},
		{name: "top level not a mapping", r: rcp{extra: "- x\n"}, code: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.train(t, tc.env, a.write(t, tc.r))
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if tc.msg != "" && !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr lacks %q:\n%s", tc.msg, r.stderr)
			}
			evs := events(t, r.stderr)
			if tc.event != "" && (findEvent(evs, tc.event) == nil || findEvent(evs, tc.event)["name"] != "RECOTEM_MAX_DOWNLOAD_BYTES") {
				t.Errorf("no %s for RECOTEM_MAX_DOWNLOAD_BYTES:\n%s", tc.event, r.stderr)
			}
			if tc.code == 0 && findEvent(evs, "train_done") == nil {
				t.Errorf("no train_done:\n%s", r.stderr)
			}
		})
	}
}
