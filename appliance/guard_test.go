package appliance

import (
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func (h *harness) metric(line string) bool {
	h.t.Helper()
	return strings.Contains(h.get("/metrics").body, line)
}

// TestGuardCopiesOnInPlaceWrite: a write into the served (leased) file is
// held until the model moved to a verified private copy; the copy answers
// as the model did; the watcher then reports the bad file and the copy
// keeps serving; a good file written back in place is mapped and leased again.
func TestGuardCopiesOnInPlaceWrite(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("file leases are Linux behaviour")
	}
	h, v1 := startDefault(t)
	target := h.pointerTarget("movies")
	good, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	before := h.post("/v1/recipes/movies:recommend", `{"user_id":"u3","limit":3}`).body
	if !h.metric(`recotem_artifact_residency{recipe="movies",residency="leased"} 1`) {
		t.Fatalf("not leased:\n%s", grepLines(h.get("/metrics").body, "residency"))
	}
	// A same-length rewrite with garbage (O_TRUNC: the lease break).
	if err := os.WriteFile(target, make([]byte, len(good)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.eventually("private copy", func() bool {
		return h.metric(`recotem_artifact_residency{recipe="movies",residency="private"} 1`)
	})
	h.eventually("bad file reported", func() bool { return h.detail("movies")["last_load_error"] != nil })
	if h.version("movies") != v1 {
		t.Fatal("the copy changed the model version")
	}
	if got := h.post("/v1/recipes/movies:recommend", `{"user_id":"u3","limit":3}`).body; stripRID(got) != stripRID(before) {
		t.Fatalf("copy answers %s, mapping answered %s", got, before)
	}
	for _, want := range []string{
		`recotem_artifact_file_changes_total{recipe="movies"} 1`,
		`recotem_artifact_private_copies_total{recipe="movies",result="ok"} 1`,
		`recotem_request_memory_faults_total 0`,
	} {
		if !h.metric(want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if h.logs.CountEvent("artifact_file_changed") != 1 || h.logs.CountEvent("artifact_private_copy") != 1 {
		t.Errorf("events: changed %d, copy %d", h.logs.CountEvent("artifact_file_changed"), h.logs.CountEvent("artifact_private_copy"))
	}
	// The same verified bytes back in place: mapped and leased again, no error.
	if err := os.WriteFile(target, good, 0o644); err != nil {
		t.Fatal(err)
	}
	h.eventually("leased again", func() bool {
		return h.metric(`recotem_artifact_residency{recipe="movies",residency="leased"} 1`) && h.detail("movies")["last_load_error"] == nil
	})
	if h.version("movies") != v1 {
		t.Fatal("version changed")
	}
}

// TestWatcherSeesRewrittenTarget: an append_sha target replaced under an
// unchanged pointer (here by rename, which no lease sees) is noticed: a bad
// one shows in /health/details and the load-failure metric while the
// verified model serves on; a good one is swapped in.
func TestWatcherSeesRewrittenTarget(t *testing.T) {
	h, v1 := startDefault(t)
	ptr, _ := os.ReadFile(h.outPath("movies"))
	target := h.pointerTarget("movies")
	good, _ := os.ReadFile(target)
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 0xff
	writeAtomic(t, target, bad)
	h.eventually("rewritten target reported", func() bool {
		d := h.detail("movies")
		return d["last_load_error"] == "signature mismatch" && d["loaded"] == true
	})
	if h.version("movies") != v1 {
		t.Fatal("the bad target replaced the model")
	}
	if !h.metric(`recotem_artifact_load_failures_total{recipe="movies",reason="hmac"} 1`) {
		t.Fatalf("metrics: %s", grepLines(h.get("/metrics").body, "load_failures_total{recipe=\"movies\",reason=\"hmac\"}"))
	}
	m := defaultModel()
	m.Pop = []float64{1, 2, 3, 4, 5, 6}
	fields, b := m.Build(t)
	res, err := writeArtifactTo(target+".new", h, fields, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(target+".new", target); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(h.outPath("movies")); string(now) != string(ptr) {
		t.Fatal("the pointer changed")
	}
	h.eventually("good target swapped in", func() bool {
		return h.version("movies") == "sha256:"+res.SHA256 && h.detail("movies")["last_load_error"] == nil
	})
}

// TestCopyModeServesPrivate: RECOTEM_ARTIFACT_LOAD=copy keeps no mapping.
func TestCopyModeServesPrivate(t *testing.T) {
	h := newHarness(t)
	h.cfg.CopyArtifacts = true
	h.recipe("a", "movies", "")
	v := h.artifact("movies", defaultModel())
	h.start()
	if h.version("movies") != v || !h.metric(`recotem_artifact_residency{recipe="movies",residency="private"} 1`) {
		t.Fatalf("copy mode: %s", grepLines(h.get("/metrics").body, "residency"))
	}
	if err := os.Truncate(h.pointerTarget("movies"), 0); err != nil {
		t.Fatal(err)
	}
	h.eventually("truncation reported", func() bool { return h.detail("movies")["last_load_error"] != nil })
	if h.version("movies") != v {
		t.Fatal("copy mode lost the model")
	}
}

var ridRE = regexp.MustCompile(`"request_id":"[^"]*",?`)

func stripRID(s string) string { return ridRE.ReplaceAllString(s, "") }

// TestRequestFaultIsA503: the last line. With an unguarded mapping (never
// what serve uses) a truncated file makes the next ranked request touch a
// vanished page: the request gets a 503, the process lives, the model is
// withdrawn (its bytes are gone) and a good file brings it back.
func TestRequestFaultIsA503(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SIGBUS on a truncated mapping is Linux behaviour")
	}
	h := newHarness(t)
	h.cfg.unguardedForTest = true
	h.cfg.ResultCacheBytes = 0
	h.recipe("a", "movies", "")
	v := h.artifact("movies", defaultModel())
	h.start()
	target := h.pointerTarget("movies")
	good, _ := os.ReadFile(target)
	if err := os.Truncate(target, 4096); err != nil { // the sections start at 4096
		t.Fatal(err)
	}
	r := h.post("/v1/recipes/movies:recommend", `{"user_id":"u3","limit":3}`)
	if r.code != 503 || !strings.Contains(r.body, "changed on disk") || r.hdr.Get("X-Request-ID") == "" {
		t.Fatalf("faulting request: %d %s", r.code, r.body)
	}
	if !h.metric("recotem_request_memory_faults_total 1") || h.logs.CountEvent("request_memory_fault") != 1 {
		t.Fatal("fault not counted")
	}
	h.eventually("withdrawn", func() bool { return h.detail("movies")["loaded"] == false })
	if got := h.post("/v1/recipes/movies:recommend", `{"user_id":"u3","limit":3}`); got.code != 503 {
		t.Fatalf("after withdrawal: %d %s", got.code, got.body)
	}
	writeAtomic(t, target, good)
	h.eventually("reloaded", func() bool { return h.version("movies") == v })
}
