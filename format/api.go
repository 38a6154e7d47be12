package format

import (
	"encoding/json"
)

// DType names the element type of a payload section.
type DType string

const (
	U8  DType = "u8"
	I8  DType = "i8"
	I32 DType = "i32"
	I64 DType = "i64"
	U64 DType = "u64"
	F32 DType = "f32"
	F64 DType = "f64"
)

// Size is the width in bytes of one element.
func (d DType) Size() int {
	switch d {
	case U8, I8:
		return 1
	case I32, F32:
		return 4
	case I64, U64, F64:
		return 8
	}
	return 0
}

// LayoutVersion enumerates payload layouts this package can read.
const (
	// LayoutV1: page-aligned typed sections, row-padded matrices, CSR groups,
	// sorted string tables. The only layout so far.
	LayoutV1 = 1
	// LayoutCurrent is what writers produce.
	LayoutCurrent = LayoutV1
)

// Alignment of every section's absolute file offset.
const Alignment = 4096

// RowAlign is the number of elements a matrix row stride is rounded up to
// for 4-byte dtypes (16 floats = 64 bytes); 1-byte dtypes round to 64.
const RowAlign = 16

// Section describes one typed array of the payload as listed in the
// header's "payload.sections". Offsets are absolute file offsets.
type Section struct {
	Name   string  `json:"name"`
	DType  DType   `json:"dtype"`
	Shape  []int64 `json:"shape"`
	Stride int64   `json:"row_stride,omitempty"` // elements per row of a 2-D section (≥ Shape[1])
	Cols   int64   `json:"cols,omitempty"`       // for "<g>.indices": the column count indices must stay below
	Offset int64   `json:"offset"`
	Length int64   `json:"length"`
}

// PayloadHeader is the header's "payload" object.
type PayloadHeader struct {
	LayoutVersion int       `json:"layout_version"`
	Alignment     int       `json:"alignment"`
	Sections      []Section `json:"sections"`
}

// Header is the decoded header JSON. Raw keeps the exact bytes that were
// signed; Fields holds every top-level key; Payload is nil for containers
// without a "payload" object (e.g. upstream pickle artifacts).
type Header struct {
	Raw     json.RawMessage
	Fields  map[string]json.RawMessage
	Payload *PayloadHeader

	payloadErr error // a "payload" key that did not decode; reported by Open
}

// Get decodes the top-level header key into dst; it reports whether the key exists.
func (h *Header) Get(key string, dst any) (bool, error) {
	raw, ok := h.Fields[key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, dst)
}
