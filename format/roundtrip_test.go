package format_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/recotem/recotem/format"
)

// TestRoundTripEveryDType writes one section of every builder kind with
// random contents and reads each back through Open (mmap) and OpenBytes.
func TestRoundTripEveryDType(t *testing.T) {
	rng := newRand(t)
	rows, cols := 1+rng.IntN(40), 1+rng.IntN(40)
	m32 := make([]float32, rows*cols)
	m8 := make([]int8, rows*cols)
	for i := range m32 {
		m32[i] = rng.Float32()*2 - 1
		m8[i] = int8(rng.IntN(256) - 128)
	}
	f32 := []float32{float32(math.Inf(1)), -0, 1.5, float32(math.NaN())}
	f64 := []float64{math.MaxFloat64, -1, 0.25}
	i32 := []int32{math.MinInt32, -1, 0, math.MaxInt32}
	i64 := []int64{math.MinInt64, 7, math.MaxInt64}
	raw := []byte("opaque\x00bytes")
	ids := make([]string, 0, 50)
	for i := range 50 {
		ids = append(ids, fmt.Sprintf("id-%03d-%d", i, rng.IntN(1000)))
	}
	slices.Sort(ids)
	indptr := []int64{0}
	var indices []int32
	var vals []float32
	for range rows {
		for c := range cols {
			if rng.IntN(3) == 0 {
				indices = append(indices, int32(c))
				vals = append(vals, rng.Float32())
			}
		}
		indptr = append(indptr, int64(len(indices)))
	}

	b := format.NewBuilder()
	b.Matrix32("user_factors", rows, cols, m32)
	b.MatrixI8("item_factors_q8", rows, cols, m8)
	b.F32("f32", f32)
	b.F64("f64", f64)
	b.I32("i32", i32)
	b.I64("i64", i64)
	b.Bytes("raw", raw)
	b.Strings("item_ids", ids)
	b.CSR("seen", indptr, indices, cols, vals)
	b.CSR("empty", []int64{0}, nil, 1, nil)
	fields := map[string]any{"recipe_name": "rt", "best_params": map[string]any{"alpha": 0.5}}

	dir := t.TempDir()
	res, err := format.WriteArtifact(filepath.Join(dir, "rt.recotem"), format.AlwaysOverwrite, testKey, fields, b)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(res.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(file); fmt.Sprintf("%x", sum) != res.SHA256 {
		t.Fatalf("WriteResult.SHA256 %s is not sha256 of the file", res.SHA256)
	}
	if enc := encode(t, testKey, fields, b); !bytes.Equal(enc, file) {
		t.Fatal("Encode and WriteArtifact disagree: the encoding must be deterministic")
	}

	mapped, err := format.Open(res.Artifact, testRing(t), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer mapped.Close()
	inMem, err := format.OpenBytes(append([]byte(nil), file...), testRing(t), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*format.Artifact{mapped, inMem} {
		if a.Kid != "k1" || a.Size != int64(len(file)) || a.SHA256 != sha256.Sum256(file) {
			t.Fatalf("artifact identity: kid %q size %d", a.Kid, a.Size)
		}
		var name string
		if err := a.Field("recipe_name", &name); err != nil || name != "rt" {
			t.Fatalf("Field: %q %v", name, err)
		}
		if err := a.Field("absent", &name); !errors.Is(err, format.ErrLayout) {
			t.Fatalf("absent field: %v", err)
		}
		for _, s := range a.Sections() {
			if s.Offset%format.Alignment != 0 {
				t.Fatalf("section %s at %d is not 4096-aligned", s.Name, s.Offset)
			}
		}

		v, s, err := a.F32("user_factors")
		if err != nil || s.Stride != int64(format.Stride32(cols)) || s.Stride%16 != 0 || len(v) != rows*int(s.Stride) {
			t.Fatalf("user_factors: %v %+v len %d", err, s, len(v))
		}
		for r := range rows {
			row := v[r*int(s.Stride) : r*int(s.Stride)+cols]
			if uintptr(unsafe.Pointer(&row[0]))%64 != 0 {
				t.Fatalf("row %d not 64-byte aligned", r)
			}
			if !slices.Equal(row, m32[r*cols:(r+1)*cols]) {
				t.Fatalf("row %d differs", r)
			}
			for _, pad := range v[r*int(s.Stride)+cols : (r+1)*int(s.Stride)] {
				if pad != 0 {
					t.Fatalf("row %d padding not zero", r)
				}
			}
		}
		q, qs, err := a.I8("item_factors_q8")
		if err != nil || qs.Stride%64 != 0 {
			t.Fatalf("q8: %v %+v", err, qs)
		}
		for r := range rows {
			if !slices.Equal(q[r*int(qs.Stride):r*int(qs.Stride)+cols], m8[r*cols:(r+1)*cols]) {
				t.Fatalf("q8 row %d differs", r)
			}
		}
		gf32, _, _ := a.F32("f32")
		if len(gf32) != 4 || !math.IsInf(float64(gf32[0]), 1) || gf32[2] != 1.5 || !math.IsNaN(float64(gf32[3])) {
			t.Fatalf("f32 %v", gf32)
		}
		if g, _, err := a.F64("f64"); err != nil || !slices.Equal(g, f64) {
			t.Fatalf("f64 %v %v", g, err)
		}
		if g, _, err := a.I32("i32"); err != nil || !slices.Equal(g, i32) {
			t.Fatalf("i32 %v %v", g, err)
		}
		if g, _, err := a.I64("i64"); err != nil || !slices.Equal(g, i64) {
			t.Fatalf("i64 %v %v", g, err)
		}
		if g, err := a.Bytes("raw"); err != nil || !bytes.Equal(g, raw) {
			t.Fatalf("raw %q %v", g, err)
		}
		st, err := a.Strings("item_ids")
		if err != nil || st.Len() != len(ids) {
			t.Fatalf("strings: %v", err)
		}
		for i, id := range ids {
			if string(st.At(i)) != id {
				t.Fatalf("At(%d) = %q, want %q", i, st.At(i), id)
			}
			if j, ok := st.Find([]byte(id)); !ok || j != i {
				t.Fatalf("Find(%q) = %d %v", id, j, ok)
			}
		}
		if _, ok := st.Find([]byte("zzz")); ok {
			t.Fatal("Find of an absent id")
		}
		gp, _, _ := a.I64("seen.indptr")
		gi, gs, _ := a.I32("seen.indices")
		gv, _, _ := a.F32("seen.data")
		if !slices.Equal(gp, indptr) || !slices.Equal(gi, indices) || !slices.Equal(gv, vals) || gs.Cols != int64(cols) {
			t.Fatal("CSR differs")
		}
		if _, _, err := a.F64("f32"); !errors.Is(err, format.ErrLayout) {
			t.Fatalf("wrong dtype accessor: %v", err)
		}
		if _, _, err := a.F32("nope"); !errors.Is(err, format.ErrLayout) {
			t.Fatalf("missing section: %v", err)
		}
	}

	// Padding is covered by the HMAC: flip one zero padding byte.
	hdrEnd := payloadOffset(t, file)
	pad := append([]byte(nil), file...)
	if pad[hdrEnd] != 0 {
		t.Fatal("expected zero padding after the header")
	}
	pad[hdrEnd] = 1
	if _, err := format.OpenBytes(pad, testRing(t), format.Limits{}); !errors.Is(err, format.ErrSignature) {
		t.Fatalf("flipped padding: %v", err)
	}
}

func payloadOffset(t testing.TB, data []byte) int {
	c, err := format.Parse(data, nil, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return int(c.PayloadOffset)
}

// TestUpstreamContainer: a container without a payload object (upstream's
// pickle) passes the container checks but cannot be served.
func TestUpstreamContainer(t *testing.T) {
	data := seal(testKey.Secret, "k1", `{"recipe_name":"news","irspack_version":"0.4.0"}`, []byte("\x80\x05pickle"))
	c, err := format.Parse(data, testRing(t), format.Limits{})
	if err != nil || c.Header.Payload != nil || string(c.Payload()) != "\x80\x05pickle" {
		t.Fatalf("Parse: %v", err)
	}
	_, err = format.OpenBytes(data, testRing(t), format.Limits{})
	if !errors.Is(err, format.ErrLayout) || format.Stage(err) != "deserialize" {
		t.Fatalf("OpenBytes: %v (stage %s)", err, format.Stage(err))
	}
	newer := seal(testKey.Secret, "k1", `{"payload":{"layout_version":2,"alignment":4096,"sections":[]}}`, nil)
	_, err = format.OpenBytes(newer, testRing(t), format.Limits{})
	if format.Stage(err) != "version_skew" {
		t.Fatalf("newer layout: %v (stage %s)", err, format.Stage(err))
	}
}

// TestReadOrder checks that when several checks fail, the first in §4's
// order is reported.
func TestReadOrder(t *testing.T) {
	good := tinyPayload(t, testKey)
	f := func(name string, edit func([]byte) []byte, lim format.Limits, want error) {
		t.Helper()
		d := edit(append([]byte(nil), good...))
		_, err := format.Parse(d, testRing(t), lim)
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
		checkSpecError(t, err, name)
	}
	none := format.Limits{}
	f("cap before magic", func(b []byte) []byte { b[0] = 'X'; return b }, format.Limits{MaxArtifactBytes: 100}, format.ErrTooLarge)
	f("magic before version", func(b []byte) []byte { b[0] = 'X'; b[8] = 9; return b }, none, format.ErrMagic)
	f("version before reserved", func(b []byte) []byte { b[8] = 0; b[10] = 1; return b }, none, format.ErrVersion)
	f("reserved before kid length", func(b []byte) []byte { b[10] = 1; b[12] = 0; return b }, none, format.ErrReserved)
	f("kid length 0", func(b []byte) []byte { b[12] = 0; return b }, none, format.ErrKidLength)
	f("kid length 33", func(b []byte) []byte { b[12] = 33; return b }, none, format.ErrKidLength)
	f("kid utf8 before header size", func(b []byte) []byte {
		b[13] = 0xff
		binary.LittleEndian.PutUint32(b[13+2+32:], 1<<20)
		return b
	}, none, format.ErrKidUTF8)
	f("header size before truncation", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[13+2+32:], 65537)
		return b
	}, none, format.ErrHeaderTooLarge)
	f("header 65536 is allowed but truncated here", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[13+2+32:], 65536)
		return b[:1000]
	}, none, format.ErrTruncated)
	f("header utf8", func(b []byte) []byte { b[13+2+32+4+1] = 0xff; return b }, none, format.ErrHeaderUTF8)
	f("payload cap before kid", func(b []byte) []byte { b[13] = 'z'; return b }, format.Limits{MaxPayloadBytes: 10}, format.ErrTooLarge)
	f("unknown kid before signature", func(b []byte) []byte { b[13] = 'z'; b[len(b)-1] ^= 1; return b }, none, format.ErrUnknownKid)
	f("signature", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, none, format.ErrSignature)
	if _, err := format.Parse(seal(testKey.Secret, "k1", `"str"`, nil), testRing(t), none); !errors.Is(err, format.ErrHeaderJSON) {
		t.Fatalf("header not an object: %v", err)
	}
	if _, err := format.Parse(seal(testKey.Secret, "k1", `{"a":`, nil), testRing(t), none); !errors.Is(err, format.ErrHeaderJSON) || format.Stage(err) != "header_json" {
		t.Fatalf("header not JSON: %v", err)
	}
	// File-level errors of Open.
	dir := t.TempDir()
	if _, err := format.Open(filepath.Join(dir, "absent.recotem"), testRing(t), none); !errors.Is(err, format.ErrNotFound) || err.Error() != "artifact not found" {
		t.Fatalf("absent: %v", err)
	}
	big := filepath.Join(dir, "big.recotem")
	if err := os.WriteFile(big, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := format.Open(big, testRing(t), format.Limits{MaxArtifactBytes: int64(len(good) - 1)}); !errors.Is(err, format.ErrTooLarge) || format.Stage(err) != "read" {
		t.Fatalf("over cap: %v", err)
	}
}

// TestInPlaceWriteUnderReader documents what happens if someone ignores the
// rename-only rule and rewrites a mapped file in place (same length): the
// mapping shows the new bytes (the verification is stale), but every view
// stays inside the mapping.
func TestInPlaceWriteUnderReader(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared-mapping visibility of in-place writes is Linux behaviour")
	}
	p := filepath.Join(t.TempDir(), "m.recotem")
	data := tinyPayload(t, testKey)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := format.Open(p, testRing(t), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	v, s, err := a.F64("popularity")
	if err != nil || v[0] != 3 {
		t.Fatalf("popularity %v %v", v, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var nine [8]byte
	binary.LittleEndian.PutUint64(nine[:], math.Float64bits(9))
	if _, err := f.WriteAt(nine[:], s.Offset); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if v[0] != 9 || len(v) != 3 {
		t.Fatalf("in-place write: view shows %v", v)
	}
	// A fresh Open notices: the file no longer verifies.
	if _, err := format.Open(p, testRing(t), format.Limits{}); !errors.Is(err, format.ErrSignature) {
		t.Fatalf("reopen after in-place write: %v", err)
	}
}

// TestRenameKeepsMapping: the writers' rename replaces the directory entry,
// not the mapped inode, so an open Artifact keeps its verified bytes.
func TestRenameKeepsMapping(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.recotem")
	b := format.NewBuilder()
	b.F64("popularity", []float64{3, 2, 1})
	if _, err := format.WriteArtifact(p, format.AlwaysOverwrite, testKey, map[string]any{"v": 1}, b); err != nil {
		t.Fatal(err)
	}
	a, err := format.Open(p, testRing(t), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	v, _, _ := a.F64("popularity")
	b2 := format.NewBuilder()
	b2.F64("popularity", []float64{7, 7, 7})
	if _, err := format.WriteArtifact(p, format.AlwaysOverwrite, testKey, map[string]any{"v": 2}, b2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v, []float64{3, 2, 1}) {
		t.Fatalf("old mapping changed after a rename: %v", v)
	}
	a2, err := format.Open(p, testRing(t), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if v2, _, _ := a2.F64("popularity"); !slices.Equal(v2, []float64{7, 7, 7}) {
		t.Fatalf("new open: %v", v2)
	}
}
