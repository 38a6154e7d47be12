// Package servetest owns the fixtures the serve tests share: a small YAML
// RecipeLoader, popularity models written as real signed artifacts, a log
// buffer that counts events, and an atomic file replace. Only tests import
// it.
package servetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/scoring"
)

// YAMLLoader is a tiny RecipeLoader: name, output.path and item_metadata;
// "::" in a path is a security problem, a reused name a duplicate.
type YAMLLoader struct{}

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

// LoadDir reads every *.yaml child of dir in file-name order.
func (YAMLLoader) LoadDir(dir string) ([]registry.RecipeInfo, []registry.RecipeProblem, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, err
	}
	var infos []registry.RecipeInfo
	var probs []registry.RecipeProblem
	seen := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	sort.Strings(files)
	for _, f := range files {
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
			probs = append(probs, registry.RecipeProblem{File: f, Stem: stem, Err: err})
			continue
		}
		if strings.Contains(r.Output.Path, "::") {
			probs = append(probs, registry.RecipeProblem{File: f, Stem: stem, Err: errors.New("'::' in path"), Security: true})
			continue
		}
		if seen[r.Name] {
			probs = append(probs, registry.RecipeProblem{File: f, Stem: stem, Duplicate: true, Name: r.Name, Err: errors.New("duplicate name")})
			continue
		}
		seen[r.Name] = true
		info := registry.RecipeInfo{Name: r.Name, File: f, OutputPath: r.Output.Path}
		if m := r.ItemMetadata; m != nil {
			info.Metadata = &registry.MetadataSpec{Type: m.Type, Path: m.Path, Fields: m.Fields, OnFieldMissing: m.OnFieldMissing, ItemIDColumn: m.ItemIDColumn}
		}
		infos = append(infos, info)
	}
	return infos, probs, nil
}

// Logs collects log lines; safe for concurrent use.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Logs) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Logs) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// CountEvent counts the JSON log lines of one event.
func (s *Logs) CountEvent(ev string) int {
	return strings.Count(s.String(), `"event":"`+ev+`"`)
}

// Model describes a popularity model: items ranked by popularity, each
// user's seen items masked.
type Model struct {
	Users []string // sorted
	Items []string // sorted
	Pop   []float64
	Seen  map[string][]string
	Extra map[string]any // header fields added or replaced
}

// DefaultModel is three users over six items.
func DefaultModel() Model {
	return Model{
		Users: []string{"u1", "u2", "u3"},
		Items: []string{"i1", "i2", "i3", "i4", "i5", "i6"},
		Pop:   []float64{60, 50, 40, 30, 20, 10},
		Seen:  map[string][]string{"u1": {"i1"}, "u2": {"i2", "i3"}},
	}
}

// Build returns m's header fields and payload.
func (m Model) Build(t testing.TB) (map[string]any, *format.Builder) {
	t.Helper()
	if !sort.StringsAreSorted(m.Users) || !sort.StringsAreSorted(m.Items) {
		t.Fatal("ids must be sorted")
	}
	idx := map[string]int32{}
	for i, it := range m.Items {
		idx[it] = int32(i)
	}
	b := format.NewBuilder()
	b.Strings("user_ids", m.Users)
	b.Strings("item_ids", m.Items)
	ptr := []int64{0}
	var ind []int32
	for _, u := range m.Users {
		var row []int32
		for _, it := range m.Seen[u] {
			row = append(row, idx[it])
		}
		sort.Slice(row, func(i, j int) bool { return row[i] < row[j] })
		ind = append(ind, row...)
		ptr = append(ptr, int64(len(ind)))
	}
	b.CSR("seen", ptr, ind, len(m.Items), nil)
	b.F64("popularity", m.Pop)
	fields := map[string]any{
		"model":           scoring.Header{Kind: scoring.KindPopularity, NUsers: len(m.Users), NItems: len(m.Items)},
		"recipe_name":     "r",
		"trained_at":      "2026-01-02T03:04:05Z",
		"best_class":      "TopPopRecommender",
		"best_params":     map[string]any{},
		"best_score":      0.25,
		"metric":          "ndcg",
		"cutoff":          20,
		"tuning":          map[string]any{"tried_algorithms": []string{"TopPop"}, "n_trials": 1},
		"data_stats":      map[string]any{"n_rows": 3, "n_users": len(m.Users), "n_items": len(m.Items)},
		"recotem_version": "test",
		"irspack_version": "0.5.0",
		"recipe_hash":     strings.Repeat("ab", 32),
	}
	for k, v := range m.Extra {
		fields[k] = v
	}
	return fields, b
}

// WriteAtomic replaces path with data via rename (as train does).
func WriteAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// WriteRecipe writes dir/<file>.yaml for recipe name with output.path out
// (extra YAML appended).
func WriteRecipe(t testing.TB, dir, file, name, out, extra string) {
	t.Helper()
	y := fmt.Sprintf("name: %s\noutput:\n  path: %s\n%s", name, out, extra)
	if err := os.WriteFile(filepath.Join(dir, file+".yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteArtifact writes m as recipe name's artifact at path (versioning as
// in output.versioning) signed with key; it returns the model version.
func WriteArtifact(t testing.TB, path, versioning string, key format.Key, name string, m Model) string {
	t.Helper()
	fields, b := m.Build(t)
	fields["recipe_name"] = name
	res, err := format.WriteArtifact(path, versioning, key, fields, b)
	if err != nil {
		t.Fatal(err)
	}
	return "sha256:" + res.SHA256
}

// Eventually polls cond until it holds or 10 s pass, then fails with what
// and the logs.
func Eventually(t testing.TB, what string, logs *Logs, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, logs.String())
}

// FakeAWS points the AWS SDK at endpoint with throwaway credentials and no
// shared config, retries or instance metadata.
func FakeAWS(t testing.TB, endpoint, ak, sk string) {
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", ak)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sk)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// SilentS3 points the AWS SDK at a loopback listener that accepts
// connections and never answers.
func SilentS3(t testing.TB) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	FakeAWS(t, "http://"+ln.Addr().String(), "AKIDEXAMPLE", "silent")
}
