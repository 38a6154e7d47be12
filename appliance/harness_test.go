package appliance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/scoring"
	"go.yaml.in/yaml/v3"
)

// yamlLoader is a tiny RecipeLoader for tests: name, output.path and
// item_metadata; "::" in a path is a security problem.
type yamlLoader struct{}

type testRecipe struct {
	Name   string `yaml:"name"`
	Output struct {
		Path string `yaml:"path"`
	} `yaml:"output"`
	ItemMetadata *struct {
		Type           string   `yaml:"type"`
		Path           string   `yaml:"path"`
		Fields         []string `yaml:"fields"`
		OnFieldMissing string   `yaml:"on_field_missing"`
		ItemIDColumn   string   `yaml:"item_id_column"`
	} `yaml:"item_metadata"`
}

func (yamlLoader) LoadDir(dir string) ([]RecipeInfo, []RecipeProblem, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, err
	}
	var infos []RecipeInfo
	var probs []RecipeProblem
	seen := map[string]bool{}
	for _, f := range recipeFiles(dir) {
		stem := strings.TrimSuffix(filepath.Base(f), ".yaml")
		data, err := os.ReadFile(f)
		var r testRecipe
		if err == nil {
			err = yaml.Unmarshal(data, &r)
		}
		if err == nil && (r.Name == "" || r.Output.Path == "") {
			err = errors.New("name and output.path are required")
		}
		if err != nil {
			probs = append(probs, RecipeProblem{File: f, Stem: stem, Err: err})
			continue
		}
		if strings.Contains(r.Output.Path, "::") {
			probs = append(probs, RecipeProblem{File: f, Stem: stem, Err: errors.New("'::' in path"), Security: true})
			continue
		}
		if seen[r.Name] {
			probs = append(probs, RecipeProblem{File: f, Stem: stem, Duplicate: true, Name: r.Name, Err: errors.New("duplicate name")})
			continue
		}
		seen[r.Name] = true
		info := RecipeInfo{Name: r.Name, File: f, OutputPath: r.Output.Path}
		if m := r.ItemMetadata; m != nil {
			info.Metadata = &MetadataSpec{Type: m.Type, Path: m.Path, Fields: m.Fields, OnFieldMissing: m.OnFieldMissing, ItemIDColumn: m.ItemIDColumn}
		}
		infos = append(infos, info)
	}
	return infos, probs, nil
}

// syncBuf collects log lines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countEvent counts log lines of one event.
func (s *syncBuf) countEvent(ev string) int {
	return strings.Count(s.String(), `"event":"`+ev+`"`)
}

// testModel describes a popularity model: items ranked by popularity,
// each user's seen items masked.
type testModel struct {
	users []string // sorted
	items []string // sorted
	pop   []float64
	seen  map[string][]string
	extra map[string]any
}

func defaultModel() testModel {
	return testModel{
		users: []string{"u1", "u2", "u3"},
		items: []string{"i1", "i2", "i3", "i4", "i5", "i6"},
		pop:   []float64{60, 50, 40, 30, 20, 10},
		seen:  map[string][]string{"u1": {"i1"}, "u2": {"i2", "i3"}},
	}
}

func (m testModel) build(t testing.TB) (map[string]any, *format.Builder) {
	t.Helper()
	if !sort.StringsAreSorted(m.users) || !sort.StringsAreSorted(m.items) {
		t.Fatal("ids must be sorted")
	}
	idx := map[string]int32{}
	for i, it := range m.items {
		idx[it] = int32(i)
	}
	b := format.NewBuilder()
	b.Strings("user_ids", m.users)
	b.Strings("item_ids", m.items)
	ptr := []int64{0}
	var ind []int32
	for _, u := range m.users {
		var row []int32
		for _, it := range m.seen[u] {
			row = append(row, idx[it])
		}
		sort.Slice(row, func(i, j int) bool { return row[i] < row[j] })
		ind = append(ind, row...)
		ptr = append(ptr, int64(len(ind)))
	}
	b.CSR("seen", ptr, ind, len(m.items), nil)
	b.F64("popularity", m.pop)
	fields := map[string]any{
		"model":           scoring.Header{Kind: scoring.KindPopularity, NUsers: len(m.users), NItems: len(m.items)},
		"recipe_name":     "r",
		"trained_at":      "2026-01-02T03:04:05Z",
		"best_class":      "TopPopRecommender",
		"best_params":     map[string]any{},
		"best_score":      0.25,
		"metric":          "ndcg",
		"cutoff":          20,
		"tuning":          map[string]any{"tried_algorithms": []string{"TopPop"}, "n_trials": 1},
		"data_stats":      map[string]any{"n_rows": 3, "n_users": len(m.users), "n_items": len(m.items)},
		"recotem_version": "test",
		"irspack_version": "0.5.0",
		"recipe_hash":     strings.Repeat("ab", 32),
	}
	for k, v := range m.extra {
		fields[k] = v
	}
	return fields, b
}

type harness struct {
	t       *testing.T
	dir     string // recipes
	art     string // artifacts
	key     format.Key
	ring    *format.KeyRing
	plain   string
	base    string
	logs    *syncBuf
	cancel  context.CancelFunc
	done    chan error
	client  *http.Client
	cfg     Config
	started bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	root := t.TempDir()
	h := &harness{t: t, dir: filepath.Join(root, "recipes"), art: filepath.Join(root, "artifacts"), logs: &syncBuf{}}
	os.MkdirAll(h.dir, 0o755)
	os.MkdirAll(h.art, 0o755)
	h.key = format.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}
	ring, err := format.NewKeyRing(h.key)
	if err != nil {
		t.Fatal(err)
	}
	h.ring = ring
	h.plain = apikey.Generate()
	h.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	h.cfg = Config{
		RecipesDir:       h.dir,
		Loader:           yamlLoader{},
		Logger:           logx.New(h.logs, "json", slog.LevelDebug),
		APIKeys:          []apikey.Key{{Kid: "client", Digest: apikey.Digest([]byte(h.plain))}},
		KeyRing:          ring,
		MetricsEnabled:   true,
		watchIntervalRaw: 50 * time.Millisecond,
		DrainSeconds:     5,
		ResultCacheBytes: 1 << 20, // as serve runs by default
	}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) outPath(name string) string { return filepath.Join(h.art, name+".recotem") }

// recipe writes recipes/<file>.yaml for name (extra YAML appended).
func (h *harness) recipe(file, name, extra string) {
	h.t.Helper()
	y := fmt.Sprintf("name: %s\noutput:\n  path: %s\n%s", name, h.outPath(name), extra)
	if err := os.WriteFile(filepath.Join(h.dir, file+".yaml"), []byte(y), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// artifact trains (builds) m for name with append_sha; returns the model version.
func (h *harness) artifact(name string, m testModel) string {
	h.t.Helper()
	return h.artifactKey(name, m, h.key)
}

func (h *harness) artifactKey(name string, m testModel, key format.Key) string {
	h.t.Helper()
	fields, b := m.build(h.t)
	fields["recipe_name"] = name
	res, err := format.WriteArtifact(h.outPath(name), "append_sha", key, fields, b)
	if err != nil {
		h.t.Fatal(err)
	}
	return "sha256:" + res.SHA256
}

// writeArtifactTo writes an always_overwrite artifact at path.
func writeArtifactTo(path string, h *harness, fields map[string]any, b *format.Builder) (format.WriteResult, error) {
	return format.WriteArtifact(path, "always_overwrite", h.key, fields, b)
}

func versionOf(data []byte) string {
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}

func (h *harness) start() {
	h.t.Helper()
	ready := make(chan net.Addr, 1)
	h.cfg.Ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- Run(ctx, h.cfg) }()
	select {
	case a := <-ready:
		h.base = "http://" + a.String()
		h.started = true
	case err := <-h.done:
		h.t.Fatalf("Run returned before ready: %v\n%s", err, h.logs.String())
	case <-time.After(20 * time.Second):
		h.t.Fatal("server not ready")
	}
}

func (h *harness) stop() {
	if h.cancel != nil && h.started {
		h.cancel()
		select {
		case err := <-h.done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			h.t.Error("Run did not return")
		}
		h.started = false
	}
}

type resp struct {
	code int
	hdr  http.Header
	body string
}

// do sends a request; hdr pairs name, value. "key" as a header name means
// the harness's valid API key.
func (h *harness) do(method, path, body string, hdr ...string) resp {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, hdr: res.Header, body: string(b)}
}

// raw sends bytes over a fresh TCP connection (for header values net/http
// would trim) and returns the status code.
func (h *harness) raw(req string) int { return h.rawResp(req).code }

func (h *harness) rawResp(req string) resp {
	h.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		h.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, hdr: res.Header, body: string(b)}
}

func (h *harness) auth() []string { return []string{"X-API-Key", h.plain} }

func (h *harness) post(path, body string) resp {
	h.t.Helper()
	return h.do("POST", path, body, h.auth()...)
}

func (h *harness) get(path string) resp {
	h.t.Helper()
	return h.do("GET", path, "", h.auth()...)
}

// eventually polls cond until it holds or 10 s pass.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, h.logs.String())
}
