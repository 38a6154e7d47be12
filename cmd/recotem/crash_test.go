package main

import (
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
)

// SIGKILL at random points of `recotem train` (several runs, spread over the
// whole run including the artifact write) never damages the published
// artifact or pointer: after every kill the pointer resolves to a file that
// verifies, and it is either the previous one or a complete new one.
func TestSIGKILLNeverCorruptsPublishedArtifact(t *testing.T) {
	if testing.Short() {
		t.Skip("kills several full train runs; skipped in -short")
	}
	k := genKeys(t)
	dir := t.TempDir()
	recipe := writeRecipe(t, dir, "crash", "TopPop, IALS", 4)
	env := []string{k.signingEnv, "RECOTEM_LOCK_DIR=" + filepath.Join(dir, "locks")}
	ring, err := format.ParseKeyRing(strings.TrimPrefix(k.signingEnv, "RECOTEM_SIGNING_KEYS="))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "crash.recotem")

	start := time.Now()
	if r := recotem(t, dir, env, "train", "-q", recipe); r.code != 0 {
		t.Fatalf("first train: %d %s", r.code, r.stderr)
	}
	full := time.Since(start)
	verify := func(when string) string {
		a, err := format.Open(out, ring, format.Limits{})
		if err != nil {
			t.Fatalf("%s: published artifact does not verify: %v", when, err)
		}
		defer a.Close()
		return hex.EncodeToString(a.SHA256[:])
	}
	verify("after the first run")

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const runs = 8
	for i := 0; i < runs; i++ {
		// Kill points spread over [0, 1.1·full]: early ones hit ingest and
		// search, late ones the refit and the write/rename/pointer steps.
		delay := time.Duration(rng.Float64() * 1.1 * float64(full))
		cmd := exec.Command(binPath, "train", "-q", "--run-id", "kill"+string(rune('a'+i)), recipe)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		t.Logf("run %d killed after %v (full run %v): model %s", i, delay, full, verify("after kill")[:8])
	}
	// Leftover temp files are allowed (a killed writer cannot clean up) but
	// they are never the pointer's target.
	ptr, _ := os.ReadFile(out)
	if strings.HasSuffix(strings.TrimSpace(string(ptr)), ".tmp") {
		t.Fatalf("pointer names a temp file: %q", ptr)
	}
}
