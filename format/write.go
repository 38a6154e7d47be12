package format

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"
	"unsafe"
)

// Builder collects payload sections for Encode. Section data is referenced,
// not copied, except where a matrix needs row padding. Not safe for
// concurrent use.
type Builder struct {
	secs []pending
	err  error
}

type pending struct {
	s    Section
	data []byte
}

// NewBuilder returns an empty payload builder.
func NewBuilder() *Builder { return &Builder{} }

func (b *Builder) add(s Section, data []byte) {
	for _, p := range b.secs {
		if p.s.Name == s.Name && b.err == nil {
			b.err = fmt.Errorf("format: duplicate section %q", s.Name)
		}
	}
	s.Length = int64(len(data))
	b.secs = append(b.secs, pending{s: s, data: data})
}

func asBytes[T any](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(z)))
}

// F32 adds a 1-D float32 section.
func (b *Builder) F32(name string, v []float32) {
	b.add(Section{Name: name, DType: F32, Shape: []int64{int64(len(v))}}, asBytes(v))
}

// F64 adds a 1-D float64 section.
func (b *Builder) F64(name string, v []float64) {
	b.add(Section{Name: name, DType: F64, Shape: []int64{int64(len(v))}}, asBytes(v))
}

// I32 adds a 1-D int32 section.
func (b *Builder) I32(name string, v []int32) {
	b.add(Section{Name: name, DType: I32, Shape: []int64{int64(len(v))}}, asBytes(v))
}

// I64 adds a 1-D int64 section.
func (b *Builder) I64(name string, v []int64) {
	b.add(Section{Name: name, DType: I64, Shape: []int64{int64(len(v))}}, asBytes(v))
}

// Bytes adds a 1-D u8 section.
func (b *Builder) Bytes(name string, v []byte) {
	b.add(Section{Name: name, DType: U8, Shape: []int64{int64(len(v))}}, v)
}

// Stride32 is the row stride (elements) of a float32 matrix with cols columns.
func Stride32(cols int) int { return (cols + RowAlign - 1) / RowAlign * RowAlign }

// Stride8 is the row stride (elements) of an int8 matrix with cols columns.
func Stride8(cols int) int { return (cols + 63) / 64 * 64 }

// Matrix32 adds a rows×cols float32 matrix given densely (len rows*cols);
// rows are padded with zeros to Stride32(cols).
func (b *Builder) Matrix32(name string, rows, cols int, data []float32) {
	if len(data) != rows*cols && b.err == nil {
		b.err = fmt.Errorf("format: matrix %q has %d values for %dx%d", name, len(data), rows, cols)
		return
	}
	st := Stride32(cols)
	v := data
	if st != cols {
		v = make([]float32, rows*st)
		for r := 0; r < rows; r++ {
			copy(v[r*st:r*st+cols], data[r*cols:(r+1)*cols])
		}
	}
	b.add(Section{Name: name, DType: F32, Shape: []int64{int64(rows), int64(cols)}, Stride: int64(st)}, asBytes(v))
}

// MatrixI8 adds a rows×cols int8 matrix (dense input), rows padded to Stride8(cols).
func (b *Builder) MatrixI8(name string, rows, cols int, data []int8) {
	if len(data) != rows*cols && b.err == nil {
		b.err = fmt.Errorf("format: matrix %q has %d values for %dx%d", name, len(data), rows, cols)
		return
	}
	st := Stride8(cols)
	v := make([]int8, rows*st)
	for r := 0; r < rows; r++ {
		copy(v[r*st:r*st+cols], data[r*cols:(r+1)*cols])
	}
	b.add(Section{Name: name, DType: I8, Shape: []int64{int64(rows), int64(cols)}, Stride: int64(st)}, asBytes(v))
}

// Strings adds a string table "<name>.off" (u64 [n+1]) + "<name>.data" (u8).
// ids must be strictly ascending by bytes (the index order of the model).
func (b *Builder) Strings(name string, ids []string) {
	off := make([]uint64, len(ids)+1)
	n := 0
	for i, s := range ids {
		if i > 0 && ids[i-1] >= s && b.err == nil {
			b.err = fmt.Errorf("format: string table %q not strictly ascending at %d", name, i)
		}
		n += len(s)
		off[i+1] = uint64(n)
	}
	data := make([]byte, 0, n)
	for _, s := range ids {
		data = append(data, s...)
	}
	b.add(Section{Name: name + ".off", DType: U64, Shape: []int64{int64(len(off))}}, asBytes(off))
	b.Bytes(name+".data", data)
}

// CSR adds "<name>.indptr" (i64), "<name>.indices" (i32, bounded by cols)
// and, when data is non-nil, "<name>.data" (f32).
func (b *Builder) CSR(name string, indptr []int64, indices []int32, cols int, data []float32) {
	b.I64(name+".indptr", indptr)
	b.add(Section{Name: name + ".indices", DType: I32, Shape: []int64{int64(len(indices))}, Cols: int64(cols)}, asBytes(indices))
	if data != nil {
		b.F32(name+".data", data)
	}
}

// layout assigns absolute offsets and returns the header JSON and the
// payload's pieces (zero padding and section bytes) in file order.
func layout(kid string, fields map[string]any, b *Builder) ([]byte, [][]byte, error) {
	if b != nil && b.err != nil {
		return nil, nil, b.err
	}
	hdr := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		hdr[k] = v
	}
	var secs []pending
	if b != nil {
		secs = b.secs
	}
	headerLen := 0
	for iter := 0; ; iter++ {
		if iter > 8 {
			return nil, nil, errors.New("format: header length did not converge")
		}
		start := int64(49 + len(kid) + headerLen)
		table := make([]Section, len(secs))
		off := alignUp(start)
		for i, p := range secs {
			s := p.s
			s.Offset = off
			table[i] = s
			off = alignUp(off + s.Length)
		}
		if b != nil {
			hdr["payload"] = PayloadHeader{LayoutVersion: LayoutCurrent, Alignment: Alignment, Sections: table}
		}
		js, err := json.Marshal(hdr)
		if err != nil {
			return nil, nil, fmt.Errorf("format: encode header: %w", err)
		}
		if len(js) > MaxHeaderBytes {
			return nil, nil, fmt.Errorf("format: %w (%d bytes)", ErrHeaderTooLarge, len(js))
		}
		if len(js) != headerLen {
			headerLen = len(js)
			continue
		}
		var pieces [][]byte
		pos := start
		for i, p := range secs {
			if pad := table[i].Offset - pos; pad > 0 {
				pieces = append(pieces, zeros(pad))
			}
			pieces = append(pieces, p.data)
			pos = table[i].Offset + table[i].Length
		}
		return js, pieces, nil
	}
}

func alignUp(n int64) int64 { return (n + Alignment - 1) / Alignment * Alignment }

var zeroPage = make([]byte, Alignment)

func zeros(n int64) []byte {
	if n <= Alignment {
		return zeroPage[:n]
	}
	return make([]byte, n)
}

// Encode writes a signed format-1 artifact: fixed fields, kid, HMAC, header
// JSON (fields + the payload table; json.Marshal sorts keys, compact), and
// the page-aligned payload. b may be nil for a header-only container.
func Encode(w io.Writer, key Key, fields map[string]any, b *Builder) error {
	if len(key.ID) < 1 || len(key.ID) > MaxKidLen {
		return fmt.Errorf("format: %w", ErrKidLength)
	}
	if !utf8.ValidString(key.ID) {
		return fmt.Errorf("format: %w", ErrKidUTF8)
	}
	js, pieces, err := layout(key.ID, fields, b)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key.Secret)
	m.Write([]byte(key.ID))
	m.Write(js)
	for _, p := range pieces {
		m.Write(p)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var fixed [13]byte
	copy(fixed[:8], magic)
	binary.LittleEndian.PutUint16(fixed[8:], Version)
	binary.LittleEndian.PutUint16(fixed[10:], 0)
	fixed[12] = byte(len(key.ID))
	bw.Write(fixed[:])
	bw.WriteString(key.ID)
	bw.Write(m.Sum(nil))
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(js)))
	bw.Write(n[:])
	bw.Write(js)
	for _, p := range pieces {
		if _, err := bw.Write(p); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Versioning policies of output.versioning.
const (
	AppendSHA       = "append_sha"
	AlwaysOverwrite = "always_overwrite"
)

// WriteOptions tunes WriteArtifactWith.
type WriteOptions struct {
	Versioning string // AppendSHA (default) or AlwaysOverwrite
	// BeforeRename, when set, runs just before each rename onto a final
	// name (the artifact-root containment re-check); an error aborts the
	// write and the temporary file is removed.
	BeforeRename func(final string) error
}

// WriteResult names what a write produced.
type WriteResult struct {
	Artifact string // the file holding the artifact
	Pointer  string // the pointer file (append_sha), else ""
	SHA256   string // hex sha256 of the artifact file
}

// WriteArtifact writes a signed artifact at outputPath with the given
// versioning; see WriteArtifactWith.
func WriteArtifact(outputPath, versioning string, key Key, fields map[string]any, b *Builder) (WriteResult, error) {
	return WriteArtifactWith(outputPath, WriteOptions{Versioning: versioning}, key, fields, b)
}

// WriteArtifactWith writes atomically to the local file system.
// always_overwrite: temp file → fsync → rename onto outputPath → fsync dir.
// append_sha: the same onto "<stem>.<sha8>.recotem", then the pointer file
// at outputPath ("<basename>\n") replaced the same way. On any failure the
// temp file is removed and previously published files are untouched.
func WriteArtifactWith(outputPath string, opt WriteOptions, key Key, fields map[string]any, b *Builder) (WriteResult, error) {
	if opt.Versioning == "" {
		opt.Versioning = AppendSHA
	}
	if opt.Versioning != AppendSHA && opt.Versioning != AlwaysOverwrite {
		return WriteResult{}, fmt.Errorf("format: unknown versioning %q", opt.Versioning)
	}
	dir := filepath.Dir(outputPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return WriteResult{}, fmt.Errorf("create output directory: %w", err)
	}
	h := sha256.New()
	tmp, err := writeTemp(dir, filepath.Base(outputPath), func(w io.Writer) error {
		return Encode(io.MultiWriter(w, h), key, fields, b)
	})
	if err != nil {
		return WriteResult{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := outputPath
	if opt.Versioning == AppendSHA {
		stem := strings.TrimSuffix(outputPath, ".recotem")
		final = stem + "." + sum[:8] + ".recotem"
	}
	if err := publish(tmp, final, opt.BeforeRename); err != nil {
		return WriteResult{}, err
	}
	res := WriteResult{Artifact: final, SHA256: sum}
	if opt.Versioning == AppendSHA {
		ptmp, err := writeTemp(dir, filepath.Base(outputPath), func(w io.Writer) error {
			_, err := io.WriteString(w, filepath.Base(final)+"\n")
			return err
		})
		if err != nil {
			return WriteResult{}, err
		}
		if err := publish(ptmp, outputPath, opt.BeforeRename); err != nil {
			return WriteResult{}, err
		}
		res.Pointer = outputPath
	}
	return res, nil
}

// writeTemp creates "<dir>/.<base>.*.tmp", fills it and fsyncs it.
func writeTemp(dir, base string, fill func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("create temp artifact: %w", err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", err
	}
	if err := fill(f); err != nil {
		return fail(fmt.Errorf("write artifact: %w", err))
	}
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fail(fmt.Errorf("fsync artifact: %w", err))
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(fmt.Errorf("chmod artifact: %w", err))
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("close artifact: %w", err)
	}
	return name, nil
}

func publish(tmp, final string, before func(string) error) error {
	if before != nil {
		if err := before(final); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("publish artifact: %w", err)
	}
	return syncDir(filepath.Dir(final))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open output directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("fsync output directory: %w", err)
	}
	return nil
}
