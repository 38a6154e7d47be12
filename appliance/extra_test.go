package appliance

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

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
