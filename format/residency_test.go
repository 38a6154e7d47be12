package format_test

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
)

func leasedFile(t *testing.T) (string, []byte) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("file leases are Linux behaviour")
	}
	p := filepath.Join(t.TempDir(), "m.recotem")
	data := tinyPayload(t, testKey)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// waitChanged waits for the lease-break signal and for Changed to report.
func waitChanged(t *testing.T, a *format.Artifact, sig chan os.Signal) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if why := a.Changed(); why != "" {
			return why
		}
		select {
		case <-sig:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatal("Changed never reported the writer")
		}
	}
}

// TestLeasedHoldsWriterUntilClose: a `cp` over a Leased artifact is held by
// the kernel; the holder sees the break, copies the verified bytes, closes,
// and only then does the writer's data land. The copy keeps the verified
// bytes whatever the file holds afterwards.
func TestLeasedHoldsWriterUntilClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(p string) error
	}{
		{"cp over it", func(p string) error { return exec.Command("cp", "/dev/null", p).Run() }},
		// truncate(2) by path waits for the holder (coreutils truncate opens
		// with O_NONBLOCK instead and fails at once with EAGAIN).
		{"truncate", func(p string) error { return os.Truncate(p, 4096) }},
		{"write in place", func(p string) error {
			return exec.Command("dd", "if=/dev/zero", "of="+p, "bs=1", "count=64", "seek=200", "conv=notrunc").Run()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, data := leasedFile(t)
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, format.LeaseSignal)
			defer signal.Stop(sig)
			a, err := format.OpenAs(p, testRing(t), format.Limits{}, format.Leased)
			if err != nil {
				t.Fatal(err)
			}
			if a.Residency() != format.Leased || a.LeaseRefused() != "" {
				t.Fatalf("residency %v (%s)", a.Residency(), a.LeaseRefused())
			}
			if why := a.Changed(); why != "" {
				t.Fatalf("changed before any writer: %s", why)
			}
			v, _, _ := a.F64("popularity")
			done := make(chan error, 1)
			go func() { done <- tc.act(p) }()
			why := waitChanged(t, a, sig)
			if !strings.Contains(why, "lease") {
				t.Fatalf("reason %q", why)
			}
			// The writer is held: the file still has the verified bytes.
			if got, _ := os.ReadFile(p); !slices.Equal(got, data) {
				t.Fatal("the writer went on while the lease was held")
			}
			select {
			case err := <-done:
				t.Fatalf("writer finished while the lease was held: %v", err)
			default:
			}
			c, err := a.Copy()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Residency() != format.Private || c.SHA256 != a.SHA256 || c.Kid != a.Kid {
				t.Fatalf("copy: %v %x %s", c.Residency(), c.SHA256[:4], c.Kid)
			}
			if want := slices.Clone(v); a.Close() != nil || !slices.Equal(mustF64(t, c), want) {
				t.Fatal("copy differs")
			}
			if err := <-done; err != nil {
				t.Fatalf("writer: %v", err)
			}
			if got, _ := os.ReadFile(p); slices.Equal(got, data) {
				t.Fatal("the writer's change never landed")
			}
			if c.Changed() != "" {
				t.Fatal("a private copy reports a change")
			}
		})
	}
}

func mustF64(t *testing.T, a *format.Artifact) []float64 {
	t.Helper()
	v, _, err := a.F64("popularity")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLeaseRefusedFallsBackToPrivate: a file open for writing elsewhere
// cannot be leased; the artifact is then a verified private copy that a
// later write does not reach.
func TestLeaseRefusedFallsBackToPrivate(t *testing.T) {
	p, data := leasedFile(t)
	w, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	a, err := format.OpenAs(p, testRing(t), format.Limits{}, format.Leased)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Residency() != format.Private || !strings.Contains(a.LeaseRefused(), "lease refused") {
		t.Fatalf("residency %v, refused %q", a.Residency(), a.LeaseRefused())
	}
	before := slices.Clone(mustF64(t, a))
	if _, err := w.WriteAt(make([]byte, len(data)-300), 300); err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(100); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mustF64(t, a), before) || a.Changed() != "" {
		t.Fatal("a private artifact changed with its file")
	}
}

// TestPrivateIgnoresTheFile: Private reads the file once; truncation and
// rewrites afterwards reach nothing.
func TestPrivateIgnoresTheFile(t *testing.T) {
	p, _ := leasedFile(t)
	a, err := format.OpenAs(p, testRing(t), format.Limits{}, format.Private)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := slices.Clone(mustF64(t, a))
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mustF64(t, a), before) {
		t.Fatal("private bytes changed")
	}
}

// TestCopyOfTruncatedMappingFaultsSafely: copying a Mapped (unleased)
// artifact whose file was truncated touches pages that no longer exist;
// Copy reports ErrChanged instead of the process dying of SIGBUS.
func TestCopyOfTruncatedMappingFaultsSafely(t *testing.T) {
	p, _ := leasedFile(t)
	// Make the file span several pages so that truncation unbacks some.
	big := format.NewBuilder()
	big.F64("popularity", make([]float64, 4096))
	if _, err := format.WriteArtifact(p, format.AlwaysOverwrite, testKey, map[string]any{"v": 1}, big); err != nil {
		t.Fatal(err)
	}
	a, err := format.Open(p, testRing(t), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := os.Truncate(p, 4096); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Copy(); !errors.Is(err, format.ErrChanged) || !strings.Contains(err.Error(), "fault") {
		t.Fatalf("copy of a truncated mapping: %v", err)
	}
}

// TestCopyOfRewrittenMappingIsRefused: an unleased mapping whose bytes were
// rewritten in place no longer hashes to the verified sha256.
func TestCopyOfRewrittenMappingIsRefused(t *testing.T) {
	p, data := leasedFile(t)
	a, err := format.Open(p, testRing(t), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^data[len(data)-1]}, int64(len(data)-1)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := a.Copy(); !errors.Is(err, format.ErrChanged) {
		t.Fatalf("copy of rewritten bytes: %v", err)
	}
}
