//go:build unix

package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAcquireRelease(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "b", "out.recotem.lock")
	l, err := Acquire(context.Background(), p, 0)
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	// A second open file description contends, even in the same process.
	_, err = Acquire(context.Background(), p, 0)
	if !errors.Is(err, ErrContended) {
		t.Fatalf("second acquire: %v, want ErrContended", err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("lock file must persist: %v", err)
	}
	l2, err := Acquire(context.Background(), p, 0)
	if err != nil {
		t.Fatalf("reacquire: %v", err)
	}
	l2.Release()
}

func TestAcquireTimeout(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	held, err := Acquire(context.Background(), p, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	start := time.Now()
	_, err = Acquire(context.Background(), p, 120*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	var le *Error
	if !errors.As(err, &le) || le.Waited < 120*time.Millisecond || time.Since(start) < 120*time.Millisecond {
		t.Fatalf("returned before the timeout: %v", err)
	}
}

func TestAcquireWaitsForRelease(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	held, err := Acquire(context.Background(), p, 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(80 * time.Millisecond)
		held.Release()
	}()
	for _, timeout := range []time.Duration{-1} {
		l, err := Acquire(context.Background(), p, timeout)
		if err != nil {
			t.Fatalf("timeout %v: %v", timeout, err)
		}
		l.Release()
	}
	// Forever-wait honours ctx.
	held2, err := Acquire(context.Background(), p, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held2.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, p, -1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context deadline", err)
	}
}

func TestAcquireSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "out.lock")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(context.Background(), p, 0)
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("got %v, want ErrSymlink", err)
	}
	if errors.Is(err, ErrContended) {
		t.Fatal("a symlink must not look contended")
	}
}

func TestPathFor(t *testing.T) {
	f := func(out, dir, want string, wantLocal bool) {
		t.Helper()
		got, local := PathFor(out, dir)
		if local != wantLocal {
			t.Fatalf("PathFor(%q) local=%v, want %v", out, local, wantLocal)
		}
		if want != "" && got != want {
			t.Fatalf("PathFor(%q) = %q, want %q", out, got, want)
		}
		if !wantLocal {
			base := filepath.Base(got)
			if len(base) != 64+len(".lock") || !strings.HasSuffix(base, ".lock") {
				t.Fatalf("remote lock name %q is not <sha256 hex>.lock", base)
			}
		}
	}
	f("out/model.recotem", "/ignored", "out/model.recotem.lock", true)
	f("/abs/model.recotem", "", "/abs/model.recotem.lock", true)
	f("file:///abs/model.recotem", "", "/abs/model.recotem.lock", true)
	f("s3://bucket/model.recotem", "/locks", "", false)
	f("gs://bucket/model.recotem", "", "", false)
	a, _ := PathFor("s3://bucket/a", "/locks")
	b, _ := PathFor("s3://bucket/b", "/locks")
	if a == b || filepath.Dir(a) != "/locks" {
		t.Fatalf("remote lock paths %q %q", a, b)
	}
	d, _ := PathFor("s3://bucket/a", "")
	if filepath.Dir(d) != filepath.Join(os.TempDir(), "recotem-locks") {
		t.Fatalf("default lock dir: %q", d)
	}
}
