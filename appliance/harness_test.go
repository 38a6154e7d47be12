package appliance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/appliance/internal/servetest"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
	"github.com/recotem/recotem/internal/logx"
)

// The shared fixtures (appliance/internal/servetest) under the names these
// tests use.
type (
	yamlLoader = servetest.YAMLLoader
	syncBuf    = servetest.Logs
	testModel  = servetest.Model
)

func defaultModel() testModel { return servetest.DefaultModel() }

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
	servetest.WriteRecipe(h.t, h.dir, file, name, h.outPath(name), extra)
}

// artifact trains (builds) m for name with append_sha; returns the model version.
func (h *harness) artifact(name string, m testModel) string {
	h.t.Helper()
	return h.artifactKey(name, m, h.key)
}

func (h *harness) artifactKey(name string, m testModel, key format.Key) string {
	h.t.Helper()
	return servetest.WriteArtifact(h.t, h.outPath(name), "append_sha", key, name, m)
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
	servetest.Eventually(h.t, what, h.logs, cond)
}
