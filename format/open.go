package format

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/edsrzf/mmap-go"
)

// MaxPointerBytes bounds a pointer file; larger files are artifacts.
const MaxPointerBytes = 512

var pointerRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+\.recotem\s*$`)

// IsPointer reports whether content is a pointer file's content: ≤512 bytes,
// ASCII, one base name ending in ".recotem" and optional trailing space.
func IsPointer(content []byte) bool {
	if len(content) > MaxPointerBytes {
		return false
	}
	for _, b := range content {
		if b >= 0x80 {
			return false
		}
	}
	return pointerRE.Match(content)
}

// ResolvePointer follows path if it is a pointer file and returns the file
// holding the artifact (same directory). A pointer whose target is missing
// is an ErrNotFound naming both. Size caps are the caller's.
func ResolvePointer(path string, maxBytes int64) (string, bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, ErrNotFound
		}
		return "", false, fmt.Errorf("stat artifact: %w", err)
	}
	if st.Size() > MaxPointerBytes || st.IsDir() {
		return path, false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, fmt.Errorf("read artifact: %w", err)
	}
	if !IsPointer(b) {
		return path, false, nil
	}
	target := filepath.Join(filepath.Dir(path), strings.TrimSpace(string(b)))
	if _, err := os.Stat(target); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", true, withDetail(ErrNotFound, "pointer %s names %s, which does not exist", filepath.Base(path), filepath.Base(target))
		}
		return "", true, fmt.Errorf("stat pointer target: %w", err)
	}
	return target, true, nil
}

// ReadContainer reads a whole artifact (following a pointer) into memory
// and checks it with Parse. For inspect and tools: no payload validation.
func ReadContainer(path string, ring *KeyRing, lim Limits) (*Container, error) {
	lim = lim.withDefaults()
	target, _, err := ResolvePointer(path, lim.MaxArtifactBytes)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("open artifact: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > lim.MaxArtifactBytes {
		return nil, ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, lim.MaxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	return Parse(data, ring, lim)
}

// Artifact is a verified artifact: its bytes mapped from the file or held
// in a private copy (Residency). Section accessors return zero-copy views
// that are valid until Close.
type Artifact struct {
	Path   string // the resolved file (pointer followed)
	Kid    string
	Header Header
	SHA256 [32]byte // of the whole file: the model version
	Size   int64

	c        *Container
	sections map[string]Section
	mapping  mmap.MMap

	residency    Residency
	leaseRefused string
	file         *os.File  // Leased: the descriptor holding the lease
	state        fileState // Leased: fstat at verification
	lim          Limits
}

// Open resolves a pointer, enforces the caps, maps the file read-only,
// verifies its HMAC over the mapped bytes (ring nil: development, unsigned),
// and validates the payload layout: OpenAs with Mapped, for readers that
// own the file. A server uses OpenAs with Leased or Private.
func Open(path string, ring *KeyRing, lim Limits) (*Artifact, error) {
	return OpenAs(path, ring, lim, Mapped)
}

// OpenAs is Open with a chosen residency. Leased takes a read lease before
// mapping and verifying, and falls back to Private when the lease is
// refused (LeaseRefused says why). Load time of a mapping is hashing time
// plus a constant: nothing is copied or built per element, except the
// bounds checks of CSR indices and string-table order; Private adds one
// read of the file into anonymous memory.
func OpenAs(path string, ring *KeyRing, lim Limits, want Residency) (*Artifact, error) {
	lim = lim.withDefaults()
	target, _, err := ResolvePointer(path, lim.MaxArtifactBytes)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("open artifact: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat artifact: %w", err)
	}
	if st.Size() > lim.MaxArtifactBytes {
		return nil, ErrTooLarge
	}
	if st.Size() < MinSize {
		// Too small to be valid: read it so Parse reports the precise error.
		data, err := io.ReadAll(io.LimitReader(f, MinSize))
		if err != nil {
			return nil, fmt.Errorf("read artifact: %w", err)
		}
		return openMapped(target, data, ring, lim)
	}
	got, refused := want, ""
	if want == Leased {
		if err := takeLease(f); err != nil {
			got, refused = Private, "read lease refused: "+err.Error()
		} else if st, err = f.Stat(); err != nil { // the state the lease now guards
			return nil, fmt.Errorf("stat artifact: %w", err)
		}
	}
	var m mmap.MMap
	if got == Private {
		m, err = readPrivate(f, st.Size())
	} else {
		m, err = mmap.Map(f, mmap.RDONLY, 0)
		if err != nil {
			err = fmt.Errorf("map artifact: %w", err)
		}
	}
	if err != nil {
		return nil, err
	}
	a, err := openMapped(target, m, ring, lim)
	if err != nil {
		_ = m.Unmap()
		return nil, err
	}
	a.mapping, a.residency, a.leaseRefused = m, got, refused
	if got == Leased {
		a.file, a.state, keep = f, fileState{size: st.Size()}, true
	}
	return a, nil
}

func openMapped(path string, data []byte, ring *KeyRing, lim Limits) (*Artifact, error) {
	c, err := parseStructure(data, lim)
	if err != nil {
		return nil, err
	}
	// Hash the whole file (model version) on a second core while the HMAC
	// runs here: both stream the same mapped pages.
	sum := make(chan [32]byte, 1)
	go func() { sum <- sha256.Sum256(data) }()
	if ring != nil {
		if err := c.verify(ring); err != nil {
			<-sum
			return nil, err
		}
	}
	fileSum := <-sum
	if err := c.decodeHeader(); err != nil {
		return nil, err
	}
	secs, err := validatePayload(c)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Path = path
		}
		return nil, err
	}
	return &Artifact{Path: path, Kid: c.Kid, Header: c.Header, SHA256: fileSum, Size: int64(len(data)), c: c, sections: secs, lim: lim}, nil
}

// OpenBytes verifies and validates an artifact held in memory (tests,
// object-store reads). data must stay unmodified while the Artifact is used
// and be 8-byte aligned (any Go allocation of []byte is).
func OpenBytes(data []byte, ring *KeyRing, lim Limits) (*Artifact, error) {
	return openMapped("", data, ring, lim.withDefaults())
}

// Close unmaps the file (or frees the private copy) and then gives up the
// lease, in that order: a held writer proceeds only once nothing can read
// the mapping. Every slice obtained from a is invalid afterwards.
func (a *Artifact) Close() error {
	var err error
	if m := a.mapping; m != nil {
		a.mapping = nil
		err = m.Unmap()
	}
	if f := a.file; f != nil {
		a.file = nil
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Section returns a section's table entry.
func (a *Artifact) Section(name string) (Section, bool) {
	s, ok := a.sections[name]
	return s, ok
}

// Sections lists the table in header order.
func (a *Artifact) Sections() []Section { return a.Header.Payload.Sections }

// Field decodes a top-level header key into dst.
func (a *Artifact) Field(key string, dst any) error {
	ok, err := a.Header.Get(key, dst)
	if err != nil {
		return withDetail(ErrLayout, "header %q: %v", key, err)
	}
	if !ok {
		return withDetail(ErrLayout, "header has no %q", key)
	}
	return nil
}

func (a *Artifact) lookup(name string, dt DType) (Section, error) {
	s, ok := a.sections[name]
	if !ok {
		return Section{}, withDetail(ErrLayout, "missing section %q", name)
	}
	if s.DType != dt {
		return Section{}, withDetail(ErrLayout, "section %q is %s, want %s", name, s.DType, dt)
	}
	return s, nil
}

// Bytes returns a u8 section.
func (a *Artifact) Bytes(name string) ([]byte, error) {
	s, err := a.lookup(name, U8)
	if err != nil {
		return nil, err
	}
	return a.c.Data[s.Offset : s.Offset+s.Length], nil
}

// F32 returns an f32 section. For a 2-D section the slice has rows×Stride
// elements; row r is v[r*Stride : r*Stride+Shape[1]].
func (a *Artifact) F32(name string) ([]float32, Section, error) { return typed[float32](a, name, F32) }

// F64 returns an f64 section.
func (a *Artifact) F64(name string) ([]float64, Section, error) { return typed[float64](a, name, F64) }

// I32 returns an i32 section.
func (a *Artifact) I32(name string) ([]int32, Section, error) { return typed[int32](a, name, I32) }

// I64 returns an i64 section.
func (a *Artifact) I64(name string) ([]int64, Section, error) { return typed[int64](a, name, I64) }

// I8 returns an i8 section.
func (a *Artifact) I8(name string) ([]int8, Section, error) { return typed[int8](a, name, I8) }

func typed[T int8 | int32 | int64 | uint64 | float32 | float64](a *Artifact, name string, dt DType) ([]T, Section, error) {
	s, err := a.lookup(name, dt)
	if err != nil {
		return nil, s, err
	}
	return view[T](a.c.Data, s), s, nil
}

// Strings returns the string table "<name>.off"/"<name>.data".
func (a *Artifact) Strings(name string) (StringTable, error) {
	os, err := a.lookup(name+".off", U64)
	if err != nil {
		return StringTable{}, err
	}
	ds, err := a.lookup(name+".data", U8)
	if err != nil {
		return StringTable{}, err
	}
	return StringTable{Off: view[uint64](a.c.Data, os), Data: a.c.Data[ds.Offset : ds.Offset+ds.Length]}, nil
}
