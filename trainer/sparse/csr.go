// Package sparse owns the compressed-sparse-row matrix the trainer builds from
// interactions and hands to every algorithm. Matrices are immutable once built;
// share them freely between goroutines.
package sparse

import (
	"fmt"
	"slices"
)

// CSR is a Rows×Cols sparse matrix in compressed-sparse-row form. Column
// indices inside a row are strictly ascending; Data holds one value per stored
// entry (never nil, 1.0 for binary data).
type CSR struct {
	Rows, Cols int
	Indptr     []int64 // len Rows+1, Indptr[0]=0, non-decreasing
	Indices    []int32 // len NNZ, column of each entry
	Data       []float64
}

// NNZ is the number of stored entries.
func (m *CSR) NNZ() int { return len(m.Indices) }

// Row returns the column indices and values of row i (views, do not modify).
func (m *CSR) Row(i int) ([]int32, []float64) {
	a, b := m.Indptr[i], m.Indptr[i+1]
	return m.Indices[a:b], m.Data[a:b]
}

// RowLen is the number of stored entries of row i.
func (m *CSR) RowLen(i int) int { return int(m.Indptr[i+1] - m.Indptr[i]) }

// FromTriplets builds a CSR from (row, col, value) triplets in any order.
// Duplicate (row, col) pairs are summed, as irspack's matrix construction does.
func FromTriplets(rows, cols int, r, c []int32, v []float64) (*CSR, error) {
	if len(r) != len(c) || (v != nil && len(v) != len(r)) {
		return nil, fmt.Errorf("sparse: triplet lengths differ: %d rows, %d cols, %d values", len(r), len(c), len(v))
	}
	counts := make([]int64, rows+1)
	for k := range r {
		if int(r[k]) < 0 || int(r[k]) >= rows || int(c[k]) < 0 || int(c[k]) >= cols {
			return nil, fmt.Errorf("sparse: triplet %d (%d,%d) outside %dx%d", k, r[k], c[k], rows, cols)
		}
		counts[r[k]+1]++
	}
	for i := 0; i < rows; i++ {
		counts[i+1] += counts[i]
	}
	idx := make([]int32, len(r))
	val := make([]float64, len(r))
	next := slices.Clone(counts[:rows])
	for k := range r {
		p := next[r[k]]
		next[r[k]]++
		idx[p] = c[k]
		if v == nil {
			val[p] = 1
		} else {
			val[p] = v[k]
		}
	}
	// Sort each row by column and sum duplicates, compacting in place.
	out := &CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	w := int64(0)
	type pair struct {
		c int32
		v float64
	}
	var buf []pair
	for i := 0; i < rows; i++ {
		a, b := counts[i], counts[i+1]
		buf = buf[:0]
		for p := a; p < b; p++ {
			buf = append(buf, pair{idx[p], val[p]})
		}
		slices.SortStableFunc(buf, func(x, y pair) int { return int(x.c) - int(y.c) })
		for j := 0; j < len(buf); j++ {
			if j > 0 && buf[j].c == buf[j-1].c {
				val[w-1] += buf[j].v
				continue
			}
			idx[w], val[w] = buf[j].c, buf[j].v
			w++
		}
		out.Indptr[i+1] = w
	}
	out.Indices, out.Data = idx[:w:w], val[:w:w]
	return out, nil
}

// Transpose returns the Cols×Rows transpose, rows again column-sorted.
func (m *CSR) Transpose() *CSR {
	t := &CSR{Rows: m.Cols, Cols: m.Rows, Indptr: make([]int64, m.Cols+1)}
	for _, c := range m.Indices {
		t.Indptr[c+1]++
	}
	for i := 0; i < m.Cols; i++ {
		t.Indptr[i+1] += t.Indptr[i]
	}
	t.Indices = make([]int32, len(m.Indices))
	t.Data = make([]float64, len(m.Indices))
	next := slices.Clone(t.Indptr[:m.Cols])
	for i := 0; i < m.Rows; i++ {
		for p := m.Indptr[i]; p < m.Indptr[i+1]; p++ {
			c := m.Indices[p]
			q := next[c]
			next[c]++
			t.Indices[q] = int32(i)
			t.Data[q] = m.Data[p]
		}
	}
	return t
}

// Binary returns a copy of m with every stored value set to 1.
func (m *CSR) Binary() *CSR {
	d := make([]float64, len(m.Data))
	for i := range d {
		d[i] = 1
	}
	return &CSR{Rows: m.Rows, Cols: m.Cols, Indptr: m.Indptr, Indices: m.Indices, Data: d}
}
