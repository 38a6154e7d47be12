// Package store reads served artifacts where a recipe's output.path puts
// them: a local file or an object-store URI (s3, gs, az, abfs, abfss),
// each either an artifact or an append_sha pointer. For the registry it
// gives an output path's marker (what the watcher compares between ticks),
// the sha256 of the artifact it resolves to, the log-safe kid from its
// first bytes and, for objects, a local file to open.
//
// Object stores: the blob store is opened on first use; pointers are
// statted for their VersionId/ETag marker (recotem-behavior.md §7) and
// resolved under the artifact cap; each resolved object is downloaded once
// per change — the watcher's sha256 pass streams it into a private
// temporary file while hashing, and the load that follows takes that same
// file when the pointer still resolves to the same object (target URI and
// VersionId/ETag). A pointer that changes but still names the object last
// downloaded needs no download.
//
// Every call takes the caller's context, so a stalled store is abandoned
// when serve stops. A Store is safe for concurrent use.
package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
)

// Store reads artifacts from local files and object stores.
type Store struct {
	lim         format.Limits
	cap         int64         // artifact cap
	statTimeout time.Duration // per object stat; resolves get twice this
	log         *slog.Logger
	rem         remote
}

// New returns a Store refusing artifacts over lim's artifact cap (2 GiB
// when 0) whose object stats and resolves are bounded by statTimeout.
func New(lim format.Limits, statTimeout time.Duration, log *slog.Logger) *Store {
	c := lim.MaxArtifactBytes
	if c <= 0 {
		c = 2 << 30
	}
	return &Store{lim: lim, cap: c, statTimeout: statTimeout, log: log}
}

// Marker is what the watcher compares between ticks; equal markers mean
// "unchanged".
type Marker struct {
	mod  int64
	size int64
	tag  string // identities; objects: VersionId/ETag (blob.Info.Marker)
}

// StatMarker is a file's (mtime, size) (recipe files).
func StatMarker(path string) (Marker, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Marker{}, err
	}
	return Marker{mod: st.ModTime().UnixNano(), size: st.Size()}, nil
}

// Marker stats output.path (the pointer under append_sha); an object's
// stat is bounded by timeout.
//
// A local file's marker is (mtime, size) as the spec has it, plus (Go) its
// inode and ctime and, for a pointer, the same four of the file it names,
// so that a file rewritten in place (even with its mtime put back) or an
// append_sha target changed under an unchanged pointer is seen.
func (s *Store) Marker(ctx context.Context, path string, timeout time.Duration) (Marker, error) {
	if blob.IsRemote(path) {
		return s.remoteMarker(ctx, path, timeout)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Marker{}, err
	}
	m := Marker{mod: st.ModTime().UnixNano(), size: st.Size(), tag: identity(st)}
	if st.Size() <= format.MaxPointerBytes && st.Mode().IsRegular() {
		if b, err := os.ReadFile(path); err == nil && format.IsPointer(b) {
			target := filepath.Join(filepath.Dir(path), strings.TrimSpace(string(b)))
			if tst, err := os.Stat(target); err == nil {
				m.tag += fmt.Sprintf(" -> %s %d %d %s", filepath.Base(target), tst.ModTime().UnixNano(), tst.Size(), identity(tst))
			} else {
				m.tag += " -> " + filepath.Base(target) + " " + ErrClass(err)
			}
		}
	}
	return m, nil
}

// identity is a file's inode and ctime ("" where the platform has none).
func identity(st os.FileInfo) string {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("ino=%d ctime=%d", sys.Ino, sys.Ctim.Nano())
	}
	return ""
}

// ErrClass names an I/O error's class as upstream (Python) does.
func ErrClass(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "FileNotFoundError"
	case errors.Is(err, fs.ErrPermission):
		return "PermissionError"
	}
	return "OSError"
}

// SHA is the sha256 of the artifact path resolves to (≤ the cap). For an
// object, serving reports whether a model with those bytes already serves
// path (then the download is not kept for a load).
func (s *Store) SHA(ctx context.Context, path string, serving func(sha [32]byte) bool) ([32]byte, error) {
	if blob.IsRemote(path) {
		return s.remoteSHA(ctx, path, serving)
	}
	target, _, err := format.ResolvePointer(path, s.cap)
	if err != nil {
		return [32]byte{}, err
	}
	f, err := os.Open(target)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, s.cap+1)); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}

// Kid reads the log-safe kid from the first bytes of the artifact path
// resolves to: from byte 12 on, even with a bad magic; "<unknown>" (after
// logging kid_extraction_failed) when it cannot.
func (s *Store) Kid(ctx context.Context, path string) string {
	var b [45]byte
	var n int
	var target string
	if blob.IsRemote(path) {
		var head []byte
		head, target = s.remoteHead(ctx, path, len(b))
		n = copy(b[:], head)
	} else {
		var err error
		target, _, err = format.ResolvePointer(path, s.lim.MaxArtifactBytes)
		if err != nil {
			target = path
		}
		f, err := os.Open(target)
		if err != nil {
			return "<unknown>"
		}
		defer f.Close()
		n, _ = f.Read(b[:])
	}
	reason := ""
	switch {
	case n < 13:
		reason = "too_short"
	case b[12] < 1 || b[12] > 32:
		reason = "kid_len_out_of_range"
	case n < 13+int(b[12]):
		reason = "truncated"
	}
	if reason != "" {
		s.log.Warn("kid_extraction_failed", "path", target, "reason", reason)
		return "<unknown>"
	}
	return format.SafeKid(string(b[13 : 13+int(b[12])]))
}
