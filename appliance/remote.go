package appliance

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/tools/blob"
)

// Object-store artifacts (s3, gs, az, abfs, abfss output paths): the marker
// is the pointer object's VersionId or ETag (§7), stats run under the
// watcher's stat timeout, and a load downloads the resolved object (≤ the
// artifact cap) into a private temporary file that format.Open maps; the
// file is unlinked at once, the mapping keeps its pages.

// remoteDownloadTimeout bounds one artifact download.
const remoteDownloadTimeout = 10 * time.Minute

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
	a.blobOnce.Do(func() {
		if a.blobStore == nil {
			a.blobStore = blob.NewStore()
		}
	})
	return a.blobStore
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
		return statMarker(path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	info, err := a.blobs().Stat(ctx, path)
	if err != nil {
		return fileMarker{}, mapBlobErr(err)
	}
	return fileMarker{mod: info.ModTime.UnixNano(), size: info.Size, tag: info.Marker()}, nil
}

// openRemote follows the pointer object, downloads the artifact under the
// cap and opens it with a.open; the result's path is the object's URI.
func (a *app) openRemote(path string) (*opened, error) {
	st := a.blobs()
	sctx, scancel := context.WithTimeout(context.Background(), 2*a.statTimeout())
	target, info, _, err := st.Resolve(sctx, path)
	scancel()
	if err != nil {
		return nil, mapBlobErr(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteDownloadTimeout)
	defer cancel()
	capB := a.artifactCap()
	if info.Size > capB {
		return nil, format.ErrTooLarge
	}
	r, err := st.Reader(ctx, target, capB)
	if err != nil {
		return nil, mapBlobErr(err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp("", "recotem-serve-*.recotem")
	if err != nil {
		return nil, fmt.Errorf("artifact download buffer: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, mapBlobErr(err)
	}
	op, err := a.open(name, a.ring, a.cfg.Limits)
	if err != nil {
		return nil, err
	}
	op.path = target
	return op, nil
}

// remoteSHA hashes the resolved artifact object (≤ the cap).
func (a *app) remoteSHA(path string) ([32]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), remoteDownloadTimeout)
	defer cancel()
	st := a.blobs()
	target, _, _, err := st.Resolve(ctx, path)
	if err != nil {
		return [32]byte{}, mapBlobErr(err)
	}
	r, _, err := st.Open(ctx, target, a.artifactCap())
	if err != nil {
		return [32]byte{}, mapBlobErr(err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return [32]byte{}, mapBlobErr(err)
	}
	var s [32]byte
	h.Sum(s[:0])
	return s, nil
}

// remoteHead returns the first n bytes of the resolved artifact object
// (for the log-safe kid), or what there is.
func (a *app) remoteHead(path string, n int) ([]byte, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := a.blobs()
	target, _, _, err := st.Resolve(ctx, path)
	if err != nil {
		target = path
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
