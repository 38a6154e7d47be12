package source

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
)

// Compression names.
const (
	CompNone  = ""
	CompGzip  = "gzip"
	CompZstd  = "zstd"
	CompBzip2 = "bz2"
	CompXz    = "xz"
	CompZip   = "zip"
)

var magics = []struct {
	comp  string
	magic []byte
}{
	{CompGzip, []byte{0x1f, 0x8b}},
	{CompZstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{CompBzip2, []byte("BZh")},
	{CompXz, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{CompZip, []byte("PK\x03\x04")},
}

// CompressionByExt returns the compression a file name's extension implies.
func CompressionByExt(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".gz", ".gzip":
		return CompGzip
	case ".zst", ".zstd":
		return CompZstd
	case ".bz2":
		return CompBzip2
	case ".xz":
		return CompXz
	case ".zip":
		return CompZip
	}
	return CompNone
}

// CompressionByMagic returns the compression whose magic starts head.
func CompressionByMagic(head []byte) string {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.comp
		}
	}
	return CompNone
}

// detect decides the compression: the magic wins; an extension that
// promises a compression the bytes do not have is an error.
func detect(name string, head []byte) (string, error) {
	byMagic := CompressionByMagic(head)
	byExt := CompressionByExt(name)
	if byExt != CompNone && byMagic != byExt {
		return "", dsErr("source %s: extension says %s but the content is not %s", name, byExt, byExt)
	}
	return byMagic, nil
}

// counter counts raw bytes, hashes them when asked, and fails past the cap.
type counter struct {
	r     io.Reader
	n     int64
	cap   int64
	h     hash.Hash
	label string
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.h != nil && n > 0 {
		c.h.Write(p[:n])
	}
	if c.n > c.cap {
		return n, dsErr("source %s exceeds RECOTEM_MAX_DOWNLOAD_BYTES=%d", c.label, c.cap)
	}
	return n, err
}

// verify compares the digest of everything read with want (exit 7 on mismatch).
func (c *counter) verify(want *string) error {
	if want == nil || c.h == nil {
		return nil
	}
	got := hex.EncodeToString(c.h.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(got), []byte(*want)) != 1 {
		return failure.New(failure.HTTPFetch, "datasource_error", "sha256 mismatch: got %s…, expected %s…", got[:8], (*want)[:8])
	}
	return nil
}

// input is one opened, decompressed source file.
type input struct {
	r      io.Reader // decompressed bytes
	raw    *counter
	size   int64 // raw size when known, else -1
	comp   string
	closer []io.Closer
	file   *os.File // local file (parquet reads it at random)
}

func (in *input) Close() error {
	var first error
	for i := len(in.closer) - 1; i >= 0; i-- {
		if err := in.closer[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// statLocal applies §5.4's local checks: exists, readable, not a directory,
// not empty, not over the cap.
func statLocal(p string, limit int64) (string, os.FileInfo, error) {
	lp, err := recipe.LocalPath(p)
	if err != nil {
		return "", nil, dsErr("source %s: %v", p, err)
	}
	fi, err := os.Stat(lp)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", nil, dsErr("source file not found: %s", p)
	case errors.Is(err, os.ErrPermission):
		return "", nil, dsErr("source file not readable: %s: permission denied", p)
	case err != nil:
		return "", nil, dsErr("size_cap_probe_failed: %s: %v", p, errors.Unwrap(err))
	case fi.IsDir():
		return "", nil, dsErr("source %s is a directory", p)
	case fi.Size() == 0:
		return "", nil, dsErr("source file is empty: %s", p)
	case fi.Size() > limit:
		return "", nil, dsErr("source file %s is %d bytes, over RECOTEM_MAX_DOWNLOAD_BYTES=%d", p, fi.Size(), limit)
	}
	return lp, fi, nil
}

// probe is the cheap check of a csv/parquet path.
func probe(ctx context.Context, p string, opt Options) error {
	if recipe.IsLocal(p) {
		_, _, err := statLocal(p, opt.cap())
		return err
	}
	s := recipe.Scheme(p)
	if opener(s) == nil {
		return dsErr("reading %s sources is not available in this build", s)
	}
	if pr := prober(s); pr != nil {
		return pr(ctx, p, opt)
	}
	return nil
}

// open opens p (local or via a registered opener), counts and optionally
// hashes the raw bytes, and undoes compression. Zip needs random access,
// so a non-local zip is buffered (it is within the cap).
func open(ctx context.Context, p string, sha *string, opt Options) (*input, error) {
	in := &input{size: -1}
	var raw io.Reader
	if recipe.IsLocal(p) {
		lp, fi, err := statLocal(p, opt.cap())
		if err != nil {
			return nil, err
		}
		f, err := os.Open(lp)
		if err != nil {
			return nil, dsErr("open source %s: %v", p, errors.Unwrap(err))
		}
		in.file, in.size, raw = f, fi.Size(), f
		in.closer = append(in.closer, f)
	} else {
		o := opener(recipe.Scheme(p))
		if o == nil {
			return nil, dsErr("reading %s sources is not available in this build", recipe.Scheme(p))
		}
		rc, err := o(ctx, p, opt)
		if err != nil {
			return nil, err
		}
		raw = rc
		in.closer = append(in.closer, rc)
	}
	in.raw = &counter{r: raw, cap: opt.cap(), label: p}
	if sha != nil {
		in.raw.h = sha256.New()
	}
	br := bufio.NewReaderSize(in.raw, 1<<16)
	head, _ := br.Peek(8)
	comp, err := detect(p, head)
	if err != nil {
		in.Close()
		return nil, err
	}
	in.comp = comp
	switch comp {
	case CompNone:
		in.r = br
	case CompGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			in.Close()
			return nil, dsErr("source %s: gzip: %v", p, err)
		}
		in.r = zr
		in.closer = append(in.closer, zr)
	case CompZstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			in.Close()
			return nil, dsErr("source %s: zstd: %v", p, err)
		}
		in.r = zr
		in.closer = append(in.closer, closerFunc(func() error { zr.Close(); return nil }))
	case CompBzip2:
		in.r = bzip2.NewReader(br)
	case CompXz:
		zr, err := xz.NewReader(br)
		if err != nil {
			in.Close()
			return nil, dsErr("source %s: xz: %v", p, err)
		}
		in.r = zr
	case CompZip:
		data, err := io.ReadAll(br)
		if err != nil {
			in.Close()
			return nil, classify(p, err)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			in.Close()
			return nil, dsErr("source %s: zip: %v", p, err)
		}
		var member *zip.File
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, "/") {
				continue
			}
			if member != nil {
				in.Close()
				return nil, dsErr("source %s: zip archive must hold exactly one file", p)
			}
			member = f
		}
		if member == nil {
			in.Close()
			return nil, dsErr("source %s: zip archive is empty", p)
		}
		mr, err := member.Open()
		if err != nil {
			in.Close()
			return nil, dsErr("source %s: zip: %v", p, err)
		}
		in.r = mr
		in.closer = append(in.closer, mr)
	}
	return in, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// classify turns a read error into a classified one, keeping classes.
func classify(p string, err error) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	return dsErr("read source %s: %v", p, err)
}

// finish drains the raw reader (so the digest covers the whole file) and
// checks the sha256 pin.
func (in *input) finish(sha *string) error {
	if sha == nil {
		return nil
	}
	if _, err := io.Copy(io.Discard, in.raw); err != nil {
		return err
	}
	return in.raw.verify(sha)
}
