package appliance

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

// Object-store artifacts (s3, gs, az, abfs, abfss output paths): the marker
// is the pointer object's VersionId or ETag (§7), stats run under the
// watcher's stat timeout, and the resolved object is downloaded once per
// change: the watcher's sha256 pass streams it (≤ the artifact cap) into a
// private temporary file while hashing, and the load that follows opens
// that same file when the pointer still resolves to the same object
// (target URI and VersionId/ETag); format.Open maps it and the file is
// unlinked at once, the mapping keeps its pages. A pointer that changes
// but still names the object last downloaded needs no download at all.

// remoteDownloadTimeout bounds one artifact download.
const remoteDownloadTimeout = 10 * time.Minute

// remoteHeadBytes is how much of a download is kept for the log-safe kid.
const remoteHeadBytes = 64

// remoteState is an app's object-store side: the blob store (opened on
// first use, closed once after the drain) and, per output path, the last
// object downloaded for it.
type remoteState struct {
	mu     sync.Mutex
	store  *blob.Store
	closes int                    // times the store was closed (tests)
	copies map[string]*remoteCopy // by output path
}

// remoteCopy is the last download of an output path's resolved object.
type remoteCopy struct {
	target string // resolved object URI
	tag    string // its blob.Info.Marker()
	sha    [32]byte
	head   []byte // first remoteHeadBytes bytes
	file   string // temporary file with the bytes, "" once taken or dropped
}

// remoteErr carries a canonical message and the sentinels the load and
// watcher paths classify with (format.ErrNotFound, fs.ErrNotExist, …).
type remoteErr struct {
	msg  string
	errs []error
}

func (e *remoteErr) Error() string   { return e.msg }
func (e *remoteErr) Unwrap() []error { return e.errs }

func mapBlobErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, blob.ErrNotFound):
		return &remoteErr{msg: format.ErrNotFound.Error() + ": " + err.Error(), errs: []error{format.ErrNotFound, fs.ErrNotExist, err}}
	case errors.Is(err, blob.ErrTooLarge):
		return &remoteErr{msg: format.ErrTooLarge.Error(), errs: []error{format.ErrTooLarge, err}}
	case errors.Is(err, blob.ErrPermission):
		return &remoteErr{msg: err.Error(), errs: []error{fs.ErrPermission, err}}
	}
	return err
}

func (a *app) blobs() *blob.Store {
	s := &a.remote
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store == nil {
		s.store = blob.NewStore()
	}
	return s.store
}

// closeBlobs closes the blob store (its cached bucket handles) and removes
// kept downloads; run calls it once after the drain.
func (a *app) closeBlobs() {
	s := &a.remote
	s.mu.Lock()
	st := s.store
	s.store = nil
	for p, c := range s.copies {
		if c.file != "" {
			os.Remove(c.file)
		}
		delete(s.copies, p)
	}
	if st != nil {
		s.closes++
	}
	s.mu.Unlock()
	if st == nil {
		return
	}
	if err := st.Close(); err != nil {
		a.log.Warn("blob_store_close_failed", "error", clipError(err.Error()))
	}
}

// lastCopy returns the last download for path when it is of target with
// marker tag.
func (s *remoteState) lastCopy(path, target, tag string) (remoteCopy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.copies[path]
	if c == nil || c.target != target || c.tag != tag {
		return remoteCopy{}, false
	}
	return *c, true
}

// take hands the kept file of path's last download to the caller when it
// is of target with marker tag.
func (s *remoteState) take(path, target, tag string) string {
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
func (s *remoteState) record(path string, c *remoteCopy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.copies[path]; old != nil && old.file != "" {
		os.Remove(old.file)
	}
	if s.copies == nil {
		s.copies = map[string]*remoteCopy{}
	}
	s.copies[path] = c
}

// drop removes the kept file of path's last download (the record stays).
func (s *remoteState) drop(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.copies[path]; c != nil && c.file != "" {
		os.Remove(c.file)
		c.file = ""
	}
}

func (a *app) artifactCap() int64 {
	if c := a.cfg.Limits.MaxArtifactBytes; c > 0 {
		return c
	}
	return 2 << 30
}

// statTimeout is §7's per-stat bound, max(1, min(I, 30)) s; initial
// loads use it too, so an unresponsive store cannot stall startup.
func (a *app) statTimeout() time.Duration {
	return max(time.Second, min(a.cfg.watchInterval(), 30*time.Second))
}

// artifactMarker stats output.path (the pointer under append_sha): local
// files give (mtime, size), objects their VersionId/ETag.
func (a *app) artifactMarker(path string, timeout time.Duration) (fileMarker, error) {
	if !blob.IsRemote(path) {
		return localMarker(path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	info, err := a.blobs().Stat(ctx, path)
	if err != nil {
		return fileMarker{}, mapBlobErr(err)
	}
	return fileMarker{mod: info.ModTime.UnixNano(), size: info.Size, tag: info.Marker()}, nil
}

// resolveRemote follows the pointer object at path under twice the stat
// timeout and refuses a target over the artifact cap.
func (a *app) resolveRemote(path string) (string, blob.Info, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*a.statTimeout())
	defer cancel()
	target, info, _, err := a.blobs().Resolve(ctx, path)
	if err != nil {
		return "", blob.Info{}, mapBlobErr(err)
	}
	if info.Size > a.artifactCap() {
		return "", blob.Info{}, format.ErrTooLarge
	}
	return target, info, nil
}

// download streams target (≤ the cap) into a private temporary file while
// hashing it and records it as path's last download. keep leaves the file
// with the record for a later take; otherwise the caller owns (and
// removes) the returned file.
func (a *app) download(path, target string, info blob.Info, keep bool) (*remoteCopy, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), remoteDownloadTimeout)
	defer cancel()
	r, err := a.blobs().Reader(ctx, target, a.artifactCap())
	if err != nil {
		return nil, "", mapBlobErr(err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp("", "recotem-serve-*.recotem")
	if err != nil {
		return nil, "", fmt.Errorf("artifact download buffer: %w", err)
	}
	name := tmp.Name()
	h := sha256.New()
	head := &headWriter{n: remoteHeadBytes}
	_, err = io.Copy(io.MultiWriter(tmp, h, head), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, "", mapBlobErr(err)
	}
	c := &remoteCopy{target: target, tag: info.Marker(), head: head.b}
	h.Sum(c.sha[:0])
	rec := *c
	if keep {
		rec.file = name
		name = ""
	}
	a.remote.record(path, &rec)
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

// openRemote follows the pointer object, opens the download the watcher's
// sha pass kept for this object or else downloads it (under the cap), and
// opens it with a.open; the result's path is the object's URI.
func (a *app) openRemote(path string) (*opened, error) {
	target, info, err := a.resolveRemote(path)
	if err != nil {
		return nil, err
	}
	name := a.remote.take(path, target, info.Marker())
	if name == "" {
		if _, name, err = a.download(path, target, info, false); err != nil {
			return nil, err
		}
	}
	defer os.Remove(name)
	op, err := a.open(name, a.ring, a.cfg.Limits, a.residency())
	if err != nil {
		return nil, err
	}
	op.path = target
	return op, nil
}

// remoteSHA is the watcher's sha256 of the resolved artifact object. The
// object is downloaded only when it is not the one last downloaded for
// path; the download is kept for the load that follows unless a model
// with these bytes already serves path.
func (a *app) remoteSHA(path string) ([32]byte, error) {
	target, info, err := a.resolveRemote(path)
	if err != nil {
		return [32]byte{}, err
	}
	if c, ok := a.remote.lastCopy(path, target, info.Marker()); ok {
		return c.sha, nil
	}
	c, _, err := a.download(path, target, info, true)
	if err != nil {
		return [32]byte{}, err
	}
	if a.serving(path, c.sha) {
		a.remote.drop(path)
	}
	return c.sha, nil
}

// serving reports whether a model with sha serves an entry whose output
// path is path.
func (a *app) serving(path string, sha [32]byte) bool {
	for _, e := range a.reg.snapshot() {
		if e.info.OutputPath != path {
			continue
		}
		if l := e.cur.Load(); l != nil && l.sha == sha {
			return true
		}
	}
	return false
}

// remoteHead returns the first n bytes of the resolved artifact object
// (for the log-safe kid), or what there is: from the last download when
// the pointer still names it, else read from the store.
func (a *app) remoteHead(path string, n int) ([]byte, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := a.blobs()
	target, info, _, err := st.Resolve(ctx, path)
	if err != nil {
		target = path
	} else if c, ok := a.remote.lastCopy(path, target, info.Marker()); ok && n <= remoteHeadBytes {
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
