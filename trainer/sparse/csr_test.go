package sparse

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// dense renders m as a row-major dense matrix.
func dense(m *CSR) [][]float64 {
	out := make([][]float64, m.Rows)
	for i := range out {
		out[i] = make([]float64, m.Cols)
		cols, vals := m.Row(i)
		for k, c := range cols {
			out[i][c] += vals[k]
		}
	}
	return out
}

// checkCSR asserts the invariants of the type doc: len(Indptr) = Rows+1,
// Indptr[0] = 0 and non-decreasing, strictly ascending columns in range,
// one value per entry.
func checkCSR(t *testing.T, m *CSR) {
	t.Helper()
	if len(m.Indptr) != m.Rows+1 || m.Indptr[0] != 0 || m.Indptr[m.Rows] != int64(m.NNZ()) || len(m.Data) != m.NNZ() {
		t.Fatalf("shape: rows %d, indptr %v, nnz %d, data %d", m.Rows, m.Indptr, m.NNZ(), len(m.Data))
	}
	for i := 0; i < m.Rows; i++ {
		if m.Indptr[i+1] < m.Indptr[i] {
			t.Fatalf("indptr decreases at row %d: %v", i, m.Indptr)
		}
		cols, _ := m.Row(i)
		if len(cols) != m.RowLen(i) {
			t.Fatalf("row %d: Row has %d entries, RowLen %d", i, len(cols), m.RowLen(i))
		}
		for k, c := range cols {
			if c < 0 || int(c) >= m.Cols || k > 0 && c <= cols[k-1] {
				t.Fatalf("row %d columns not strictly ascending in range: %v", i, cols)
			}
		}
	}
}

func TestFromTriplets(t *testing.T) {
	// Unordered input with a duplicate (1,2) summed and an empty row 2.
	m, err := FromTriplets(4, 3, []int32{1, 0, 1, 3, 1}, []int32{2, 1, 0, 2, 2}, []float64{1, 5, 2, 7, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	checkCSR(t, m)
	want := [][]float64{{0, 5, 0}, {2, 0, 1.5}, {0, 0, 0}, {0, 0, 7}}
	if got := dense(m); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("dense\n got %v\nwant %v", got, want)
	}
	if m.NNZ() != 4 || m.RowLen(2) != 0 || !slices.Equal(m.Indptr, []int64{0, 1, 3, 3, 4}) {
		t.Fatalf("nnz %d, indptr %v", m.NNZ(), m.Indptr)
	}
	// nil values mean 1 each; duplicates still sum (counts).
	b, err := FromTriplets(2, 2, []int32{0, 0, 1}, []int32{1, 1, 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dense(b); !slices.EqualFunc(got, [][]float64{{0, 2}, {1, 0}}, slices.Equal) {
		t.Fatalf("binary input: %v", got)
	}
	// Empty matrices.
	for _, dims := range [][2]int{{0, 0}, {3, 0}, {0, 5}, {2, 2}} {
		e, err := FromTriplets(dims[0], dims[1], nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkCSR(t, e)
		if e.NNZ() != 0 {
			t.Fatalf("%v: nnz %d", dims, e.NNZ())
		}
	}
}

func TestFromTripletsErrors(t *testing.T) {
	f := func(rows, cols int, r, c []int32, v []float64, want string) {
		t.Helper()
		if _, err := FromTriplets(rows, cols, r, c, v); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("(%v, %v, %v) in %dx%d: %v, want %q", r, c, v, rows, cols, err, want)
		}
	}
	f(2, 2, []int32{0, 1}, []int32{0}, nil, "lengths differ")
	f(2, 2, []int32{0}, []int32{0}, []float64{1, 2}, "lengths differ")
	f(2, 2, []int32{2}, []int32{0}, nil, "outside 2x2")
	f(2, 2, []int32{0}, []int32{-1}, nil, "outside 2x2")
	f(2, 2, []int32{-1}, []int32{0}, nil, "outside 2x2")
}

func TestTransposeAndBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols, n = 37, 23, 400
	r, c, v := make([]int32, n), make([]int32, n), make([]float64, n)
	for k := range r {
		r[k], c[k], v[k] = int32(rng.IntN(rows)), int32(rng.IntN(cols)), float64(1+rng.IntN(4))
	}
	m, err := FromTriplets(rows, cols, r, c, v)
	if err != nil {
		t.Fatal(err)
	}
	checkCSR(t, m)
	tr := m.Transpose()
	checkCSR(t, tr)
	dm, dt := dense(m), dense(tr)
	if tr.Rows != cols || tr.Cols != rows || tr.NNZ() != m.NNZ() {
		t.Fatalf("transpose shape %dx%d nnz %d", tr.Rows, tr.Cols, tr.NNZ())
	}
	for i := range rows {
		for j := range cols {
			if dm[i][j] != dt[j][i] {
				t.Fatalf("(%d,%d): %v vs transposed %v", i, j, dm[i][j], dt[j][i])
			}
		}
	}
	if back := dense(tr.Transpose()); !slices.EqualFunc(back, dm, slices.Equal) {
		t.Fatal("transpose twice is not the identity")
	}
	bin := m.Binary()
	checkCSR(t, bin)
	for k, x := range bin.Data {
		if x != 1 {
			t.Fatalf("Binary value %d = %v", k, x)
		}
	}
	if !slices.Equal(bin.Indices, m.Indices) || m.Data[0] == 0 {
		t.Fatal("Binary changed the pattern or the original")
	}
	orig := slices.Clone(m.Data)
	bin.Data[0] = 9
	if !slices.Equal(m.Data, orig) {
		t.Fatal("Binary shares its values with the original")
	}
}
