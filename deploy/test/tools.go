package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv names the variable listing the tools whose absence fails the
// tests instead of skipping them: a comma list of helm, kustomize,
// systemd, or all.
const RequireEnv = "RECOTEM_TEST_REQUIRE"

// Required reports whether RECOTEM_TEST_REQUIRE names tool (or all).
func Required(tool string) bool {
	for _, f := range strings.Split(os.Getenv(RequireEnv), ",") {
		f = strings.TrimSpace(f)
		if f == "all" || f == tool {
			return true
		}
	}
	return false
}

// FindTool returns the path of an executable on PATH or in
// $(go env GOPATH)/bin, or "".
func FindTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// NeedTool returns the tool's path, or skips the test (fails it when
// RECOTEM_TEST_REQUIRE names the tool's group).
func NeedTool(t testing.TB, group, name, install string) string {
	t.Helper()
	if p := FindTool(name); p != "" {
		return p
	}
	if Required(group) {
		t.Fatalf("%s not found on PATH or in $(go env GOPATH)/bin and %s=%q requires it; install: %s",
			name, RequireEnv, os.Getenv(RequireEnv), install)
	}
	t.Skipf("%s not found on PATH or in $(go env GOPATH)/bin: skipping (install: %s; set %s=%s to make this a failure)",
		name, install, RequireEnv, group)
	return ""
}

// RepoRoot is the recotem repository root (two levels above this module).
func RepoRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "Containerfile")); err != nil {
		t.Fatalf("repository root not found at %s: %v", abs, err)
	}
	return abs
}
