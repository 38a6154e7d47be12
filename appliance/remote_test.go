package appliance

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/appliance/internal/servetest"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/testenv"
)

func fakeAWS(t *testing.T, endpoint, ak, sk string) { servetest.FakeAWS(t, endpoint, ak, sk) }

// An S3 endpoint that accepts connections and never answers: the initial
// load fails within the stat timeout, every poll logs artifact_stat_timeout
// with error "stat timeout after 1s", and serving goes on.
func TestRemoteStatTimeout(t *testing.T) {
	h := silentS3Harness(t, "slow")
	start := time.Now()
	h.start()
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("startup took %v against a silent store", d)
	}
	h.eventually("artifact_stat_timeout", func() bool { return h.logs.CountEvent("artifact_stat_timeout") > 0 })
	r := h.get("/health/details")
	if r.code != 503 || !strings.Contains(r.body, "stat timeout after 1s") {
		t.Fatalf("/health/details %d %s", r.code, r.body)
	}
	if strings.Contains(r.body, "s3://") {
		t.Fatalf("stored error leaks the URI: %s", r.body)
	}
}

// s3Writer returns a store on the test's S3 server and a function that
// writes m as recipe "m"'s artifact at out with append_sha.
func s3Writer(t *testing.T, h *harness, out string) (*blob.Store, func(testModel) format.WriteResult) {
	st := blob.NewStore()
	t.Cleanup(func() { st.Close() })
	return st, func(m testModel) format.WriteResult {
		t.Helper()
		fields, b := m.Build(t)
		fields["recipe_name"] = "m"
		res, err := st.WriteArtifact(context.Background(), out, "append_sha", func(w io.Writer) error { return format.Encode(w, h.key, fields, b) })
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
}

// changedModel is defaultModel with other bytes.
func changedModel() testModel {
	m := defaultModel()
	m.Pop = append([]float64(nil), m.Pop...)
	m.Pop[0] += 1
	return m
}

// s3Prefix skips unless the S3 server of .ci/services/s3.sh runs.
func s3Prefix(t *testing.T) string {
	ep := testenv.Getenv(t, testenv.S3, "RECOTEM_TEST_S3_ENDPOINT")
	fakeAWS(t, ep, os.Getenv("RECOTEM_TEST_S3_ACCESS_KEY"), os.Getenv("RECOTEM_TEST_S3_SECRET_KEY"))
	return fmt.Sprintf("s3://%s/appliance-%d", os.Getenv("RECOTEM_TEST_S3_BUCKET"), time.Now().UnixNano())
}

// Serve from S3 in process: load through the pointer object with item
// metadata read from S3; a rewritten pointer with the same bytes never
// swaps; a new artifact swaps; a pointer to a missing object keeps the old
// model serving with "artifact not found".
func TestRemoteS3ServeSwap(t *testing.T) {
	base := s3Prefix(t)
	ctx := context.Background()
	h := newHarness(t)
	out := base + "/m.recotem"
	st, put := s3Writer(t, h, out)
	write := func(m testModel) string { return "sha256:" + put(m).SHA256 }
	if err := st.Put(ctx, base+"/meta.csv", strings.NewReader("item_id,title\ni1,One\ni2,Two\ni3,Three\n")); err != nil {
		t.Fatal(err)
	}
	m := defaultModel()
	v1 := write(m)
	y := fmt.Sprintf("name: m\noutput:\n  path: %s\nitem_metadata:\n  type: csv\n  path: %s\n  fields: [title]\n", out, base+"/meta.csv")
	if err := os.WriteFile(filepath.Join(h.dir, "m.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	h.start()
	version := func() string {
		r := h.get("/v1/recipes")
		i := strings.Index(r.body, `"model_version":"`)
		if r.code != 200 || i < 0 {
			return ""
		}
		v := r.body[i+len(`"model_version":"`):]
		return v[:strings.IndexByte(v, '"')]
	}
	if got := version(); got != v1 {
		t.Fatalf("loaded %q, want %s\n%s", got, v1, h.logs.String())
	}
	if h.logs.CountEvent("metadata_loaded") == 0 {
		t.Fatalf("no metadata_loaded from S3\n%s", h.logs.String())
	}

	// Same bytes again: pointer rewritten, no swap.
	write(m)
	time.Sleep(300 * time.Millisecond)
	if h.logs.CountEvent("artifact_hot_swapped") != 0 || version() != v1 {
		t.Fatal("identical bytes swapped")
	}

	v2 := write(changedModel())
	h.eventually("hot swap", func() bool { return version() == v2 })

	if err := st.Put(ctx, out, strings.NewReader("m.00000000.recotem\n")); err != nil {
		t.Fatal(err)
	}
	h.eventually("artifact_load_failed", func() bool { return h.logs.CountEvent("artifact_load_failed") > 0 })
	if version() != v2 {
		t.Fatal("old model stopped serving after a dangling pointer")
	}
	r := h.get("/health/details")
	if !strings.Contains(r.body, "artifact not found") {
		t.Fatalf("/health/details %s", r.body)
	}
}

// s3Counter is a reverse proxy in front of the S3 server that counts the
// requests per method and object path (the signed Host header passes
// through unchanged, so signatures still verify).
type s3Counter struct {
	mu sync.Mutex
	n  map[string]int // "GET /bucket/key" → requests
}

func newS3Counter(t *testing.T) *s3Counter {
	ep, err := url.Parse(os.Getenv("RECOTEM_TEST_S3_ENDPOINT"))
	if err != nil {
		t.Fatal(err)
	}
	c := &s3Counter{n: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(ep)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	fakeAWS(t, srv.URL, os.Getenv("RECOTEM_TEST_S3_ACCESS_KEY"), os.Getenv("RECOTEM_TEST_S3_SECRET_KEY"))
	return c
}

// count returns the requests of method for the object at uri.
func (c *s3Counter) count(method, uri string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method+" /"+strings.TrimPrefix(uri, "s3://")]
}

// artifactGETs sums the GETs of every object under prefix named
// *.recotem other than the pointer.
func (c *s3Counter) artifactGETs(prefix, pointer string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := "GET /" + strings.TrimPrefix(prefix, "s3://")
	ptr := "GET /" + strings.TrimPrefix(pointer, "s3://")
	n := 0
	for k, v := range c.n {
		if strings.HasPrefix(k, p) && strings.HasSuffix(k, ".recotem") && k != ptr {
			n += v
		}
	}
	return n
}

// The artifact object is downloaded once per real change, through a
// counting proxy in front of the real S3 server: once at start; never
// while nothing changes; never when the pointer is rewritten (new ETag)
// but still names the loaded object; once for a new artifact (the
// watcher's sha pass and the load share the download); once for a corrupt
// one (its kid for the failure log comes from that download too).
func TestRemoteS3DownloadsOncePerChange(t *testing.T) {
	base := s3Prefix(t)
	cnt := newS3Counter(t)
	ctx := context.Background()
	h := newHarness(t)
	out := base + "/m.recotem"
	st, write := s3Writer(t, h, out)
	// ticks waits until the watcher has statted the pointer n more times.
	ticks := func(n int) {
		t.Helper()
		want := cnt.count("HEAD", out) + n
		h.eventually(fmt.Sprintf("%d watcher ticks", n), func() bool { return cnt.count("HEAD", out) >= want })
	}
	r1 := write(defaultModel())
	y := fmt.Sprintf("name: m\noutput:\n  path: %s\n", out)
	if err := os.WriteFile(filepath.Join(h.dir, "m.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	h.start()
	if got := h.version("m"); got != "sha256:"+r1.SHA256 {
		t.Fatalf("loaded %q, want sha256:%s\n%s", got, r1.SHA256, h.logs.String())
	}
	if n := cnt.count("GET", r1.Artifact); n != 1 {
		t.Fatalf("initial load: %d GETs of the artifact, want 1", n)
	}
	ticks(5)
	if n := cnt.artifactGETs(base, out); n != 1 {
		t.Fatalf("unchanged store: %d artifact GETs in all, want 1", n)
	}

	// The pointer changes (no trailing newline: a new ETag) but names the
	// same object: no download, no swap.
	name := r1.Artifact[strings.LastIndexByte(r1.Artifact, '/')+1:]
	if err := st.Put(ctx, out, strings.NewReader(name)); err != nil {
		t.Fatal(err)
	}
	ticks(5)
	if n := cnt.artifactGETs(base, out); n != 1 {
		t.Fatalf("rewritten pointer to the loaded object: %d artifact GETs in all, want 1", n)
	}
	if h.logs.CountEvent("artifact_hot_swapped") != 0 {
		t.Fatal("a rewritten pointer to the loaded object swapped")
	}

	r2 := write(changedModel())
	h.eventually("hot swap", func() bool { return h.version("m") == "sha256:"+r2.SHA256 })
	ticks(5)
	if n := cnt.count("GET", r2.Artifact); n != 1 {
		t.Fatalf("new artifact: %d GETs of it, want 1", n)
	}
	if n := cnt.artifactGETs(base, out); n != 2 {
		t.Fatalf("after one change: %d artifact GETs in all, want 2", n)
	}

	// A corrupt artifact behind a new pointer: one GET, the old model serves on.
	bad := base + "/m.badbadba.recotem"
	if err := st.Put(ctx, bad, strings.NewReader("RECOTEM\x00 not an artifact")); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, out, strings.NewReader("m.badbadba.recotem\n")); err != nil {
		t.Fatal(err)
	}
	h.eventually("artifact_load_failed", func() bool { return h.logs.CountEvent("artifact_load_failed") > 0 })
	ticks(5)
	if n := cnt.count("GET", bad); n != 1 {
		t.Fatalf("corrupt artifact: %d GETs of it, want 1", n)
	}
	if h.version("m") != "sha256:"+r2.SHA256 {
		t.Fatal("old model stopped serving after a corrupt artifact")
	}
}

// silentS3Harness points the AWS SDK at a listener that accepts
// connections and never answers and returns a harness with one recipe,
// name, whose output is s3://bkt/<name>.recotem.
func silentS3Harness(t *testing.T, name string) *harness {
	servetest.SilentS3(t)
	h := newHarness(t)
	servetest.WriteRecipe(t, h.dir, name, name, "s3://bkt/"+name+".recotem", "")
	return h
}

// A server stopped by its context with an S3 recipe drains and returns
// nil (that the registry then closes its blob store once is
// registry.TestCloseClosesBlobStoreOnce).
func TestServeStopsWithS3Recipe(t *testing.T) {
	h := silentS3Harness(t, "s")
	h.start()
	h.stop()
	if !strings.Contains(h.logs.String(), `"serve_shutdown"`) {
		t.Fatalf("no serve_shutdown\n%s", h.logs.String())
	}
}
