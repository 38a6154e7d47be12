package registry_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/appliance/internal/servetest"
	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/logx"
)

// rig is a registry over real recipe files and real signed artifacts in a
// temporary directory, without HTTP.
type rig struct {
	t    *testing.T
	dir  string // recipes
	art  string // artifacts
	key  format.Key
	logs *servetest.Logs
	tel  *telemetry.Set
	opt  registry.Options
	reg  *registry.Registry
}

func newRig(t *testing.T) *rig {
	t.Helper()
	root := t.TempDir()
	h := &rig{t: t, dir: filepath.Join(root, "recipes"), art: filepath.Join(root, "artifacts"), logs: &servetest.Logs{}}
	os.MkdirAll(h.dir, 0o755)
	os.MkdirAll(h.art, 0o755)
	h.key = format.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}
	ring, err := format.NewKeyRing(h.key)
	if err != nil {
		t.Fatal(err)
	}
	h.tel = telemetry.New(func() float64 { return 0 })
	h.opt = registry.Options{
		RecipesDir:       h.dir,
		Loader:           servetest.YAMLLoader{},
		Metrics:          h.tel,
		Logger:           logx.New(h.logs, "json", slog.LevelDebug),
		Ring:             ring,
		Residency:        format.Leased,
		WatchInterval:    50 * time.Millisecond,
		ResultCacheBytes: 1 << 20,
	}
	return h
}

func (h *rig) outPath(name string) string { return filepath.Join(h.art, name+".recotem") }

func (h *rig) recipe(file, name, extra string) {
	h.t.Helper()
	servetest.WriteRecipe(h.t, h.dir, file, name, h.outPath(name), extra)
}

// artifact writes m as name's artifact with append_sha; it returns the
// model version.
func (h *rig) artifact(name string, m servetest.Model) string {
	h.t.Helper()
	return servetest.WriteArtifact(h.t, h.outPath(name), "append_sha", h.key, name, m)
}

// open opens the registry under ctx (the test's context when nil).
func (h *rig) open(ctx context.Context) {
	h.t.Helper()
	if ctx == nil {
		ctx = h.t.Context()
	}
	h.reg = registry.Open(ctx, h.opt)
	h.t.Cleanup(h.reg.Close)
}

// watch starts the watcher; the test's end stops it.
func (h *rig) watch() {
	h.reg.StartWatcher(h.t.Context())
	h.t.Cleanup(func() { h.reg.StopWatcher(5 * time.Second) })
}

// start is open and watch with one recipe, movies, serving DefaultModel.
func start(t *testing.T) (*rig, string) {
	h := newRig(t)
	h.recipe("a", "movies", "")
	v := h.artifact("movies", servetest.DefaultModel())
	h.open(nil)
	h.watch()
	return h, v
}

func (h *rig) entry(name string) *registry.Entry { return h.reg.Get([]byte(name)) }

// version is the served model version of name ("" when none).
func (h *rig) version(name string) string {
	e := h.entry(name)
	if e == nil {
		return ""
	}
	l := e.Acquire()
	if l == nil {
		return ""
	}
	defer l.Release()
	return l.Version
}

// lastErr is name's stored error, nil when none.
func (h *rig) lastErr(name string) any {
	if s, ok := h.entry(name).LastError(); ok {
		return s
	}
	return nil
}

// top is the served model's top n for user, as item ids.
func (h *rig) top(name, user string, n int) string {
	l := h.entry(name).Acquire()
	if l == nil {
		return ""
	}
	defer l.Release()
	u, ok := l.Scorer.UserIndex([]byte(user))
	if !ok {
		return "?"
	}
	var ids []string
	for _, hit := range l.Scorer.Recommend(nil, u, n, nil) {
		ids = append(ids, string(l.Scorer.ItemID(int(hit.Item))))
	}
	return strings.Join(ids, ",")
}

func (h *rig) metrics() string {
	var b bytes.Buffer
	h.tel.Metrics().WritePrometheus(&b)
	return b.String()
}

func (h *rig) metric(line string) bool { return strings.Contains(h.metrics(), line) }

func (h *rig) eventually(what string, cond func() bool) {
	h.t.Helper()
	servetest.Eventually(h.t, what, h.logs, cond)
}

// pointerTarget returns the file the pointer of name names.
func (h *rig) pointerTarget(name string) string {
	b, err := os.ReadFile(h.outPath(name))
	if err != nil {
		h.t.Fatal(err)
	}
	return filepath.Join(h.art, strings.TrimSpace(string(b)))
}
