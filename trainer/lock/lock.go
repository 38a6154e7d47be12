//go:build unix

package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Sentinels. Callers map them to exit codes with errors.Is in one place.
var (
	// ErrContended: the lock is held by someone else (non-blocking acquire).
	ErrContended = errors.New("recipe lock is held by another process")
	// ErrTimeout: a bounded acquire waited its full timeout.
	ErrTimeout = errors.New("timed out waiting for recipe lock")
	// ErrSymlink: the lock path is a symbolic link (refused, exit 1 class).
	ErrSymlink = errors.New("recipe lock path is a symbolic link")
)

// RetryInterval is how often a bounded or unbounded acquire retries.
const RetryInterval = 50 * time.Millisecond

// Error describes a failed acquire; it unwraps to one of the sentinels or to
// the underlying OS error.
type Error struct {
	Path   string
	Waited time.Duration
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("lock %q: %v", e.Path, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Lock is a held recipe lock.
type Lock struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// Path is the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release unlocks and closes the lock file. The file itself is kept.
// Calling Release more than once is a no-op.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cerr := f.Close()
	if uerr != nil {
		return fmt.Errorf("unlock %q: %w", l.path, uerr)
	}
	if cerr != nil {
		return fmt.Errorf("close %q: %w", l.path, cerr)
	}
	return nil
}

// Acquire takes the exclusive lock at path. timeout 0 tries once
// (ErrContended if held); a negative timeout waits until ctx is done; a
// positive timeout retries every 50 ms and then fails with ErrTimeout.
// Parent directories are created (0700). A symlink at path fails with
// ErrSymlink; EACCES/EPERM on open or flock count as contended.
func Acquire(ctx context.Context, path string, timeout time.Duration) (*Lock, error) {
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	for {
		l, err := try(path)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, ErrContended) {
			return nil, &Error{Path: path, Waited: time.Since(start), Err: err}
		}
		if timeout == 0 {
			return nil, &Error{Path: path, Err: ErrContended}
		}
		wait := RetryInterval
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, &Error{Path: path, Waited: time.Since(start), Err: ErrTimeout}
			}
			wait = min(wait, left)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &Error{Path: path, Waited: time.Since(start), Err: ctx.Err()}
		case <-t.C:
		}
	}
}

func try(path string) (*Lock, error) {
	fd, err := syscall.Open(path, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ELOOP):
			return nil, ErrSymlink
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, ErrContended
		}
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			return nil, ErrContended
		}
		return nil, err
	}
	return &Lock{path: path, f: f}, nil
}

// PathFor maps an output path to its lock path. A local output (a plain path
// or a file:// URI) locks "<path>.lock" and local is true. Any other scheme
// locks "<lockDir>/<sha256 hex of outputPath>.lock" with local false: the
// caller logs recipe_lock_local_only. lockDir is RECOTEM_LOCK_DIR or, when
// empty, "<os.TempDir()>/recotem-locks".
func PathFor(outputPath, lockDir string) (lockPath string, local bool) {
	if p, ok := localPath(outputPath); ok {
		return p + ".lock", true
	}
	if lockDir == "" {
		lockDir = filepath.Join(os.TempDir(), "recotem-locks")
	}
	sum := sha256.Sum256([]byte(outputPath))
	return filepath.Join(lockDir, hex.EncodeToString(sum[:])+".lock"), false
}

// localPath reports whether p names a local file and returns its path.
func localPath(p string) (string, bool) {
	i := strings.Index(p, "://")
	if i <= 0 {
		return p, true
	}
	scheme := strings.ToLower(p[:i])
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return p, true // not a scheme: a local path containing "://"
		}
	}
	if scheme != "file" {
		return "", false
	}
	u, err := url.Parse(p)
	if err != nil || u.Path == "" {
		return strings.TrimPrefix(p[i+3:], "localhost"), true
	}
	return u.Path, true
}
