package blobsrc

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/trainer/source"
)

// Schemes lists the URI schemes the opener serves.
var Schemes = []string{"s3", "gs", "az", "abfs", "abfss"}

func init() {
	for _, s := range Schemes {
		source.RegisterOpener(s, Open)
	}
}

var (
	storeOnce sync.Once
	store     *blob.Store
)

// Store returns the process-wide bucket cache the opener uses.
func Store() *blob.Store {
	storeOnce.Do(func() { store = blob.NewStore() })
	return store
}

func dsErr(err error, format string, args ...any) *failure.Error {
	e := failure.New(failure.DataSource, "datasource_error", format, args...)
	e.Err = err
	return e
}

// Open probes the object's size against the cap and returns its body,
// which fails past cap+1 bytes.
func Open(ctx context.Context, path string, opt source.Options) (io.ReadCloser, error) {
	limit := opt.MaxDownloadBytes
	if limit <= 0 {
		limit = source.DefaultMaxDownloadBytes
	}
	log := opt.Logger
	st := Store()
	info, err := st.Stat(ctx, path)
	switch {
	case errors.Is(err, blob.ErrUnsupported):
		return nil, dsErr(nil, "source %s: %v", path, err)
	case errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrPermission):
		if log != nil {
			log.Warn("size_cap_probe_skipped_credential", "path", path, "error", err.Error())
		}
	case err != nil:
		return nil, dsErr(err, "size_cap_probe_failed: %s", path)
	case info.Size == 0:
		return nil, dsErr(nil, "source file is empty: %s", path)
	case info.Size > limit:
		return nil, dsErr(nil, "source file %s is %d bytes, over RECOTEM_MAX_DOWNLOAD_BYTES=%d", path, info.Size, limit)
	}
	r, err := st.Reader(ctx, path, limit)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return nil, dsErr(err, "source file not found: %s", path)
	case errors.Is(err, blob.ErrPermission):
		return nil, dsErr(err, "source file not readable: %s: permission denied", path)
	case err != nil:
		return nil, dsErr(err, "read source %s", path)
	}
	return &reader{r: r, path: path, limit: limit}, nil
}

// reader classifies read errors (cap overrun, network) as DataSource.
type reader struct {
	r     io.ReadCloser
	path  string
	limit int64
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, blob.ErrTooLarge) {
			return n, dsErr(nil, "source %s exceeds RECOTEM_MAX_DOWNLOAD_BYTES=%d", r.path, r.limit)
		}
		return n, dsErr(err, "read source %s", r.path)
	}
	return n, err
}

func (r *reader) Close() error { return r.r.Close() }
