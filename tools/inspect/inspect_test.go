package inspect

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recotem/recotem/format"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	keyA = format.Key{ID: "k1", Secret: bytes.Repeat([]byte{0xaa}, 32)}
	keyB = format.Key{ID: "k2", Secret: bytes.Repeat([]byte{0xbb}, 32)}
)

func ring(t testing.TB, keys ...format.Key) func() (*format.KeyRing, error) {
	r, err := format.NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return func() (*format.KeyRing, error) { return r, nil }
}

func noKeys() (*format.KeyRing, error) { return nil, nil }

// tiny builds a small deterministic artifact with a few sections.
func tiny(t testing.TB, key format.Key) []byte {
	t.Helper()
	b := format.NewBuilder()
	b.Strings("user_ids", []string{"u1", "u2"})
	b.Strings("item_ids", []string{"a", "b", "c"})
	b.CSR("seen", []int64{0, 1, 3}, []int32{2, 0, 1}, 3, nil)
	b.Matrix32("item_factors", 3, 2, []float32{1, 2, 3, 4, 5, 6})
	fields := map[string]any{"recipe_name": "tiny", "best_class": "IALSRecommender", "cutoff": 10}
	var buf bytes.Buffer
	if err := format.Encode(&buf, key, fields, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// container writes a format-1 container by hand (an independent encoder):
// what an upstream writer with a pickle payload produces.
func container(key []byte, kid, header string, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kid))
	m.Write([]byte(header))
	m.Write(payload)
	out := []byte("RECOTEM\x00\x01\x00\x00\x00")
	out = append(out, byte(len(kid)))
	out = append(out, kid...)
	out = m.Sum(out)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(header)))
	out = append(out, header...)
	return append(out, payload...)
}

func write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, o Options) (string, *Error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(o, &out)
	if err == nil {
		return out.String(), nil
	}
	var ie *Error
	if !errors.As(err, &ie) {
		t.Fatalf("Run returned %T %v, want *Error", err, err)
	}
	if out.Len() != 0 {
		t.Fatalf("stdout written on failure: %q", out.String())
	}
	return "", ie
}

func TestOK(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "m.abcd1234.recotem", tiny(t, keyA))
	ptr := write(t, dir, "m.recotem", []byte("m.abcd1234.recotem\n"))
	for _, path := range []string{p, ptr, "file://" + p} {
		out, err := run(t, Options{Path: path, Keys: ring(t, keyB, keyA)})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		first, rest, _ := strings.Cut(out, "\n")
		if first != "HMAC: OK  (kid='k1')" {
			t.Fatalf("first line %q", first)
		}
		var hdr map[string]any
		if err := json.Unmarshal([]byte(rest), &hdr); err != nil {
			t.Fatalf("header is not JSON: %v\n%s", err, rest)
		}
		if hdr["recipe_name"] != "tiny" || hdr["payload"] == nil {
			t.Fatalf("header: %v", hdr)
		}
		if !strings.Contains(rest, "\n  \"") || strings.Contains(rest, "\n    \"recipe_name") {
			t.Fatalf("header is not 2-space indented:\n%s", rest)
		}
	}
}

func TestUpstreamPickleArtifact(t *testing.T) {
	dir := t.TempDir()
	hdr := `{"recipe_name":"news","best_class":"IALSRecommender","irspack_version":"0.4.0"}`
	p := write(t, dir, "news.recotem", container(keyA.Secret, "k1", hdr, []byte("\x80\x05\x95pickle-bytes.")))
	out, err := run(t, Options{Path: p, Keys: ring(t, keyA), Sections: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "HMAC: OK  (kid='k1')\n{\n  \"recipe_name\": \"news\",\n  \"best_class\": \"IALSRecommender\",\n  \"irspack_version\": \"0.4.0\"\n}\n\npayload: 16 bytes, no section table (not a recotem-go payload)\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSpecVector(t *testing.T) {
	// recotem-behavior.md §4: the 62-byte dev-key vector.
	data := container(make([]byte, 32), "dev", `{"a":1}`, []byte("xyz"))
	if len(data) != 62 {
		t.Fatalf("vector length %d", len(data))
	}
	p := write(t, t.TempDir(), "v.recotem", data)
	out, err := run(t, Options{Path: p, DevAllowUnsigned: true, Env: "development", Keys: noKeys})
	if err != nil || out != "HMAC: OK  (kid='dev')\n{\n  \"a\": 1\n}\n" {
		t.Fatalf("out %q err %v", out, err)
	}
}

func TestFailures(t *testing.T) {
	dir := t.TempDir()
	good := tiny(t, keyA)
	f := func(name string, o Options, code int, line string) {
		t.Helper()
		_, err := run(t, o)
		if err == nil {
			t.Fatalf("%s: succeeded", name)
		}
		if err.Code != code || err.Line != line {
			t.Fatalf("%s: got %d %q, want %d %q", name, err.Code, err.Line, code, line)
		}
	}
	mut := func(name string, edit func([]byte) []byte) string {
		return write(t, dir, name, edit(append([]byte(nil), good...)))
	}
	keys := ring(t, keyA)
	f("zero-byte", Options{Path: write(t, dir, "zero", nil), Keys: keys}, 5, "Artifact parse failed: magic bytes mismatch")
	f("version 2", Options{Path: mut("v2", func(b []byte) []byte { b[8] = 2; return b }), Keys: keys}, 5, "Artifact parse failed: unsupported format version")
	f("reserved", Options{Path: mut("rs", func(b []byte) []byte { b[11] = 1; return b }), Keys: keys}, 5, "Artifact parse failed: reserved bytes must be zero")
	f("wrong key", Options{Path: write(t, dir, "wk", tiny(t, format.Key{ID: "k1", Secret: keyB.Secret})), Keys: keys}, 5, "HMAC verification failed: signature mismatch")
	f("absent kid", Options{Path: write(t, dir, "ak", tiny(t, keyB)), Keys: keys}, 5, "HMAC verification failed: unknown kid: k2")
	f("header too large", Options{Path: mut("big", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[13+2+32:], 65537)
		return b
	}), Keys: keys}, 5, "Artifact parse failed: header JSON too large")
	f("payload cap", Options{Path: write(t, dir, "pc", container(keyA.Secret, "k1", `{}`, make([]byte, 2<<20))), Keys: keys,
		Limits: format.Limits{MaxArtifactBytes: 4 << 20, MaxPayloadBytes: 1 << 20}}, 5, "Artifact parse failed: payload exceeds max bytes")
	f("artifact cap", Options{Path: write(t, dir, "ac", container(keyA.Secret, "k1", `{}`, make([]byte, 2<<20))), Keys: keys,
		Limits: format.Limits{MaxArtifactBytes: 1 << 20, MaxPayloadBytes: 1 << 20}}, 5, "Artifact parse failed: payload exceeds max bytes")
	f("missing", Options{Path: filepath.Join(dir, "nope.recotem"), Keys: keys}, 5, "Artifact parse failed: artifact not found")
	f("truncated", Options{Path: mut("tr", func(b []byte) []byte { return b[:30] }), Keys: keys}, 5, "Artifact parse failed: artifact truncated")
	f("flipped payload", Options{Path: mut("fp", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), Keys: keys}, 5, "HMAC verification failed: signature mismatch")
	_, err := run(t, Options{Path: write(t, dir, "nj", container(keyA.Secret, "k1", `[1,2]`, nil)), Keys: keys})
	if err == nil || err.Code != 5 || !strings.HasPrefix(err.Line, "Artifact parse failed: header JSON decode failed: ") {
		t.Fatalf("header not an object: %v", err)
	}
	f("unsupported scheme", Options{Path: "ftp://host/m.recotem", Keys: keys}, 5,
		"Artifact parse failed: unsupported artifact location: ftp:// (inspect reads local paths and file, s3, gs, az, abfs(s) and http(s) URIs)")

	// ConfigErrors (exit 8).
	p := write(t, dir, "ok", good)
	_, err = run(t, Options{Path: p, Keys: noKeys})
	if err == nil || err.Code != 8 || !errors.Is(err, ErrNoKeys) || !strings.Contains(err.Line, "kid 'k1'") ||
		!strings.Contains(err.Line, "RECOTEM_SIGNING_KEYS") || !strings.Contains(err.Line, "--dev-allow-unsigned") {
		t.Fatalf("no keys: %v", err)
	}
	malformed := errors.New("RECOTEM_SIGNING_KEYS: entry 1: key must be 64 hex characters (32 bytes)")
	f("malformed", Options{Path: p, Keys: func() (*format.KeyRing, error) { return nil, malformed }}, 8, "Configuration error: "+malformed.Error())
	// Dev flag without development: 8 before any I/O (the path does not exist).
	f("dev flag in production", Options{Path: filepath.Join(dir, "absent"), DevAllowUnsigned: true, Env: "production", Keys: noKeys}, 8,
		"Configuration error: --dev-allow-unsigned requires RECOTEM_ENV=development")
	f("dev flag in dev", Options{Path: p, DevAllowUnsigned: true, Env: "dev", Keys: noKeys}, 8,
		"Configuration error: --dev-allow-unsigned requires RECOTEM_ENV=development")
	// Structure errors beat missing keys (§1.5 order).
	f("structure before keys", Options{Path: write(t, dir, "z2", nil), Keys: noKeys}, 5, "Artifact parse failed: magic bytes mismatch")
}

func TestDevFlag(t *testing.T) {
	dir := t.TempDir()
	dev := write(t, dir, "dev", tiny(t, format.Key{ID: "dev", Secret: make([]byte, 32)}))
	out, err := run(t, Options{Path: dev, DevAllowUnsigned: true, Env: "development", Keys: noKeys})
	if err != nil || !strings.HasPrefix(out, "HMAC: OK  (kid='dev')\n") {
		t.Fatalf("dev: %q %v", out, err)
	}
	// The dev key does not verify a production artifact.
	_, err = run(t, Options{Path: write(t, dir, "prod", tiny(t, keyA)), DevAllowUnsigned: true, Env: "development", Keys: noKeys})
	if err == nil || err.Line != "HMAC verification failed: unknown kid: k1" {
		t.Fatalf("prod with dev key: %v", err)
	}
	// Keys set + flag: verify with the keys and warn.
	var logs bytes.Buffer
	out, err = run(t, Options{Path: write(t, dir, "k", tiny(t, keyA)), DevAllowUnsigned: true, Env: "development", Keys: ring(t, keyA),
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil || !strings.HasPrefix(out, "HMAC: OK  (kid='k1')") || !strings.Contains(logs.String(), `"msg":"dev_allow_unsigned_ignored"`) {
		t.Fatalf("keys + flag: %q %v %s", out, err, logs.String())
	}
}

func TestKidDisplay(t *testing.T) {
	p := write(t, t.TempDir(), "q", container(keyA.Secret, "a'b\n", `{}`, nil))
	out, err := run(t, Options{Path: p, Keys: ring(t, format.Key{ID: "a'b\n", Secret: keyA.Secret})})
	if err != nil || !strings.HasPrefix(out, `HMAC: OK  (kid='a\x27b\x0a')`) {
		t.Fatalf("%q %v", out, err)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs (run go test ./tools/inspect -update after checking):\n%s", p, got)
	}
}

func TestGoldenSectionsAndHex(t *testing.T) {
	p := write(t, t.TempDir(), "tiny.recotem", tiny(t, keyA))
	out, err := run(t, Options{Path: p, Keys: ring(t, keyA), Sections: true, Hex: true, HexPayload: 32})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tiny.golden", out)
	// The section table lists every section of the header, in file order.
	for _, s := range []string{"user_ids.off", "user_ids.data", "item_ids.off", "seen.indptr", "seen.indices (cols=3)", "item_factors"} {
		if !strings.Contains(out, s) {
			t.Fatalf("section %s missing from\n%s", s, out)
		}
	}
}

func TestGoldenVectorHex(t *testing.T) {
	p := write(t, t.TempDir(), "v.recotem", container(make([]byte, 32), "dev", `{"a":1}`, []byte("xyz")))
	out, err := run(t, Options{Path: p, DevAllowUnsigned: true, Env: "development", Keys: noKeys, Hex: true})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "vector.golden", out)
}

// TestDocsHexDumpsCurrent: docs/format.md shows the dumps this tool prints
// (the golden files), so the documentation cannot drift from the bytes.
func TestDocsHexDumpsCurrent(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "format.md"))
	if err != nil {
		t.Fatalf("docs/format.md: %v", err)
	}
	vec, err := os.ReadFile(filepath.Join("testdata", "vector.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, vec) {
		t.Fatal("docs/format.md does not contain testdata/vector.golden verbatim")
	}
	tinyG, err := os.ReadFile(filepath.Join("testdata", "tiny.golden"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(tinyG, []byte("payload: layout_version"))
	if i < 0 || !bytes.Contains(doc, tinyG[i:]) {
		t.Fatal("docs/format.md does not contain the section table and hex dump of testdata/tiny.golden")
	}
}

func TestHTTP(t *testing.T) {
	art := tiny(t, keyA)
	mux := http.NewServeMux()
	mux.HandleFunc("/models/m.abcd1234.recotem", func(w http.ResponseWriter, _ *http.Request) { w.Write(art) })
	mux.HandleFunc("/models/m.recotem", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "m.abcd1234.recotem\n") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(u string, w io.Writer) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		_, err = io.Copy(w, resp.Body)
		return err
	}
	for _, p := range []string{"/models/m.recotem", "/models/m.abcd1234.recotem"} {
		out, err := run(t, Options{Path: srv.URL + p, Keys: ring(t, keyA), Fetch: get})
		if err != nil || !strings.HasPrefix(out, "HMAC: OK  (kid='k1')\n") {
			t.Fatalf("%s: %q %v", p, out, err)
		}
	}
	_, err := run(t, Options{Path: srv.URL + "/models/m.recotem", Keys: ring(t, keyA), Fetch: get,
		Limits: format.Limits{MaxArtifactBytes: 1000, MaxPayloadBytes: 1000}})
	if err == nil || err.Line != "Artifact parse failed: payload exceeds max bytes" {
		t.Fatalf("over cap: %v", err)
	}
	_, err = run(t, Options{Path: srv.URL + "/nope", Keys: ring(t, keyA), Fetch: get})
	if err == nil || err.Code != ExitFetch || !strings.Contains(err.Line, "artifact missing or unreadable") {
		t.Fatalf("404: %v", err)
	}
	_, err = run(t, Options{Path: srv.URL + "/models/m.recotem", Keys: ring(t, keyA)})
	if err == nil || err.Code != 5 || !strings.Contains(err.Line, "unsupported artifact location: http://") {
		t.Fatalf("no fetcher: %v", err)
	}
}
