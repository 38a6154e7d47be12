package appliance

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/appliance/internal/servetest"
	"github.com/recotem/recotem/format"
)

func (h *harness) version(name string) string {
	h.t.Helper()
	r := h.post("/v1/recipes/"+name+":recommend", `{"user_id":"u3","limit":1}`)
	if r.code != 200 {
		return ""
	}
	return r.hdr.Get("X-Recotem-Model-Version")
}

func (h *harness) detail(name string) map[string]any {
	h.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(h.get("/health/details").body), &m); err != nil {
		h.t.Fatal(err)
	}
	d, _ := m["recipes"].(map[string]any)[name].(map[string]any)
	return d
}

// pointerTarget returns the file the pointer of name names.
func (h *harness) pointerTarget(name string) string {
	b, err := os.ReadFile(h.outPath(name))
	if err != nil {
		h.t.Fatal(err)
	}
	return filepath.Join(h.art, strings.TrimSpace(string(b)))
}

// writeAtomic replaces path with data via rename (like train does).
func writeAtomic(t testing.TB, path string, data []byte) { servetest.WriteAtomic(t, path, data) }

func TestHotSwapLifecycle(t *testing.T) {
	h, v1 := startDefault(t)
	if h.version("movies") != v1 {
		t.Fatal("initial version")
	}
	// an answer now is in the old model's result cache; the new model must not serve it
	if got := strings.Join(itemIDs(t, decode(t, h.post("/v1/recipes/movies:recommend", `{"user_id":"u3","limit":2}`))["items"]), ","); got != "i1,i2" {
		t.Fatalf("old model answers %s", got)
	}
	// retrain: new bytes → swap
	m := defaultModel()
	m.Pop = []float64{1, 2, 3, 4, 5, 6}
	v2 := h.artifact("movies", m)
	h.eventually("hot swap", func() bool { return h.version("movies") == v2 })
	if h.logs.CountEvent("artifact_hot_swapped") != 1 {
		t.Fatalf("hot swap events %d", h.logs.CountEvent("artifact_hot_swapped"))
	}
	if got := strings.Join(itemIDs(t, decode(t, h.post("/v1/recipes/movies:recommend", `{"user_id":"u3","limit":2}`))["items"]), ","); got != "i6,i5" {
		t.Fatalf("new model answers %s", got)
	}
	// same bytes, new mtime → no swap
	ptr := h.outPath("movies")
	future := time.Now().Add(time.Hour)
	os.Chtimes(ptr, future, future)
	os.Chtimes(h.pointerTarget("movies"), future, future)
	time.Sleep(300 * time.Millisecond)
	if h.version("movies") != v2 || h.logs.CountEvent("artifact_hot_swapped") != 1 {
		t.Fatal("identical bytes swapped")
	}
	// corrupt replacement (always_overwrite style, same path as pointer) → old model serves
	good, _ := os.ReadFile(h.pointerTarget("movies"))
	ptrBytes, _ := os.ReadFile(ptr)
	writeAtomic(t, ptr, bytes.Repeat([]byte("x"), 600))
	h.eventually("load failure", func() bool { return h.logs.CountEvent("artifact_load_failed") >= 1 })
	if h.version("movies") != v2 {
		t.Fatal("corrupt swap replaced the good model")
	}
	if !strings.Contains(h.logs.String(), `"error":"magic bytes mismatch"`) {
		t.Fatal("canonical error missing")
	}
	if r := h.do("GET", "/health", ""); r.code != 503 {
		t.Fatalf("/health after corrupt %d", r.code)
	}
	if r := h.do("GET", "/v1/health", ""); r.code != 200 {
		t.Fatalf("/v1/health after corrupt %d", r.code)
	}
	if d := h.detail("movies"); d["loaded"] != true || d["last_load_error"] != "magic bytes mismatch" {
		t.Fatalf("details %v", d)
	}
	metrics := h.do("GET", "/metrics", "").body
	if !strings.Contains(metrics, `recotem_swap_total{recipe="movies",result="error"} 1`) ||
		!strings.Contains(metrics, `recotem_artifact_load_failures_total{recipe="movies",reason="parse"} 1`) {
		t.Fatalf("failure metrics:\n%s", metrics)
	}
	// full-length bad-magic file logs its kid; zero-byte logs <unknown>
	bad := append([]byte(nil), good...)
	copy(bad, "XXXXXXXX")
	writeAtomic(t, ptr, bad)
	h.eventually("bad magic with kid", func() bool { return strings.Contains(h.logs.String(), `"kid":"k1","error":"magic bytes mismatch"`) })
	writeAtomic(t, ptr, nil)
	h.eventually("zero-byte", func() bool {
		return strings.Contains(h.logs.String(), `"kid":"<unknown>","error":"magic bytes mismatch"`)
	})
	// good artifact again (same bytes as served) clears the error without a swap
	writeAtomic(t, ptr, ptrBytes)
	h.eventually("error cleared", func() bool { return h.detail("movies")["last_load_error"] == nil })
	if h.version("movies") != v2 {
		t.Fatal("version changed")
	}
	// a real new model after a corrupt one swaps and clears
	writeAtomic(t, ptr, []byte("garbage-garbage"))
	h.eventually("second failure", func() bool { return h.detail("movies")["last_load_error"] != nil })
	m.Pop = []float64{3, 3, 3, 3, 3, 9}
	v3 := h.artifact("movies", m)
	h.eventually("swap after corrupt", func() bool { return h.version("movies") == v3 })
	if d := h.detail("movies"); d["last_load_error"] != nil {
		t.Fatalf("error not cleared: %v", d)
	}
	// deleted → still serving, one artifact_disappeared
	os.Remove(ptr)
	h.eventually("disappeared", func() bool { return h.logs.CountEvent("artifact_disappeared") == 1 })
	time.Sleep(200 * time.Millisecond)
	if h.logs.CountEvent("artifact_disappeared") != 1 || h.version("movies") != v3 {
		t.Fatal("disappearance handling")
	}
	if d := h.detail("movies"); d["last_load_error"] != "artifact missing or unreadable" {
		t.Fatalf("missing error %v", d)
	}
}

func TestRescan(t *testing.T) {
	h, _ := startDefault(t)
	// new recipe file → discovered and served without restart
	h.artifact("books", defaultModel())
	h.recipe("b", "books", "")
	h.eventually("discovered", func() bool { return h.version("books") != "" })
	if h.logs.CountEvent("recipe_discovered") != 1 {
		t.Fatal("no recipe_discovered")
	}
	// removed → v1 404, legacy 503
	os.Remove(filepath.Join(h.dir, "b.yaml"))
	h.eventually("removed", func() bool { return h.logs.CountEvent("recipe_removed") == 1 })
	expectErr(t, h.post("/v1/recipes/books:recommend", `{"user_id":"u1"}`), 404, "RECIPE_NOT_FOUND")
	expectErr(t, h.post("/predict/books", `{"user_id":"u1"}`), 503, "recipe_unavailable")
	if !strings.Contains(h.do("GET", "/metrics", "").body, `recotem_model_loaded{recipe="books"} 0`) {
		t.Fatal("gauge not 0 after removal")
	}
	// broken new file → stub by stem; fixed → loads
	os.WriteFile(filepath.Join(h.dir, "c.yaml"), []byte("name: [unclosed"), 0o644)
	h.eventually("stub", func() bool { return h.detail("c") != nil })
	if d := h.detail("c"); d["loaded"] != false || !strings.HasPrefix(d["error"].(string), "YAML parse failed: ") {
		t.Fatalf("stub %v", d)
	}
	h.artifact("cats", defaultModel())
	h.recipe("c", "cats", "")
	h.eventually("fixed", func() bool { return h.version("cats") != "" })
	if h.logs.CountEvent("recipe_yaml_failure_recovered") == 0 || h.detail("c") != nil {
		t.Fatal("recovery")
	}
	// a served recipe's YAML breaks → keeps serving with an error
	os.WriteFile(filepath.Join(h.dir, "a.yaml"), []byte("name: [broken"), 0o644)
	h.eventually("rescan error", func() bool { return h.logs.CountEvent("recipe_rescan_load_error") == 1 })
	if h.version("movies") == "" {
		t.Fatal("broken YAML stopped serving")
	}
	if d := h.detail("movies"); !strings.HasPrefix(d["error"].(string), "recipe YAML parse error on rescan: ") {
		t.Fatalf("rescan error %v", d)
	}
	if !strings.Contains(h.do("GET", "/metrics", "").body, `recotem_recipe_rescan_errors_total{recipe="movies"} 1`) {
		t.Fatal("rescan metric")
	}
}

func TestStartupVariants(t *testing.T) {
	h := newHarness(t)
	h.recipe("a", "good", "")
	h.recipe("b", "unknownkid", "")
	h.recipe("c", "wrongkey", "")
	h.recipe("d", "missing", "")
	h.recipe("e", "good", "") // duplicate name
	h.recipe("f", "sec", "")
	os.WriteFile(filepath.Join(h.dir, "f.yaml"), []byte("name: sec\noutput:\n  path: a::b\n"), 0o644)
	os.WriteFile(filepath.Join(h.dir, "g.yaml"), []byte(": : :"), 0o644)
	h.artifact("good", defaultModel())
	h.artifactKey("unknownkid", defaultModel(), format.Key{ID: "other", Secret: bytes.Repeat([]byte{1}, 32)})
	h.artifactKey("wrongkey", defaultModel(), format.Key{ID: "k1", Secret: bytes.Repeat([]byte{2}, 32)})
	h.start()
	want := map[string]string{
		"unknownkid": "unknown kid: other",
		"wrongkey":   "signature mismatch",
		"missing":    "artifact not found",
	}
	for name, msg := range want {
		if d := h.detail(name); d["loaded"] != false || d["last_load_error"] != msg {
			t.Errorf("%s: %v", name, d)
		}
	}
	if d := h.detail("good"); d["loaded"] != true {
		t.Fatalf("good: %v", d)
	}
	for _, stub := range []string{"e", "f", "g"} {
		if d := h.detail(stub); d == nil || d["loaded"] != false {
			t.Errorf("stub %s: %v", stub, d)
		}
	}
	for _, ev := range []string{"initial_artifact_hmac_failed", "initial_artifact_read_failed", "recipe_not_loaded_at_startup",
		"recipe_duplicate_name_skipped", "recipe_security_violation_skipped", "recipe_load_error_skipped",
		"recipes_directory_loaded_lenient", "security.posture", "artifact_watcher_started", "serve_listening"} {
		if h.logs.CountEvent(ev) == 0 {
			t.Errorf("no %s", ev)
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"succeeded":1`) || !strings.Contains(logs, `"failed":6`) {
		t.Errorf("startup_artifact_load_complete counts:\n%s", logs)
	}
	if !strings.Contains(logs, `"signing_keys":[{"fingerprint":"`+format.Fingerprint(h.key.Secret)+`","kid":"k1"}]`) &&
		!strings.Contains(logs, `"signing_keys":[{"kid":"k1","fingerprint":"`+format.Fingerprint(h.key.Secret)+`"}]`) {
		t.Errorf("posture fingerprint missing")
	}
	if strings.Contains(logs, string(h.key.Secret)) || strings.Contains(logs, h.plain) {
		t.Fatal("secret in logs")
	}
}

func TestConfigErrors(t *testing.T) {
	f := func(mod func(*Config), want string) {
		t.Helper()
		h := newHarness(t)
		mod(&h.cfg)
		err := Run(t.Context(), h.cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v, want %q", err, want)
		}
		if h.logs.CountEvent("security.posture") != 1 {
			t.Fatalf("posture not logged once:\n%s", h.logs.String())
		}
	}
	f(func(c *Config) { c.KeyRing = nil }, "RECOTEM_SIGNING_KEYS is not set")
	f(func(c *Config) { c.KeyRing, c.KeyRingErr = nil, os.ErrInvalid }, "malformed")
	f(func(c *Config) { c.InsecureNoAuth, c.Env = true, "production" }, "--insecure-no-auth")
	f(func(c *Config) { c.DevAllowUnsigned, c.IUnderstand, c.Env = true, true, "dev" }, "--dev-allow-unsigned")
	f(func(c *Config) { c.DevAllowUnsigned, c.Env = true, "development" }, "--dev-allow-unsigned")
	f(func(c *Config) { c.Limits = format.Limits{MaxArtifactBytes: 2 << 20, MaxPayloadBytes: 4 << 20} }, "RECOTEM_MAX_PAYLOAD_BYTES")

	// busy port → BindError + serve_bind_failed
	h := newHarness(t)
	h.start()
	port := h.base[strings.LastIndex(h.base, ":")+1:]
	h2 := newHarness(t)
	h2.cfg.Port = atoi(port)
	err := Run(t.Context(), h2.cfg)
	var be *BindError
	if !asBind(err, &be) || be.Errno != "EADDRINUSE" || h2.logs.CountEvent("serve_bind_failed") != 1 {
		t.Fatalf("bind: %v", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func asBind(err error, be **BindError) bool {
	b, ok := err.(*BindError)
	*be = b
	return ok
}

func TestAnonymousModes(t *testing.T) {
	// no API keys: host forced to loopback, anonymous allowed
	h := newHarness(t)
	h.cfg.APIKeys = nil
	h.cfg.Host = "0.0.0.0"
	h.recipe("a", "movies", "")
	h.artifact("movies", defaultModel())
	h.start()
	if !strings.HasPrefix(h.base, "http://127.0.0.1:") || h.logs.CountEvent("host_forced_to_loopback") != 1 {
		t.Fatalf("not forced: %s", h.base)
	}
	if r := h.do("POST", "/v1/recipes/movies:recommend", `{"user_id":"u1"}`); r.code != 200 {
		t.Fatalf("anonymous %d", r.code)
	}
	h.do("GET", "/health/details", "")
	if h.logs.CountEvent("auth_anonymous_bypass_first_seen") != 1 || h.logs.CountEvent("auth_anonymous_bypass") < 2 {
		t.Fatal("anonymous events")
	}
	if !strings.Contains(h.logs.String(), `"mode":"loopback_no_keys"`) {
		t.Fatal("mode")
	}
	// --insecure-no-auth under dev: keys ignored, banner logged
	h2 := newHarness(t)
	h2.cfg.InsecureNoAuth = true
	h2.cfg.Env = "dev"
	h2.start()
	if r := h2.do("GET", "/health/details", ""); r.code != 200 {
		t.Fatalf("insecure details %d", r.code)
	}
	// The banner is logged by its own goroutine once bound: wait for it.
	for deadline := time.Now().Add(10 * time.Second); h2.logs.CountEvent("INSECURE_NO_AUTH_ACTIVE") == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if h2.logs.CountEvent("INSECURE_NO_AUTH_ACTIVE") == 0 || !strings.Contains(h2.logs.String(), `"mode":"insecure_no_auth"`) {
		t.Fatal("insecure events")
	}
	// dev unsigned: no HMAC check
	h3 := newHarness(t)
	h3.cfg.DevAllowUnsigned, h3.cfg.IUnderstand, h3.cfg.Env = true, true, "development"
	h3.recipe("a", "movies", "")
	h3.artifactKey("movies", defaultModel(), format.Key{ID: "whatever", Secret: bytes.Repeat([]byte{9}, 32)})
	h3.start()
	if h3.version("movies") == "" || h3.logs.CountEvent("initial_artifact_hmac_skipped_dev") != 1 || h3.logs.CountEvent("signing_key_verification_disabled") != 1 {
		t.Fatalf("dev unsigned:\n%s", h3.logs.String())
	}
}

func TestWatchInterval(t *testing.T) {
	f := func(in, want time.Duration) {
		t.Helper()
		c := Config{WatchInterval: in}
		if got := c.watchInterval(); got != want {
			t.Fatalf("%v → %v, want %v", in, got, want)
		}
	}
	f(0, 5*time.Second)
	f(200*time.Millisecond, time.Second)
	f(100*time.Second, 30*time.Second)
	f(7*time.Second, 7*time.Second)
}
