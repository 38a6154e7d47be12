package registry_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recotem/recotem/appliance/internal/servetest"
	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/format"
)

// TestOpenStartupVariants: Open registers every recipe and a stub per
// broken, duplicate or refused file, loads what it can and stores each
// failure's canonical text, reason metric and event.
func TestOpenStartupVariants(t *testing.T) {
	h := newRig(t)
	h.recipe("a", "good", "")
	h.recipe("b", "unknownkid", "")
	h.recipe("c", "wrongkey", "")
	h.recipe("d", "missing", "")
	h.recipe("e", "good", "") // duplicate name
	os.WriteFile(filepath.Join(h.dir, "f.yaml"), []byte("name: sec\noutput:\n  path: a::b\n"), 0o644)
	os.WriteFile(filepath.Join(h.dir, "g.yaml"), []byte(": : :"), 0o644)
	h.recipe("h", "badmagic", "")
	h.recipe("i", "meta", "item_metadata:\n  type: csv\n  path: "+filepath.Join(h.art, "absent.csv")+"\n  fields: [title]\n")
	h.artifact("good", servetest.DefaultModel())
	h.artifact("meta", servetest.DefaultModel())
	servetest.WriteArtifact(t, h.outPath("unknownkid"), "append_sha", format.Key{ID: "other", Secret: bytes.Repeat([]byte{1}, 32)}, "unknownkid", servetest.DefaultModel())
	servetest.WriteArtifact(t, h.outPath("wrongkey"), "append_sha", format.Key{ID: "k1", Secret: bytes.Repeat([]byte{2}, 32)}, "wrongkey", servetest.DefaultModel())
	v := servetest.WriteArtifact(t, h.outPath("badmagic"), "always_overwrite", h.key, "badmagic", servetest.DefaultModel())
	if v == "" {
		t.Fatal("no version")
	}
	b, _ := os.ReadFile(h.outPath("badmagic"))
	copy(b, "XXXXXXXX")
	os.WriteFile(h.outPath("badmagic"), b, 0o644)
	h.open(nil)

	want := map[string]string{
		"unknownkid": "unknown kid: other",
		"wrongkey":   "signature mismatch",
		"missing":    "artifact not found",
		"badmagic":   "magic bytes mismatch",
	}
	for name, msg := range want {
		if e := h.entry(name); e.Loaded() || h.lastErr(name) != msg {
			t.Errorf("%s: loaded %v, error %v", name, e.Loaded(), h.lastErr(name))
		}
	}
	if s, _ := h.lastErr("meta").(string); h.entry("meta").Loaded() || !strings.Contains(s, "metadata") {
		t.Errorf("meta: %v", h.lastErr("meta"))
	}
	if e := h.entry("good"); !e.Loaded() || h.lastErr("good") != nil || e.Name() != "good" {
		t.Fatalf("good: %v", h.lastErr("good"))
	}
	for _, stub := range []string{"e", "f", "g"} {
		if e := h.entry(stub); e == nil || e.Loaded() {
			t.Errorf("stub %s", stub)
		}
	}
	if s, _ := h.lastErr("g").(string); !strings.HasPrefix(s, "YAML parse failed: ") {
		t.Errorf("g: %v", h.lastErr("g"))
	}
	if total, loaded, healthy := h.reg.Health(); total != 9 || loaded != 1 || healthy != 1 || h.reg.Active() != 1 {
		t.Errorf("health %d %d %d", total, loaded, healthy)
	}
	var names []string
	for _, e := range h.reg.Snapshot() {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "badmagic,e,f,g,good,meta,missing,unknownkid,wrongkey" {
		t.Errorf("snapshot %v", names)
	}
	for _, ev := range []string{"initial_artifact_hmac_failed", "initial_artifact_read_failed", "initial_artifact_parse_failed",
		"initial_artifact_metadata_failed", "recipe_not_loaded_at_startup", "recipe_duplicate_name_skipped",
		"recipe_security_violation_skipped", "recipe_load_error_skipped", "recipes_directory_loaded_lenient", "recipe_loaded"} {
		if h.logs.CountEvent(ev) == 0 {
			t.Errorf("no %s", ev)
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"succeeded":1`) || !strings.Contains(logs, `"failed":8`) {
		t.Errorf("startup_artifact_load_complete counts:\n%s", logs)
	}
	for _, m := range []string{
		`recotem_artifact_load_failures_total{recipe="wrongkey",reason="hmac"} 1`,
		`recotem_artifact_load_failures_total{recipe="missing",reason="read"} 1`,
		`recotem_artifact_load_failures_total{recipe="badmagic",reason="parse"} 1`,
		`recotem_artifact_load_failures_total{recipe="meta",reason="metadata"} 1`,
		`recotem_metadata_index_build_errors_total{recipe="meta"} 1`,
		`recotem_model_loaded{recipe="good"} 1`,
		`recotem_model_loaded{recipe="missing"} 0`,
		`recotem_artifact_residency{recipe="good",residency="leased"} 1`,
	} {
		if !h.metric(m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

// TestSwapRetiresAfterLastRelease: a new artifact is swapped in while a
// holder keeps answering from the old model; the old one is unmapped only
// when released.
func TestSwapRetiresAfterLastRelease(t *testing.T) {
	h, v1 := start(t)
	old := h.entry("movies").Acquire()
	if old == nil || old.Version != v1 || old.TrainedAt != "2026-01-02T03:04:05Z" || old.BestClass != "TopPopRecommender" || old.Kid != "k1" {
		t.Fatalf("model %+v", old)
	}
	if !bytes.Contains(old.LegacyJSON, []byte(`"recipe":"movies"`)) || !bytes.Contains(old.V1Prefix, []byte(v1)) || old.HasMeta() {
		t.Fatalf("fragments %s %s", old.LegacyJSON, old.V1Prefix)
	}
	m := servetest.DefaultModel()
	m.Pop = []float64{1, 2, 3, 4, 5, 6}
	v2 := h.artifact("movies", m)
	h.eventually("swap", func() bool { return h.version("movies") == v2 })
	if h.logs.CountEvent("artifact_hot_swapped") != 1 || !h.metric(`recotem_swap_total{recipe="movies",result="ok"} 1`) {
		t.Fatal("swap not reported")
	}
	u, _ := old.Scorer.UserIndex([]byte("u3"))
	if hits := old.Scorer.Recommend(nil, u, 1, nil); string(old.Scorer.ItemID(int(hits[0].Item))) != "i1" {
		t.Fatal("the held model changed under its holder")
	}
	old.Release()
	if h.top("movies", "u3", 2) != "i6,i5" {
		t.Fatalf("new model answers %s", h.top("movies", "u3", 2))
	}
}

// TestWatcherFailuresKeepServing: corrupt, zero-byte, identical and
// missing artifacts; the served model stays, errors come and go.
func TestWatcherFailuresKeepServing(t *testing.T) {
	h, v1 := start(t)
	ptr := h.outPath("movies")
	ptrBytes, _ := os.ReadFile(ptr)
	good, _ := os.ReadFile(h.pointerTarget("movies"))
	bad := append([]byte(nil), good...)
	copy(bad, "XXXXXXXX")
	servetest.WriteAtomic(t, ptr, bad)
	h.eventually("bad magic", func() bool { return h.lastErr("movies") == "magic bytes mismatch" })
	h.eventually("kid logged", func() bool { return strings.Contains(h.logs.String(), `"kid":"k1","error":"magic bytes mismatch"`) })
	if h.version("movies") != v1 || !h.metric(`recotem_swap_total{recipe="movies",result="error"}`) {
		t.Fatal("a corrupt file replaced the model")
	}
	servetest.WriteAtomic(t, ptr, nil)
	h.eventually("zero-byte", func() bool {
		return strings.Contains(h.logs.String(), `"kid":"<unknown>","error":"magic bytes mismatch"`)
	})
	servetest.WriteAtomic(t, ptr, ptrBytes)
	h.eventually("error cleared", func() bool { return h.lastErr("movies") == nil })
	if h.version("movies") != v1 || h.logs.CountEvent("artifact_hot_swapped") != 0 {
		t.Fatal("identical bytes swapped")
	}
	// deleted → still serving, one artifact_disappeared
	os.Remove(ptr)
	h.eventually("disappeared", func() bool { return h.logs.CountEvent("artifact_disappeared") == 1 })
	time.Sleep(200 * time.Millisecond)
	if h.logs.CountEvent("artifact_disappeared") != 1 || h.version("movies") != v1 || h.lastErr("movies") != "artifact missing or unreadable" {
		t.Fatalf("disappearance: %v", h.lastErr("movies"))
	}
	if total, loaded, healthy := h.reg.Health(); total != 1 || loaded != 1 || healthy != 0 {
		t.Fatalf("health %d %d %d", total, loaded, healthy)
	}
	v2 := h.artifact("movies", servetest.DefaultModel())
	h.eventually("back", func() bool { return h.lastErr("movies") == nil })
	if v2 != v1 || h.version("movies") != v1 {
		t.Fatal("version changed")
	}
}

// TestRescan: new, removed, broken, fixed and edited recipe files.
func TestRescan(t *testing.T) {
	h, _ := start(t)
	h.artifact("books", servetest.DefaultModel())
	h.recipe("b", "books", "")
	h.eventually("discovered", func() bool { return h.version("books") != "" })
	if h.logs.CountEvent("recipe_discovered") != 1 {
		t.Fatal("no recipe_discovered")
	}
	os.Remove(filepath.Join(h.dir, "b.yaml"))
	h.eventually("removed", func() bool { return h.entry("books") == nil })
	if h.logs.CountEvent("recipe_removed") != 1 || !h.metric(`recotem_model_loaded{recipe="books"} 0`) {
		t.Fatal("removal not reported")
	}
	// broken new file → stub by stem; fixed → loads
	os.WriteFile(filepath.Join(h.dir, "c.yaml"), []byte("name: [unclosed"), 0o644)
	h.eventually("stub", func() bool { return h.entry("c") != nil })
	if s, _ := h.lastErr("c").(string); h.entry("c").Loaded() || !strings.HasPrefix(s, "YAML parse failed: ") {
		t.Fatalf("stub %v", h.lastErr("c"))
	}
	h.artifact("cats", servetest.DefaultModel())
	h.recipe("c", "cats", "")
	h.eventually("fixed", func() bool { return h.version("cats") != "" })
	if h.logs.CountEvent("recipe_yaml_failure_recovered") == 0 || h.entry("c") != nil {
		t.Fatal("recovery")
	}
	// a broken file named like a stub's stem: the stub is renamed
	os.WriteFile(filepath.Join(h.dir, "cats.yaml"), []byte("name: [x"), 0o644)
	h.eventually("cats_1 stub", func() bool { return h.entry("cats_1") != nil })
	// a served recipe's YAML breaks → keeps serving with an error
	os.WriteFile(filepath.Join(h.dir, "a.yaml"), []byte("name: [broken"), 0o644)
	h.eventually("rescan error", func() bool { return h.logs.CountEvent("recipe_rescan_load_error") == 1 })
	if s, _ := h.lastErr("movies").(string); h.version("movies") == "" || !strings.HasPrefix(s, "recipe YAML parse error on rescan: ") {
		t.Fatalf("rescan error %v", h.lastErr("movies"))
	}
	if !h.metric(`recotem_recipe_rescan_errors_total{recipe="movies"} 1`) {
		t.Fatal("rescan metric")
	}
	// fixed again, now pointing at another artifact: reloaded at once
	m := servetest.DefaultModel()
	m.Pop = []float64{1, 2, 3, 4, 5, 6}
	v := servetest.WriteArtifact(t, filepath.Join(h.art, "other.recotem"), "always_overwrite", h.key, "movies", m)
	servetest.WriteRecipe(t, h.dir, "a", "movies", filepath.Join(h.art, "other.recotem"), "")
	h.eventually("edited output path", func() bool { return h.version("movies") == v && h.lastErr("movies") == nil })
	// the directory disappears: every entry reports it
	os.Rename(h.dir, h.dir+".gone")
	h.eventually("dir scan error", func() bool {
		s, _ := h.lastErr("movies").(string)
		return strings.HasPrefix(s, "recipes-dir scan failed: ")
	})
	if !h.metric(`recotem_recipes_dir_scan_failures_total{error_class="dir_iter_FileNotFoundError"}`) {
		t.Fatal("dir scan metric")
	}
	os.Rename(h.dir+".gone", h.dir)
	h.eventually("dir back", func() bool { return h.lastErr("movies") == nil })
}

func TestWatcherUnhealthyAndRecovery(t *testing.T) {
	h, _ := start(t)
	var fail atomic.Bool
	fail.Store(true)
	f := func() {
		if fail.Load() {
			panic("injected tick failure")
		}
	}
	registry.TickHook.Store(&f)
	defer registry.TickHook.Store(nil)
	h.eventually("unhealthy", func() bool { return h.logs.CountEvent("artifact_watcher_unhealthy") == 1 })
	if e := h.entry("movies"); h.lastErr("movies") != "watcher unhealthy" || !e.Loaded() {
		t.Fatalf("details %v", h.lastErr("movies"))
	}
	if h.logs.CountEvent("artifact_watcher_unhandled_error") < 5 {
		t.Fatal("unhandled error events")
	}
	fail.Store(false)
	h.eventually("recovery", func() bool { return h.logs.CountEvent("artifact_watcher_recovery") == 1 })
	if h.lastErr("movies") != nil {
		t.Fatalf("not cleared %v", h.lastErr("movies"))
	}
	if !h.metric("recotem_watcher_unhandled_errors_total ") {
		t.Fatal("metric")
	}
}

// TestCloseClosesBlobStoreOnce: the blob store an S3 recipe opened is
// closed by Close, once, and no handle to it is kept (serve calls Close
// after the drain).
func TestCloseClosesBlobStoreOnce(t *testing.T) {
	servetest.SilentS3(t)
	h := newRig(t)
	servetest.WriteRecipe(t, h.dir, "s", "s", "s3://bkt/s.recotem", "")
	h.open(nil)
	if open, _ := h.reg.BlobState(); !open {
		t.Fatal("the S3 recipe opened no blob store")
	}
	h.reg.Close()
	if open, closes := h.reg.BlobState(); open || closes != 1 {
		t.Fatalf("after Close: store open %v, closed %d times; want closed once", open, closes)
	}
}

// stalledMetadata starts a metadata source that never answers (its
// handler returns when the client gives up), lets h fetch from it and
// returns the recipe YAML of movies with it.
func stalledMetadata(t *testing.T, h *rig) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	h.opt.HTTPAllowPrivate = true
	h.opt.HTTPTimeout = 5 * time.Minute
	h.artifact("movies", servetest.DefaultModel())
	return "item_metadata:\n  type: csv\n  path: " + srv.URL + "/meta.csv\n  fields: [title]\n"
}

// TestOpenAbandonsStalledLoad: a cancelled context (SIGTERM during start)
// ends a load stalled on a source that never answers, instead of waiting
// for its timeout.
func TestOpenAbandonsStalledLoad(t *testing.T) {
	h := newRig(t)
	h.recipe("a", "movies", stalledMetadata(t, h))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	h.open(ctx)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Open took %v after the cancel", d)
	}
	if h.entry("movies").Loaded() || h.lastErr("movies") == nil {
		t.Fatalf("stalled load: %v", h.lastErr("movies"))
	}
}

// TestStopWatcherAbandonsStalledLoad: stopping the watcher ends its
// stalled load at once, with no failure recorded for it.
func TestStopWatcherAbandonsStalledLoad(t *testing.T) {
	h := newRig(t)
	meta := stalledMetadata(t, h)
	h.open(nil)
	h.recipe("a", "movies", meta)
	h.reg.StartWatcher(t.Context())
	h.eventually("discovered", func() bool { return h.logs.CountEvent("recipe_discovered") == 1 })
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	h.reg.StopWatcher(10 * time.Second)
	if d := time.Since(start); d > 5*time.Second || h.logs.CountEvent("artifact_watcher_join_timeout") != 0 {
		t.Fatalf("StopWatcher took %v", d)
	}
	if h.logs.CountEvent("artifact_watcher_stopped") != 1 || h.logs.CountEvent("artifact_load_failed") != 0 {
		t.Fatalf("events:\n%s", h.logs.String())
	}
	h.reg.StopWatcher(time.Second) // a second stop is a no-op
}

// TestMetadataJoin: a recipe's item metadata is joined per item at load.
func TestMetadataJoin(t *testing.T) {
	h := newRig(t)
	csv := filepath.Join(h.art, "meta.csv")
	os.WriteFile(csv, []byte("item_id,title\ni1,One\ni2,Two\n"), 0o644)
	h.recipe("a", "movies", "item_metadata:\n  type: csv\n  path: "+csv+"\n  fields: [title]\n")
	h.artifact("movies", servetest.DefaultModel())
	h.open(nil)
	l := h.entry("movies").Acquire()
	if l == nil {
		t.Fatal(h.lastErr("movies"))
	}
	defer l.Release()
	if !l.HasMeta() {
		t.Fatal("no metadata")
	}
	i1, _ := l.Scorer.ItemIndex([]byte("i1"))
	i3, _ := l.Scorer.ItemIndex([]byte("i3"))
	if frag, bad := l.Meta(int32(i1)); bad || string(frag) != `"title":"One",` {
		t.Fatalf("i1: %q %v", frag, bad)
	}
	if frag, bad := l.Meta(int32(i3)); bad || frag != nil {
		t.Fatalf("i3: %q %v", frag, bad)
	}
}

// TestGuardPrivateCopyThenFault: a rewrite in place moves the model to a
// verified private copy with the same version and answers; with an
// unguarded mapping (format.Mapped, never what serve uses) a truncated
// file faults a reader, Fault withdraws the model and a good file brings
// it back.
func TestGuardPrivateCopyThenFault(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("file leases and SIGBUS on a truncated mapping are Linux behaviour")
	}
	h, v := start(t)
	target := h.pointerTarget("movies")
	good, _ := os.ReadFile(target)
	before := h.top("movies", "u3", 3)
	if err := os.WriteFile(target, make([]byte, len(good)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.eventually("private copy", func() bool {
		return h.metric(`recotem_artifact_residency{recipe="movies",residency="private"} 1`)
	})
	if h.version("movies") != v || h.top("movies", "u3", 3) != before {
		t.Fatal("the copy answers differently")
	}
	if !h.metric(`recotem_artifact_private_copies_total{recipe="movies",result="ok"} 1`) || h.logs.CountEvent("artifact_file_changed") != 1 {
		t.Fatal("copy not reported")
	}
	servetest.WriteAtomic(t, target, good)
	h.eventually("mapped again", func() bool {
		return h.metric(`recotem_artifact_residency{recipe="movies",residency="leased"} 1`) && h.lastErr("movies") == nil
	})

	u := newRig(t)
	u.opt.Residency = format.Mapped
	u.opt.ResultCacheBytes = 0
	u.recipe("a", "movies", "")
	u.artifact("movies", servetest.DefaultModel())
	u.open(nil)
	u.watch()
	target = u.pointerTarget("movies")
	if err := os.Truncate(target, 4096); err != nil { // the sections start at 4096
		t.Fatal(err)
	}
	addr, faulted := readFaults(u.entry("movies"))
	if !faulted {
		t.Fatal("no fault reading a truncated mapping")
	}
	u.reg.Fault(addr)
	u.eventually("withdrawn", func() bool { return !u.entry("movies").Loaded() })
	if s, _ := u.lastErr("movies").(string); !strings.Contains(s, "verified bytes could not be kept") {
		t.Fatalf("withdrawal error %q", s)
	}
	servetest.WriteAtomic(t, target, good)
	u.eventually("reloaded", func() bool { return u.version("movies") == v })
}

// readFaults ranks with e's model as a request does, with faults turned
// into panics, and returns the faulting address.
func readFaults(e *registry.Entry) (addr uintptr, faulted bool) {
	l := e.Acquire()
	defer l.Release()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if fe, ok := recover().(interface{ Addr() uintptr }); ok {
			addr, faulted = fe.Addr(), true
		}
	}()
	u, _ := l.Scorer.UserIndex([]byte("u3"))
	l.Scorer.Recommend(nil, u, 3, nil)
	return 0, false
}
