package format

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/edsrzf/mmap-go"
	"golang.org/x/sys/unix"
)

// Residency says where an open artifact's verified bytes live, and so what
// a writer of the file can do to them. See docs/format.md §5.
type Residency uint8

const (
	// Mapped is a shared read-only mapping of the file and nothing more: an
	// in-place write changes the bytes under the reader and a truncation
	// removes them (touching such a page raises SIGBUS). For short-lived
	// readers of files they own (tools, tests); never for serving.
	Mapped Residency = iota
	// Leased is a shared read-only mapping guarded by a read lease on the
	// file (Linux fcntl F_SETLEASE). The kernel holds any open of the file
	// for writing, and any truncate, until the holder lets go of the lease
	// (or until /proc/sys/fs/lease-break-time passes), and signals the
	// holder (LeaseSignal) when that starts. While the lease is held the
	// verified bytes cannot change. The holder must watch Changed and move
	// off the mapping (Copy, then Close) when it reports a change.
	Leased
	// Private is a copy of the file in private anonymous memory, verified
	// after the copy: nothing done to the file reaches it. It costs the
	// file's size in resident memory and one read of the file at load.
	Private
)

func (r Residency) String() string {
	switch r {
	case Mapped:
		return "mapped"
	case Leased:
		return "leased"
	case Private:
		return "private"
	}
	return fmt.Sprintf("Residency(%d)", uint8(r))
}

// ErrChanged reports that an artifact's bytes changed after they were
// verified: a private copy taken from a mapping did not hash to the
// verified sha256, or reading the mapping faulted.
var ErrChanged = errors.New("artifact changed after verification")

// fileState is what fstat said about the leased file when its bytes were
// verified. Only the size is compared: times change without the bytes
// (utimes, the unlink of a file renamed over), the bytes never change
// without an open for writing, which the lease catches; a size change
// without one would mean the lease did not hold.
type fileState struct {
	size int64
}

// Residency reports where a's bytes live.
func (a *Artifact) Residency() Residency { return a.residency }

// LeaseRefused explains why an artifact asked for as Leased is Private:
// the error the lease request returned (the file is open for writing
// elsewhere, the file system has no leases, the process neither owns the
// file nor has CAP_LEASE). Empty otherwise.
func (a *Artifact) LeaseRefused() string { return a.leaseRefused }

// Changed reports why a Leased artifact's file no longer guarantees the
// verified bytes: a writer opened or truncated it (the lease is being
// broken or is gone), or the mapped file's size differs from its size at
// verification. Empty when nothing changed, and always for Mapped and
// Private artifacts. Two system calls; safe to call concurrently with
// readers of the sections, not concurrently with Close.
func (a *Artifact) Changed() string {
	if a.file == nil {
		return ""
	}
	if why := leaseHeld(a.file); why != "" {
		return why
	}
	st, err := a.file.Stat()
	if err != nil {
		return "fstat of the mapped file failed: " + err.Error()
	}
	if st.Size() != a.state.size {
		return fmt.Sprintf("the mapped file's size changed on disk (%d → %d bytes)", a.state.size, st.Size())
	}
	return ""
}

// Contains reports whether addr lies inside a's bytes (a fault address).
func (a *Artifact) Contains(addr uintptr) bool {
	d := a.c.Data
	if len(d) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(d)))
	return addr >= lo && addr < lo+uintptr(len(d))
}

// Copy returns a Private artifact with a's verified bytes, copied from a's
// view while it is still good (for a Leased artifact: while the writer is
// held). The copy is hashed and must equal a's sha256; a fault while
// reading the view (the file was truncated under it) or a different hash
// is ErrChanged. a stays open and usable; the caller closes it once its
// last reader is done.
func (a *Artifact) Copy() (*Artifact, error) {
	n := len(a.c.Data)
	m, err := anonymous(n)
	if err != nil {
		return nil, err
	}
	if err := copyNoFault(m, a.c.Data); err != nil {
		_ = m.Unmap()
		return nil, err
	}
	if err := readOnly(m); err != nil {
		_ = m.Unmap()
		return nil, err
	}
	// The copy's sha256 equal to the verified one proves it is the signed
	// artifact; the HMAC need not run again.
	b, err := openMapped(a.Path, m, nil, a.lim)
	if err == nil && b.SHA256 != a.SHA256 {
		err = withDetail(ErrChanged, "copy of %s hashes to a different sha256", a.Path)
	}
	if err != nil {
		_ = m.Unmap()
		if !errors.Is(err, ErrChanged) {
			err = fmt.Errorf("%w: %v", ErrChanged, err)
		}
		return nil, err
	}
	b.Kid = a.Kid
	b.residency = Private
	b.mapping = m
	return b, nil
}

// copyNoFault copies src into dst, turning a memory fault (a page of a
// truncated file) into ErrChanged instead of a crash.
func copyNoFault(dst, src []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if re, ok := r.(runtime.Error); ok {
				if fe, ok := re.(interface{ Addr() uintptr }); ok {
					err = withDetail(ErrChanged, "memory fault at %#x while copying the mapping (the file was truncated)", fe.Addr())
					return
				}
			}
			panic(r)
		}
	}()
	copy(dst, src)
	return nil
}

// anonymous maps n bytes of private anonymous memory (page aligned,
// outside the Go heap; MMap.Unmap releases it).
func anonymous(n int) (mmap.MMap, error) {
	m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("allocate %d bytes for a private artifact copy: %w", n, err)
	}
	return mmap.MMap(m), nil
}

// readOnly makes b (a mapping of this package's) read-only.
func readOnly(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return unix.Mprotect(b, unix.PROT_READ)
}

// readPrivate reads f (size bytes) into private anonymous memory.
func readPrivate(f *os.File, size int64) (mmap.MMap, error) {
	m, err := anonymous(int(size))
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(f, m); err != nil {
		_ = m.Unmap()
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, withDetail(ErrTruncated, "file shrank while it was read")
		}
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	if err := readOnly(m); err != nil {
		_ = m.Unmap()
		return nil, err
	}
	return m, nil
}
