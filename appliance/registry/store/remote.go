package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
)

// DownloadTimeout bounds one artifact download.
const DownloadTimeout = 10 * time.Minute

// headBytes is how much of a download is kept for the log-safe kid.
const headBytes = 64

// Object-store artifacts: the marker is the pointer object's VersionId or
// ETag (§7), stats run under the watcher's stat timeout, and the resolved
// object is downloaded once per change (see the package doc).

// remote is a Store's object-store side: the blob store (opened on first
// use, closed once by Close) and, per output path, the last object
// downloaded for it.
type remote struct {
	mu     sync.Mutex
	store  *blob.Store
	closes int                  // times the store was closed
	copies map[string]*download // by output path
}

// download is the last download of an output path's resolved object.
type download struct {
	target string // resolved object URI
	tag    string // its blob.Info.Marker()
	sha    [32]byte
	head   []byte // first headBytes bytes
	file   string // temporary file with the bytes, "" once taken or dropped
}

// Error carries a canonical message and the sentinels the load and
// watcher paths classify with (format.ErrNotFound, fs.ErrNotExist, …).
type Error struct {
	msg  string
	errs []error
}

func (e *Error) Error() string   { return e.msg }
func (e *Error) Unwrap() []error { return e.errs }

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, blob.ErrNotFound):
		return &Error{msg: format.ErrNotFound.Error() + ": " + err.Error(), errs: []error{format.ErrNotFound, fs.ErrNotExist, err}}
	case errors.Is(err, blob.ErrTooLarge):
		return &Error{msg: format.ErrTooLarge.Error(), errs: []error{format.ErrTooLarge, err}}
	case errors.Is(err, blob.ErrPermission):
		return &Error{msg: err.Error(), errs: []error{fs.ErrPermission, err}}
	}
	return err
}

// Blobs returns the blob store, opening it on first use.
func (s *Store) Blobs() *blob.Store {
	s.rem.mu.Lock()
	defer s.rem.mu.Unlock()
	if s.rem.store == nil {
		s.rem.store = blob.NewStore()
	}
	return s.rem.store
}

// Close closes the blob store (its cached bucket handles) and removes kept
// downloads; serve calls it once after the drain.
func (s *Store) Close() error {
	s.rem.mu.Lock()
	st := s.rem.store
	s.rem.store = nil
	for p, c := range s.rem.copies {
		if c.file != "" {
			os.Remove(c.file)
		}
		delete(s.rem.copies, p)
	}
	if st != nil {
		s.rem.closes++
	}
	s.rem.mu.Unlock()
	if st == nil {
		return nil
	}
	return st.Close()
}

// State reports whether the blob store is open and how often an open one
// was closed (tests and diagnostics).
func (s *Store) State() (open bool, closes int) {
	s.rem.mu.Lock()
	defer s.rem.mu.Unlock()
	return s.rem.store != nil, s.rem.closes
}

// lastCopy returns the last download for path when it is of target with
// marker tag.
func (s *remote) lastCopy(path, target, tag string) (download, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.copies[path]
	if c == nil || c.target != target || c.tag != tag {
		return download{}, false
	}
	return *c, true
}

// take hands the kept file of path's last download to the caller when it
// is of target with marker tag.
func (s *remote) take(path, target, tag string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.copies[path]
	if c == nil || c.target != target || c.tag != tag || c.file == "" {
		return ""
	}
	f := c.file
	c.file = ""
	return f
}

// record makes c path's last download, removing the file of the one it
// replaces unless that file was taken.
func (s *remote) record(path string, c *download) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.copies[path]; old != nil && old.file != "" {
		os.Remove(old.file)
	}
	if s.copies == nil {
		s.copies = map[string]*download{}
	}
	s.copies[path] = c
}

// drop removes the kept file of path's last download (the record stays).
func (s *remote) drop(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.copies[path]; c != nil && c.file != "" {
		os.Remove(c.file)
		c.file = ""
	}
}

// remoteMarker stats the pointer object under timeout: its VersionId/ETag.
func (s *Store) remoteMarker(ctx context.Context, path string, timeout time.Duration) (Marker, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := s.Blobs().Stat(ctx, path)
	if err != nil {
		return Marker{}, mapErr(err)
	}
	return Marker{mod: info.ModTime.UnixNano(), size: info.Size, tag: info.Marker()}, nil
}

// resolve follows the pointer object at path under twice the stat timeout
// and refuses a target over the artifact cap.
func (s *Store) resolve(ctx context.Context, path string) (string, blob.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.statTimeout)
	defer cancel()
	target, info, _, err := s.Blobs().Resolve(ctx, path)
	if err != nil {
		return "", blob.Info{}, mapErr(err)
	}
	if info.Size > s.cap {
		return "", blob.Info{}, format.ErrTooLarge
	}
	return target, info, nil
}

// download streams target (≤ the cap) into a private temporary file while
// hashing it and records it as path's last download. keep leaves the file
// with the record for a later take; otherwise the caller owns (and
// removes) the returned file.
func (s *Store) download(ctx context.Context, path, target string, info blob.Info, keep bool) (*download, string, error) {
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	r, err := s.Blobs().Reader(ctx, target, s.cap)
	if err != nil {
		return nil, "", mapErr(err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp("", "recotem-serve-*.recotem")
	if err != nil {
		return nil, "", fmt.Errorf("artifact download buffer: %w", err)
	}
	name := tmp.Name()
	h := sha256.New()
	head := &headWriter{n: headBytes}
	_, err = io.Copy(io.MultiWriter(tmp, h, head), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, "", mapErr(err)
	}
	c := &download{target: target, tag: info.Marker(), head: head.b}
	h.Sum(c.sha[:0])
	rec := *c
	if keep {
		rec.file = name
		name = ""
	}
	s.rem.record(path, &rec)
	return c, name, nil
}

// headWriter keeps the first n bytes written to it.
type headWriter struct {
	b []byte
	n int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if k := min(w.n-len(w.b), len(p)); k > 0 {
		w.b = append(w.b, p[:k]...)
	}
	return len(p), nil
}

// Fetch follows the pointer object at path (an object-store URI) and returns a local file with
// the resolved object's bytes — the download the watcher's sha pass kept
// for this object, or else a new one (under the cap) — and the object's
// URI. The caller owns the file and removes it once opened.
func (s *Store) Fetch(ctx context.Context, path string) (file, target string, err error) {
	target, info, err := s.resolve(ctx, path)
	if err != nil {
		return "", "", err
	}
	name := s.rem.take(path, target, info.Marker())
	if name == "" {
		if _, name, err = s.download(ctx, path, target, info, false); err != nil {
			return "", "", err
		}
	}
	return name, target, nil
}

// remoteSHA is the watcher's sha256 of the resolved artifact object. The object
// is downloaded only when it is not the one last downloaded for path; the
// download is kept for the load that follows unless serving reports that
// a model with these bytes already serves path.
func (s *Store) remoteSHA(ctx context.Context, path string, serving func(sha [32]byte) bool) ([32]byte, error) {
	target, info, err := s.resolve(ctx, path)
	if err != nil {
		return [32]byte{}, err
	}
	if c, ok := s.rem.lastCopy(path, target, info.Marker()); ok {
		return c.sha, nil
	}
	c, _, err := s.download(ctx, path, target, info, true)
	if err != nil {
		return [32]byte{}, err
	}
	if serving(c.sha) {
		s.rem.drop(path)
	}
	return c.sha, nil
}

// remoteHead returns the first n bytes of the resolved artifact object (for the
// log-safe kid), or what there is, and the object's URI: from the last
// download when the pointer still names it, else read from the store.
func (s *Store) remoteHead(ctx context.Context, path string, n int) ([]byte, string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st := s.Blobs()
	target, info, _, err := st.Resolve(ctx, path)
	if err != nil {
		target = path
	} else if c, ok := s.rem.lastCopy(path, target, info.Marker()); ok && n <= headBytes {
		return c.head[:min(n, len(c.head))], target
	}
	r, err := st.Reader(ctx, target, 0)
	if err != nil {
		return nil, target
	}
	defer r.Close()
	b := make([]byte, n)
	k, _ := io.ReadFull(r, b)
	return b[:k], target
}
