package appliance

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

func TestWatcherUnhealthyAndRecovery(t *testing.T) {
	h, _ := startDefault(t)
	var fail atomic.Bool
	fail.Store(true)
	f := func() {
		if fail.Load() {
			panic("injected tick failure")
		}
	}
	tickHook.Store(&f)
	defer tickHook.Store(nil)
	h.eventually("unhealthy", func() bool { return h.logs.countEvent("artifact_watcher_unhealthy") == 1 })
	if d := h.detail("movies"); d["error"] != "watcher unhealthy" || d["loaded"] != true {
		t.Fatalf("details %v", d)
	}
	if h.logs.countEvent("artifact_watcher_unhandled_error") < 5 {
		t.Fatal("unhandled error events")
	}
	fail.Store(false)
	h.eventually("recovery", func() bool { return h.logs.countEvent("artifact_watcher_recovery") == 1 })
	if d := h.detail("movies"); d["error"] != nil {
		t.Fatalf("not cleared %v", d)
	}
	if !strings.Contains(h.do("GET", "/metrics", "").body, "recotem_watcher_unhandled_errors_total ") {
		t.Fatal("metric")
	}
}

func TestUnixSocket(t *testing.T) {
	h := newHarness(t)
	sock := filepath.Join(t.TempDir(), "r.sock")
	h.cfg.UDS = sock
	h.recipe("a", "movies", "")
	h.artifact("movies", defaultModel())
	h.start()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequest("POST", "http://127.0.0.1/v1/recipes/movies:recommend", strings.NewReader(`{"user_id":"u1","limit":1}`))
	req.Header.Set("X-API-Key", h.plain)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	if res.StatusCode != 200 || m["recipe"] != "movies" {
		t.Fatalf("uds: %d %v", res.StatusCode, m)
	}
	if !strings.Contains(h.logs.String(), `"uds":"`+sock+`"`) {
		t.Fatal("serve_listening lacks uds")
	}
}

// FuzzRequestParse: the scanner agrees with encoding/json (plus UTF-8) on validity, the
// parsers never panic, and a body they accept decodes the same way.
func FuzzRequestParse(f *testing.F) {
	for _, s := range []string{`{"user_id":"u1","cutoff":3}`, `{"user_id":"\u00e9\ud83d\ude00","limit":10,"exclude_items":["a","b"]}`,
		`{"seed_items":["x"],"limit":1.0}`, `{"requests":[{"user_id":"a"},1,null,[]],"include_metadata":true}`, `[1,2`, `{"a":}`, `"\x00"`, `1e5`, `-0.5e-3`, `{"a":[{"b":{"c":[]}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 4096 {
			return
		}
		// RFC 8259 text is UTF-8; encoding/json tolerates invalid bytes
		// inside strings, upstream (Python) refuses them, and so do we.
		if got, want := validDocument(body), json.Valid(body) && utf8.Valid(body); got != want {
			t.Fatalf("validDocument(%q) = %v, want %v", body, got, want)
		}
		var r request
		r.reset()
		if r.parseLegacy(body) {
			var v struct {
				UserID string `json:"user_id"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.UserID != string(r.str(r.userID)) {
				t.Fatalf("user_id %q vs %q (%v)", r.str(r.userID), v.UserID, err)
			}
		}
		r.reset()
		if obj, ok := r.parseBody(body); ok {
			r.parseV1(obj, false)
			r.reset()
			r.parseV1(obj, true)
		}
		r.reset()
		if r.parseBatch(body) {
			for _, el := range r.elems {
				if len(el) > 0 && el[0] == '{' {
					r.parseV1(el, false)
				}
			}
		}
	})
}
