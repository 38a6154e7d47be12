package format

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unsafe"
)

// validatePayload checks the section table against the file: every
// section in bounds, 4096-aligned, non-overlapping, its length equal to its
// shape × dtype (× row stride), then the semantic groups: CSR
// ("<g>.indptr"/"<g>.indices"/"<g>.data") and string tables
// ("<g>.off"/"<g>.data"). It returns the sections by name.
func validatePayload(c *Container) (map[string]Section, error) {
	h := c.Header
	if h.payloadErr != nil {
		return nil, h.payloadErr
	}
	if h.Payload == nil {
		return nil, withDetail(ErrLayout, "header has no payload object (not a recotem-go artifact)")
	}
	ph := h.Payload
	if ph.LayoutVersion > LayoutCurrent {
		return nil, withDetail(ErrLayoutVersion, "layout_version %d is newer than %d", ph.LayoutVersion, LayoutCurrent)
	}
	if ph.LayoutVersion < 1 {
		return nil, withDetail(ErrLayout, "layout_version %d", ph.LayoutVersion)
	}
	if ph.Alignment != Alignment {
		return nil, withDetail(ErrLayout, "alignment %d, want %d", ph.Alignment, Alignment)
	}
	size := int64(len(c.Data))
	byName := make(map[string]Section, len(ph.Sections))
	sorted := make([]Section, len(ph.Sections))
	copy(sorted, ph.Sections)
	for _, s := range ph.Sections {
		if s.Name == "" {
			return nil, withDetail(ErrLayout, "section without a name")
		}
		if _, dup := byName[s.Name]; dup {
			return nil, corrupt(s, "duplicate section")
		}
		es := int64(s.DType.Size())
		if es == 0 {
			return nil, corrupt(s, "unknown dtype %q", s.DType)
		}
		if s.Offset < c.PayloadOffset || s.Offset%Alignment != 0 {
			return nil, corrupt(s, "offset not a %d-aligned position inside the payload", Alignment)
		}
		if s.Length < 0 || s.Length > size-s.Offset {
			return nil, corrupt(s, "length %d runs past the end of the file", s.Length)
		}
		want, err := sectionBytes(s)
		if err != nil {
			return nil, corrupt(s, "%v", err)
		}
		if want != s.Length {
			return nil, corrupt(s, "length %d, shape and dtype need %d", s.Length, want)
		}
		byName[s.Name] = s
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Offset < sorted[i-1].Offset+sorted[i-1].Length {
			return nil, corrupt(sorted[i], "overlaps section %q", sorted[i-1].Name)
		}
	}
	for name, s := range byName {
		var err error
		switch {
		case strings.HasSuffix(name, ".indptr"):
			err = validateCSR(c.Data, byName, strings.TrimSuffix(name, ".indptr"))
		case strings.HasSuffix(name, ".off"):
			err = validateStrings(c.Data, byName, strings.TrimSuffix(name, ".off"))
		}
		if err != nil {
			if _, ok := err.(*CorruptError); !ok {
				err = corrupt(s, "%v", err)
			}
			return nil, err
		}
	}
	return byName, nil
}

// sectionBytes is the byte length a section's shape implies.
func sectionBytes(s Section) (int64, error) {
	es := int64(s.DType.Size())
	switch len(s.Shape) {
	case 1:
		if s.Shape[0] < 0 || s.Stride != 0 {
			return 0, fmt.Errorf("bad 1-D shape %v", s.Shape)
		}
		return mulCheck(s.Shape[0], es)
	case 2:
		rows, cols := s.Shape[0], s.Shape[1]
		if rows < 0 || cols < 0 || s.Stride < cols || s.Stride < 1 {
			return 0, fmt.Errorf("bad 2-D shape %v stride %d", s.Shape, s.Stride)
		}
		if (s.Stride*es)%64 != 0 {
			return 0, fmt.Errorf("row stride %d×%dB is not 64-byte aligned", s.Stride, es)
		}
		n, err := mulCheck(rows, s.Stride)
		if err != nil {
			return 0, err
		}
		return mulCheck(n, es)
	}
	return 0, fmt.Errorf("shape %v must be 1-D or 2-D", s.Shape)
}

func mulCheck(a, b int64) (int64, error) {
	if a != 0 && b > (1<<62)/a {
		return 0, fmt.Errorf("size overflow")
	}
	return a * b, nil
}

func corrupt(s Section, format string, args ...any) error {
	return &CorruptError{Section: s.Name, Offset: s.Offset, Err: withDetail(ErrLayout, "section %q: %s", s.Name, fmt.Sprintf(format, args...))}
}

func validateCSR(data []byte, byName map[string]Section, g string) error {
	ps := byName[g+".indptr"]
	is, ok := byName[g+".indices"]
	if !ok {
		return fmt.Errorf("CSR %q has indptr but no indices", g)
	}
	if ps.DType != I64 || len(ps.Shape) != 1 || ps.Shape[0] < 1 || is.DType != I32 || len(is.Shape) != 1 {
		return fmt.Errorf("CSR %q: indptr must be i64 [rows+1], indices i32 [nnz]", g)
	}
	if is.Cols <= 0 || is.Cols > 1<<31-1 {
		return fmt.Errorf("CSR %q: indices need a positive cols bound", g)
	}
	indptr := view[int64](data, ps)
	indices := view[int32](data, is)
	if indptr[0] != 0 || indptr[len(indptr)-1] != int64(len(indices)) {
		return fmt.Errorf("CSR %q: indptr must start at 0 and end at nnz=%d", g, len(indices))
	}
	for i := 1; i < len(indptr); i++ {
		if indptr[i] < indptr[i-1] {
			return fmt.Errorf("CSR %q: indptr decreases at row %d", g, i-1)
		}
	}
	cols := int32(is.Cols)
	for _, c := range indices {
		if uint32(c) >= uint32(cols) {
			return fmt.Errorf("CSR %q: index %d outside [0,%d)", g, c, cols)
		}
	}
	if ds, ok := byName[g+".data"]; ok {
		if len(ds.Shape) != 1 || ds.Shape[0] != int64(len(indices)) {
			return fmt.Errorf("CSR %q: data has %v values for %d indices", g, ds.Shape, len(indices))
		}
	}
	return nil
}

func validateStrings(data []byte, byName map[string]Section, g string) error {
	os := byName[g+".off"]
	ds, ok := byName[g+".data"]
	if !ok || os.DType != U64 || ds.DType != U8 || len(os.Shape) != 1 || os.Shape[0] < 1 {
		return fmt.Errorf("string table %q needs u64 %q.off [n+1] and u8 %q.data", g, g, g)
	}
	t := StringTable{Off: view[uint64](data, os), Data: data[ds.Offset : ds.Offset+ds.Length]}
	if t.Off[0] != 0 || t.Off[len(t.Off)-1] != uint64(len(t.Data)) {
		return fmt.Errorf("string table %q: offsets must start at 0 and end at %d", g, len(t.Data))
	}
	for i := 1; i < len(t.Off); i++ {
		if t.Off[i] < t.Off[i-1] {
			return fmt.Errorf("string table %q: offsets decrease at %d", g, i-1)
		}
	}
	for i := 1; i < t.Len(); i++ {
		if bytes.Compare(t.At(i-1), t.At(i)) >= 0 {
			return fmt.Errorf("string table %q: ids not strictly ascending at %d", g, i)
		}
	}
	return nil
}

// view returns a typed view of a validated section. It relies on the
// section's offset being 4096-aligned inside a page-aligned mapping (or an
// 8-aligned slice) and on little-endian hosts (see endian.go).
func view[T int8 | int32 | int64 | uint64 | float32 | float64](data []byte, s Section) []T {
	var z T
	n := s.Length / int64(unsafe.Sizeof(z))
	if n == 0 {
		return []T{}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&data[s.Offset])), n)
}

// StringTable is a sorted table of byte strings: id i is
// Data[Off[i]:Off[i+1]]. Ids are strictly ascending, so Find is a binary
// search that needs no map built at load.
type StringTable struct {
	Off  []uint64
	Data []byte
}

// Len is the number of ids.
func (t StringTable) Len() int {
	if len(t.Off) == 0 {
		return 0
	}
	return len(t.Off) - 1
}

// At returns id i as a view (do not modify; valid while the artifact is open).
func (t StringTable) At(i int) []byte { return t.Data[t.Off[i]:t.Off[i+1]] }

// Find returns the index of key, allocation-free.
func (t StringTable) Find(key []byte) (int, bool) {
	lo, hi := 0, t.Len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.At(m), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < t.Len() && bytes.Equal(t.At(lo), key) {
		return lo, true
	}
	return lo, false
}
