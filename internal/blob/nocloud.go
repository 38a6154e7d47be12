//go:build recotem_nocloud

// Under the recotem_nocloud build tag (the quick `make demo` binary) no
// cloud SDK and no gocloud is linked: file:// URIs open as a plain
// directory, with the same contract as full builds' fileblob (stat, capped
// read, put through a temporary file in the same directory renamed into
// place on Close, nothing published when the put is abandoned), and s3://,
// gs://, az://, abfs://, abfss:// URIs fail with ErrUnsupported naming the
// tag. Local paths (no scheme) never come here.

package blob

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CloudDrivers reports whether this build can open s3://, gs:// and az://
// URIs (false under the recotem_nocloud build tag).
const CloudDrivers = false

var errNoCloud = errors.New("this recotem binary was built with the recotem_nocloud tag and has no object-store drivers; use a full build (make build, or the container image)")

func openBucket(_ context.Context, loc Location) (bucket, error) {
	if loc.Scheme != "file" {
		return nil, &Error{Op: "open bucket", Kind: ErrUnsupported, Err: errNoCloud}
	}
	if err := os.MkdirAll(loc.Bucket, 0o777); err != nil {
		return nil, err
	}
	return dirBucket(loc.Bucket), nil
}

// dirBucket is a directory; keys are base names (Parse makes them so).
type dirBucket string

func (d dirBucket) path(key string) (string, error) {
	if key == "" || strings.ContainsRune(key, '/') || key == "." || key == ".." {
		return "", &fs.PathError{Op: "open", Path: key, Err: fs.ErrInvalid}
	}
	return filepath.Join(string(d), key), nil
}

func (d dirBucket) attributes(_ context.Context, key string) (Info, error) {
	p, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return Info{}, err
	}
	if st.IsDir() {
		return Info{}, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return Info{Size: st.Size(), ModTime: st.ModTime()}, nil
}

func (d dirBucket) newReader(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (d dirBucket) newWriter(ctx context.Context, key string) (io.WriteCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	// As fileblob with NoTempDir: "<path>.<hex ns>.tmp" beside the object,
	// mode 0666 less the umask (os.CreateTemp would make it 0600).
	for try := 0; ; try++ {
		name := p + "." + strconv.FormatInt(time.Now().UnixNano(), 16) + ".tmp"
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if os.IsExist(err) && try < 10000 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &dirWriter{ctx: ctx, File: f, dst: p}, nil
	}
}

func (d dirBucket) close() error { return nil }

// dirWriter writes the temporary file and renames it into place on Close,
// unless the context was cancelled by then; the temporary file never
// survives Close.
type dirWriter struct {
	ctx context.Context
	*os.File
	dst string
}

func (w *dirWriter) Close() error {
	tmp := w.File.Name()
	defer os.Remove(tmp) // after a rename there is nothing left to remove
	if err := w.File.Close(); err != nil {
		return err
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	return os.Rename(tmp, w.dst)
}

// driverKind: permission errors of the file system; not-found is found by
// classify through os.ErrNotExist.
func driverKind(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return ErrPermission
	}
	return nil
}
