package appliance

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/tools/blob"
)

// fakeAWS points the AWS SDK at endpoint with throwaway credentials and no
// shared config, retries or instance metadata.
func fakeAWS(t *testing.T, endpoint, ak, sk string) {
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", ak)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sk)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// An S3 endpoint that accepts connections and never answers: the initial
// load fails within the stat timeout, every poll logs artifact_stat_timeout
// with error "stat timeout after 1s", and serving goes on.
func TestRemoteStatTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	fakeAWS(t, "http://"+ln.Addr().String(), "AKIDEXAMPLE", "silent")
	h := newHarness(t)
	y := "name: slow\noutput:\n  path: s3://bkt/slow.recotem\n"
	if err := os.WriteFile(filepath.Join(h.dir, "slow.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.start()
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("startup took %v against a silent store", d)
	}
	h.eventually("artifact_stat_timeout", func() bool { return h.logs.countEvent("artifact_stat_timeout") > 0 })
	r := h.get("/health/details")
	if r.code != 503 || !strings.Contains(r.body, "stat timeout after 1s") {
		t.Fatalf("/health/details %d %s", r.code, r.body)
	}
	if strings.Contains(r.body, "s3://") {
		t.Fatalf("stored error leaks the URI: %s", r.body)
	}
}

// s3Harness skips unless the S3 server of .ci/services/s3.sh runs.
func s3Prefix(t *testing.T) string {
	ep := os.Getenv("RECOTEM_TEST_S3_ENDPOINT")
	if ep == "" {
		t.Skip("RECOTEM_TEST_S3_ENDPOINT is unset: start an S3 server with .ci/services/s3.sh to run the S3 serve tests")
	}
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
	st := blob.NewStore()
	defer st.Close()
	h := newHarness(t)
	out := base + "/m.recotem"
	write := func(m testModel) string {
		t.Helper()
		fields, b := m.build(t)
		fields["recipe_name"] = "m"
		res, err := st.WriteArtifact(ctx, out, "append_sha", func(w io.Writer) error { return format.Encode(w, h.key, fields, b) })
		if err != nil {
			t.Fatal(err)
		}
		return "sha256:" + res.SHA256
	}
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
	if h.logs.countEvent("metadata_loaded") == 0 {
		t.Fatalf("no metadata_loaded from S3\n%s", h.logs.String())
	}

	// Same bytes again: pointer rewritten, no swap.
	write(m)
	time.Sleep(300 * time.Millisecond)
	if h.logs.countEvent("artifact_hot_swapped") != 0 || version() != v1 {
		t.Fatal("identical bytes swapped")
	}

	m2 := defaultModel()
	m2.pop = append([]float64(nil), m2.pop...)
	m2.pop[0] += 1
	v2 := write(m2)
	h.eventually("hot swap", func() bool { return version() == v2 })

	if err := st.Put(ctx, out, strings.NewReader("m.00000000.recotem\n")); err != nil {
		t.Fatal(err)
	}
	h.eventually("artifact_load_failed", func() bool { return h.logs.countEvent("artifact_load_failed") > 0 })
	if version() != v2 {
		t.Fatal("old model stopped serving after a dangling pointer")
	}
	r := h.get("/health/details")
	if !strings.Contains(r.body, "artifact not found") {
		t.Fatalf("/health/details %s", r.body)
	}
}
