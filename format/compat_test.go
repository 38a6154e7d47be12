package format_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/tools/inspect"
)

func python(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, testenv.Python3, "python3")
}

// TestCompatPythonWrites: an artifact written by an independent stdlib
// Python implementation verifies and maps with our reader and with inspect.
func TestCompatPythonWrites(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "py.recotem")
	keyHex := hex.EncodeToString(testKey.Secret)
	if out, err := exec.Command(py, "testdata/compat.py", "write", p, "py", keyHex).CombinedOutput(); err != nil {
		t.Fatalf("compat.py write: %v\n%s", err, out)
	}
	ring, err := format.NewKeyRing(format.Key{ID: "py", Secret: testKey.Secret})
	if err != nil {
		t.Fatal(err)
	}
	a, err := format.Open(p, ring, format.Limits{})
	if err != nil {
		t.Fatalf("our reader rejects the Python artifact: %v", err)
	}
	defer a.Close()
	v, _, err := a.F32("scores")
	if err != nil || !slices.Equal(v, []float32{0.5, 1.5, -2, 4}) {
		t.Fatalf("scores %v %v", v, err)
	}
	var sb strings.Builder
	if err := inspect.Run(inspect.Options{Path: p, Keys: func() (*format.KeyRing, error) { return ring, nil }}, &sb); err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if !strings.HasPrefix(sb.String(), "HMAC: OK  (kid='py')\n{\n  \"recipe_name\": \"compat\"") {
		t.Fatalf("inspect output:\n%s", sb.String())
	}

	// The real binary, when it builds (not in -short).
	if testing.Short() {
		return
	}
	bin := filepath.Join(dir, "recotem")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/recotem").CombinedOutput(); err != nil {
		testenv.Require(t, testenv.GoTool, false, "cmd/recotem does not build here, binary check skipped: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "inspect", p)
	cmd.Env = append(os.Environ(), "RECOTEM_SIGNING_KEYS=py:"+keyHex)
	out, err := cmd.Output()
	if err != nil || !strings.HasPrefix(string(out), "HMAC: OK  (kid='py')\n") {
		t.Fatalf("recotem inspect: %v\n%s", err, out)
	}
}

// TestCompatPythonVerifies: an artifact written by format (append_sha with
// its pointer) verifies with the Python implementation, and a tampered copy
// does not.
func TestCompatPythonVerifies(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	b := format.NewBuilder()
	b.Strings("item_ids", []string{"a", "b"})
	b.Matrix32("item_factors", 2, 3, []float32{1, 2, 3, 4, 5, 6})
	out := filepath.Join(dir, "m.recotem")
	res, err := format.WriteArtifact(out, format.AppendSHA, testKey, map[string]any{"recipe_name": "m"}, b)
	if err != nil {
		t.Fatal(err)
	}
	keyHex := hex.EncodeToString(testKey.Secret)
	got, err := exec.Command(py, "testdata/compat.py", "verify", out, keyHex).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(got), "OK kid=k1 sections=3\n") {
		t.Fatalf("compat.py verify via pointer: %v\n%s", err, got)
	}
	data, err := os.ReadFile(res.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	bad := filepath.Join(dir, "bad.recotem")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = exec.Command(py, "testdata/compat.py", "verify", bad, keyHex).CombinedOutput()
	if err == nil || !strings.Contains(string(got), "signature mismatch") {
		t.Fatalf("compat.py accepted a tampered artifact: %v\n%s", err, got)
	}
}
