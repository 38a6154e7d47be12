package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const systemdInstall = "apt-get install systemd (for systemd-analyze)"

// verifyUnits runs `systemd-analyze verify` on the units of dir inside a
// scratch root (--root): the units in /etc/systemd/system, a copy of the
// host's unit directory for the targets they name, and an executable at
// /usr/local/bin/recotem (verify checks that ExecStart exists; a stub
// stands in for the binary). The template units are verified through an
// instance (@news). verify exits 0 on unknown keys and other warnings, so
// any output at all is a failure.
func verifyUnits(t *testing.T, analyze, dir string, edit func(name string, b []byte) []byte) (string, error) {
	t.Helper()
	root := t.TempDir()
	unitDir := filepath.Join(root, "etc", "systemd", "system")
	for _, d := range []string{unitDir, filepath.Join(root, "usr", "local", "bin"), filepath.Join(root, "usr", "lib", "systemd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr", "local", "bin", "recotem"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if st, err := os.Stat(sys); err == nil && st.IsDir() {
			// A copy, not a link: verify resolves the units' own links
			// under --root.
			if out, err := exec.Command("cp", "-a", sys, filepath.Join(root, "usr", "lib", "systemd", "system")).CombinedOutput(); err != nil {
				t.Fatalf("copying %s: %v\n%s", sys, err, out)
			}
			break
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".service") && !strings.HasSuffix(name, ".timer") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			b = edit(name, b)
		}
		if err := os.WriteFile(filepath.Join(unitDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(name, "@.") {
			name = strings.Replace(name, "@.", "@news.", 1)
		}
		units = append(units, name)
	}
	if len(units) < 3 {
		t.Fatalf("want the serve service, train service and timer in %s, found %v", dir, units)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--root=" + root, "--man=no", "--generators=no"}, units...)...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func TestSystemdVerify(t *testing.T) {
	analyze := NeedTool(t, "systemd", "systemd-analyze", systemdInstall)
	dir := filepath.Join(RepoRoot(t), "deploy", "systemd")
	out, err := verifyUnits(t, analyze, dir, nil)
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// An unknown directive must fail the test (verify itself only warns).
func TestSystemdVerifyCatchesUnknownKey(t *testing.T) {
	analyze := NeedTool(t, "systemd", "systemd-analyze", systemdInstall)
	dir := filepath.Join(RepoRoot(t), "deploy", "systemd")
	out, err := verifyUnits(t, analyze, dir, func(name string, b []byte) []byte {
		if name == "recotem-serve.service" {
			return bytes.Replace(b, []byte("[Service]\n"), []byte("[Service]\nProtectSystems=strict\n"), 1)
		}
		return b
	})
	if err == nil && out == "" {
		t.Fatal("a unit with the unknown key ProtectSystems verified cleanly")
	}
	if !strings.Contains(out, "ProtectSystems") {
		t.Fatalf("output does not name the key: %v\n%s", err, out)
	}
	t.Logf("rejected as wanted: %s", out)
}

// The serve unit leaves the drain window plus 5 s before SIGKILL.
func TestSystemdServeStopTimeout(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "deploy", "systemd", "recotem-serve.service"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, "RECOTEM_DRAIN_SECONDS=30") || !strings.Contains(s, "TimeoutStopSec=35") {
		t.Fatal("recotem-serve.service: want RECOTEM_DRAIN_SECONDS=30 and TimeoutStopSec=35 (drain + 5)")
	}
}
