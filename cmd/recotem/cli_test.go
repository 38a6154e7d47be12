package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The real binary, built once per test run (style.md #16: test the binary).
var binPath string

// Coverage of the binary runs (Go's integration coverage). Under go test
// -cover the test binary is itself a -cover build, so TestMain does not
// build another one: binPath is a link named "recotem" to the test binary,
// which runs main() when started under that name (the re-exec trick), and
// every such run writes its counters (GOCOVERDIR) into the directory the
// test run collects its own from (-test.gocoverdir). They share the test
// binary's coverage meta-data, so the figure go test prints counts every
// line the binary runs executed:
//
//	go test -cover ./cmd/recotem                      # package main, binary runs included
//	go test -cover -coverpkg=./... ./cmd/recotem      # every package the binary reaches
//	go test -coverprofile=cover.out -coverpkg=./... ./cmd/recotem && go tool cover -func=cover.out
//
// Without -cover, TestMain builds the binary with go build, as before. With
// -race -cover the binary runs are race-instrumented too, so slower.
const binName = "recotem"

// coverDirFile, next to binPath, names the directory for the binary runs'
// counters: the tests give the binary a clean environment, so it cannot
// inherit GOCOVERDIR.
const coverDirFile = "gocoverdir"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == binName {
		runAsBinary()
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "recotem-bin-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, binName)
	if err := makeBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, "build recotem:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// makeBinary links the test binary as binPath when coverage is on, else
// builds the command.
func makeBinary(dir string) error {
	if f := flag.Lookup("test.gocoverdir"); testing.CoverMode() != "" && f != nil && f.Value.String() != "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		if err := os.Symlink(exe, binPath); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, coverDirFile), []byte(f.Value.String()), 0o644)
	}
	cmd := exec.Command("go", "build", "-o", binPath, ".")
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// runAsBinary is the test binary started as binPath: it is the recotem
// command, with its coverage counters going to the test run's directory.
func runAsBinary() {
	if os.Getenv("GOCOVERDIR") == "" {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(os.Args[0]), coverDirFile)); err == nil {
			os.Setenv("GOCOVERDIR", string(b))
		}
	}
	main()
	os.Exit(0) // main exits itself; never reached
}

// repoRoot is the module root (tests run in cmd/recotem).
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

type runResult struct {
	code           int
	stdout, stderr string
}

// recotem runs the binary in dir with env (on top of a clean environment).
func recotem(t testing.TB, dir string, env []string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run recotem %v: %v", args, err)
	}
	return runResult{code, out.String(), errb.String()}
}

// events parses the JSON log lines of stderr.
func events(t testing.TB, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func findEvent(evs []map[string]any, name string) map[string]any {
	for _, e := range evs {
		if e["event"] == name {
			return e
		}
	}
	return nil
}

func TestUsageExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"train"}, 2},
		{[]string{"train", "--bogus-flag", "x.yaml"}, 2},
		{[]string{"train", "--help"}, 0},
	} {
		r := recotem(t, dir, nil, tc.args...)
		if r.code != tc.code {
			t.Errorf("recotem %v exit %d, want %d; stderr %s", tc.args, r.code, tc.code, r.stderr)
		}
	}
}

func waitFor(t testing.TB, d time.Duration, f func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

var _ = io.Discard
