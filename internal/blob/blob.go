package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recotem/recotem/format"
)

// Schemes of object-store URIs (file:// is handled too but is local).
var remoteSchemes = map[string]bool{"s3": true, "gs": true, "az": true, "abfs": true, "abfss": true}

// IsRemote reports whether p is an object-store URI (s3, gs, az, abfs,
// abfss), as opposed to a local path or file:// URI.
func IsRemote(p string) bool {
	s, _, ok := strings.Cut(p, "://")
	return ok && remoteSchemes[strings.ToLower(s)]
}

// Location is a parsed object URI.
type Location struct {
	Scheme  string // lower case: s3, gs, az, abfs, abfss, file
	Bucket  string // bucket or container; for file the directory
	Account string // Azure storage account when the URI names one
	Key     string // object key, no leading slash; for file the base name
}

// Parse splits an object URI. Keys must be non-empty; userinfo is refused
// for s3, abfs and abfss.
func Parse(uri string) (Location, error) {
	fail := func(msg string) (Location, error) {
		return Location{}, &Error{Op: "parse", URI: uri, Kind: ErrUnsupported, Err: errors.New(msg)}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return fail("not a URI")
	}
	loc := Location{Scheme: strings.ToLower(u.Scheme)}
	switch loc.Scheme {
	case "file":
		if h := u.Host; h != "" && h != "localhost" {
			return fail("file:// URIs must name no host")
		}
		p := filepath.FromSlash(u.Path)
		if p == "" || !filepath.IsAbs(p) || strings.HasSuffix(u.Path, "/") {
			return fail("file:// URIs need an absolute file path")
		}
		loc.Bucket, loc.Key = filepath.Dir(p), filepath.Base(p)
		return loc, nil
	case "s3", "abfs", "abfss":
		if u.User != nil {
			return fail("URI must not carry credentials")
		}
	case "gs", "az":
	default:
		return fail("scheme " + strconv.Quote(u.Scheme) + " is not an object store")
	}
	loc.Bucket = u.Host
	if u.User != nil {
		// gs://project@bucket keeps the bucket; az://container@account
		// names the account.
		if loc.Scheme == "az" {
			loc.Bucket, loc.Account = u.User.Username(), accountOf(u.Host)
		}
	}
	loc.Key = strings.TrimPrefix(u.Path, "/")
	if loc.Bucket == "" || loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
		return fail("URI needs a bucket and an object key")
	}
	return loc, nil
}

// accountOf turns "acct.dfs.core.windows.net" (or a bare "acct") into "acct".
func accountOf(host string) string {
	a, _, _ := strings.Cut(host, ".")
	return a
}

// Sibling returns the URI of name in the same directory as uri (a pointer's
// target). name must be a base name.
func Sibling(uri, name string) string {
	i := strings.LastIndex(uri, "/")
	if i < 0 {
		return name
	}
	return uri[:i+1] + name
}

// Info describes one object.
type Info struct {
	Size      int64
	ModTime   time.Time
	ETag      string
	VersionID string // S3 VersionId when versioning is on; GCS object generation
}

// Marker is the change marker of §7: the VersionId if the store has one,
// else the ETag, else mtime and size.
func (i Info) Marker() string {
	switch {
	case i.VersionID != "":
		return "v:" + i.VersionID
	case i.ETag != "":
		return "e:" + i.ETag
	}
	return "m:" + strconv.FormatInt(i.ModTime.UnixNano(), 10) + ":" + strconv.FormatInt(i.Size, 10)
}

// bucket is one open bucket (a directory for file://). Full builds use
// gocloud's drivers for every scheme (cloud.go); recotem_nocloud builds
// open file:// as a plain directory and nothing else (nocloud.go).
type bucket interface {
	// attributes stats key: Size, ModTime, ETag and VersionID as the
	// store reports them.
	attributes(ctx context.Context, key string) (Info, error)
	newReader(ctx context.Context, key string) (io.ReadCloser, error)
	// newWriter publishes the object on Close, unless ctx was cancelled
	// first: then Close abandons it and nothing is published.
	newWriter(ctx context.Context, key string) (io.WriteCloser, error)
	close() error
}

// Store opens and caches bucket handles. The zero value is not usable; use
// NewStore.
type Store struct {
	mu      sync.Mutex
	buckets map[string]bucket
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{buckets: map[string]bucket{}} }

// Close releases every cached bucket.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for k, b := range s.buckets {
		if err := b.close(); err != nil && first == nil {
			first = err
		}
		delete(s.buckets, k)
	}
	return first
}

func (s *Store) bucket(ctx context.Context, loc Location) (bucket, error) {
	id := loc.Scheme + "\x00" + loc.Account + "\x00" + loc.Bucket
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.buckets[id]; ok {
		return b, nil
	}
	b, err := openBucket(ctx, loc)
	if err != nil {
		return nil, err
	}
	s.buckets[id] = b
	return b, nil
}

// classify maps a driver error onto the sentinels.
func classify(op, uri string, err error) error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		if be.URI == "" {
			be.URI = uri
		}
		return err
	}
	e := &Error{Op: op, URI: uri, Err: err, Kind: driverKind(err)}
	if e.Kind == nil && errors.Is(err, os.ErrNotExist) {
		e.Kind = ErrNotFound
	}
	return e
}

// Stat returns the object's size and change marker fields.
func (s *Store) Stat(ctx context.Context, uri string) (Info, error) {
	loc, err := Parse(uri)
	if err != nil {
		return Info{}, err
	}
	b, err := s.bucket(ctx, loc)
	if err != nil {
		return Info{}, classify("open bucket", uri, err)
	}
	info, err := b.attributes(ctx, loc.Key)
	if err != nil {
		return Info{}, classify("stat", uri, err)
	}
	if loc.Scheme == "file" {
		info.ETag = "" // a file's "ETag" is mtime+size: keep the plain marker
	}
	return info, nil
}

// Open stats the object (the size probe), refuses it when it is larger
// than maxBytes (ErrTooLarge), and returns a reader that fails with
// ErrTooLarge should the body run past maxBytes anyway. maxBytes ≤ 0 means
// no cap.
func (s *Store) Open(ctx context.Context, uri string, maxBytes int64) (io.ReadCloser, Info, error) {
	info, err := s.Stat(ctx, uri)
	if err != nil {
		return nil, Info{}, err
	}
	if maxBytes > 0 && info.Size > maxBytes {
		return nil, info, &Error{Op: "read", URI: uri, Kind: ErrTooLarge, Err: fmt.Errorf("%d bytes, cap %d", info.Size, maxBytes)}
	}
	r, err := s.Reader(ctx, uri, maxBytes)
	return r, info, err
}

// Reader opens the object's body without a stat; the reader fails with
// ErrTooLarge past maxBytes (≤ 0: no cap). Open is Stat plus Reader.
func (s *Store) Reader(ctx context.Context, uri string, maxBytes int64) (io.ReadCloser, error) {
	loc, err := Parse(uri)
	if err != nil {
		return nil, err
	}
	b, err := s.bucket(ctx, loc)
	if err != nil {
		return nil, classify("open bucket", uri, err)
	}
	r, err := b.newReader(ctx, loc.Key)
	if err != nil {
		return nil, classify("read", uri, err)
	}
	return &capReader{r: r, left: maxBytes, capped: maxBytes > 0, uri: uri, max: maxBytes}, nil
}

type capReader struct {
	r      io.ReadCloser
	left   int64
	capped bool
	max    int64
	uri    string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.capped && int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.capped {
		c.left -= int64(n)
		if c.left < 0 {
			return n, &Error{Op: "read", URI: c.uri, Kind: ErrTooLarge, Err: fmt.Errorf("body runs past cap %d", c.max)}
		}
	}
	if err != nil && err != io.EOF {
		return n, classify("read", c.uri, err)
	}
	return n, err
}

func (c *capReader) Close() error { return c.r.Close() }

// ReadAll reads the whole object under maxBytes.
func (s *Store) ReadAll(ctx context.Context, uri string, maxBytes int64) ([]byte, Info, error) {
	r, info, err := s.Open(ctx, uri, maxBytes)
	if err != nil {
		return nil, info, err
	}
	defer r.Close()
	var buf bytes.Buffer
	buf.Grow(int(max(info.Size, 0)) + 1)
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, info, err
	}
	return buf.Bytes(), info, nil
}

// Put writes the object in one request series that publishes it whole
// (plain put; a multipart upload completes atomically). size is a hint
// (-1 unknown). On failure nothing is published.
func (s *Store) Put(ctx context.Context, uri string, r io.Reader) error {
	loc, err := Parse(uri)
	if err != nil {
		return err
	}
	b, err := s.bucket(ctx, loc)
	if err != nil {
		return classify("open bucket", uri, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.newWriter(wctx, loc.Key)
	if err != nil {
		return classify("put", uri, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel() // abandons the upload: nothing is published
		w.Close()
		return classify("put", uri, err)
	}
	if err := w.Close(); err != nil {
		return classify("put", uri, err)
	}
	return nil
}

// Resolve follows a pointer object (format.IsPointer: ≤512 bytes naming a
// sibling "*.recotem") and returns the URI and Info of the object holding
// the artifact, and whether uri was a pointer. A missing target is an
// ErrNotFound naming both.
func (s *Store) Resolve(ctx context.Context, uri string) (string, Info, bool, error) {
	info, err := s.Stat(ctx, uri)
	if err != nil {
		return "", Info{}, false, err
	}
	if info.Size > format.MaxPointerBytes {
		return uri, info, false, nil
	}
	b, _, err := s.ReadAll(ctx, uri, format.MaxPointerBytes)
	if err != nil {
		return "", Info{}, false, err
	}
	if !format.IsPointer(b) {
		return uri, info, false, nil
	}
	name := strings.TrimSpace(string(b))
	target := Sibling(uri, name)
	tinfo, err := s.Stat(ctx, target)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", Info{}, true, &Error{Op: "stat", URI: uri, Kind: ErrNotFound,
				Err: fmt.Errorf("pointer %s names %s, which does not exist", path.Base(uri), name)}
		}
		return "", Info{}, true, err
	}
	return target, tinfo, true, nil
}
