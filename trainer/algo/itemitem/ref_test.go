package itemitem

import (
	"fmt"
	"math"
	"math/rand"
	"sort"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
	"gonum.org/v1/gonum/mat"
)

// This file holds dense, literal transcriptions of algorithms.md §2.3–§2.5
// used as references for the sparse, parallel implementations.

// randomCSR draws a users×items matrix with power-law item popularity;
// counts > 1 appear when withCounts is set.
func randomCSR(r *rand.Rand, users, items, perUser int, withCounts bool) *sparse.CSR {
	var ru, ci []int32
	var v []float64
	for u := 0; u < users; u++ {
		n := 1 + r.Intn(perUser)
		for k := 0; k < n; k++ {
			i := int(float64(items) * math.Pow(r.Float64(), 2.5))
			ru = append(ru, int32(u))
			ci = append(ci, int32(min(i, items-1)))
			v = append(v, 1)
		}
	}
	X, err := sparse.FromTriplets(users, items, ru, ci, v)
	if err != nil {
		panic(err)
	}
	if !withCounts {
		return X.Binary()
	}
	return X
}

func dense(X *sparse.CSR) [][]float64 {
	d := make([][]float64, X.Rows)
	for u := range d {
		d[u] = make([]float64, X.Cols)
		cols, vals := X.Row(u)
		for p, j := range cols {
			d[u][j] = vals[p]
		}
	}
	return d
}

// pruneRowsRef keeps, per row, the top k of the structurally non-zero
// entries (value desc, index asc); k ≤ 0 keeps all.
func pruneRowsRef(w [][]float64, nz [][]bool, k int) [][]float64 {
	out := make([][]float64, len(w))
	for r := range w {
		out[r] = make([]float64, len(w[r]))
		var idx []int
		for j := range w[r] {
			if nz[r][j] {
				idx = append(idx, j)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool { return w[r][idx[a]] > w[r][idx[b]] })
		if k > 0 && len(idx) > k {
			idx = idx[:k]
		}
		for _, j := range idx {
			out[r][j] = w[r][j]
		}
	}
	return out
}

func cosineRef(X *sparse.CSR, c *CosineKNN) [][]float64 {
	x := dense(X)
	U, I := X.Rows, X.Cols
	wf := make([][]float64, U)
	nj := make([]float64, I)
	for u := range x {
		for j := range x[u] {
			if x[u][j] != 0 {
				nj[j]++
			}
		}
	}
	var total float64
	for u := range x {
		for j := range x[u] {
			total += x[u][j]
		}
	}
	avgdl := total / float64(U)
	for u := range x {
		wf[u] = make([]float64, I)
		var dl float64
		for j := range x[u] {
			dl += x[u][j]
		}
		for j := range x[u] {
			xv := x[u][j]
			if xv == 0 {
				continue
			}
			switch c.FeatureWeighting {
			case WeightNone:
				wf[u][j] = xv
			case WeightTFIDF:
				wf[u][j] = xv * math.Log(float64(U)/(nj[j]+1))
			case WeightBM25:
				idf := math.Log(float64(U)/(nj[j]+1) + 1)
				wf[u][j] = idf * xv * (c.BM25K1 + 1) / (xv + c.BM25K1*(1-c.BM25B+c.BM25B*dl/avgdl))
			}
		}
	}
	w := make([][]float64, I)
	nz := make([][]bool, I)
	for r := 0; r < I; r++ {
		w[r] = make([]float64, I)
		nz[r] = make([]bool, I)
		var sn float64
		for u := 0; u < U; u++ {
			sn += x[u][r] * x[u][r]
		}
		for j := 0; j < I; j++ {
			var raw, cn float64
			for u := 0; u < U; u++ {
				raw += x[u][r] * wf[u][j]
				cn += wf[u][j] * wf[u][j]
				if x[u][r] != 0 && x[u][j] != 0 {
					nz[r][j] = true
				}
			}
			if c.Normalize {
				raw /= math.Sqrt(sn)*math.Sqrt(cn) + c.Shrinkage + 1e-6
			}
			w[r][j] = raw
		}
	}
	out := pruneRowsRef(w, nz, c.TopK)
	for r := range out {
		out[r][r] = 0
	}
	return out
}

func rp3Ref(X *sparse.CSR, m *RP3beta) [][]float64 {
	x := dense(X)
	U, I := X.Rows, X.Cols
	xa := make([][]float64, U)
	d := make([]float64, U)
	e := make([]float64, I)
	pop := make([]float64, I)
	for u := range x {
		xa[u] = make([]float64, I)
		for j := range x[u] {
			if x[u][j] != 0 {
				xa[u][j] = math.Pow(x[u][j], m.Alpha)
			}
			d[u] += xa[u][j]
			e[j] += xa[u][j]
			pop[j] += x[u][j]
		}
	}
	// wt[r][j] = W_jr, so that pruning "per destination column" is per row of wt.
	wt := make([][]float64, I)
	nz := make([][]bool, I)
	for r := 0; r < I; r++ {
		wt[r] = make([]float64, I)
		nz[r] = make([]bool, I)
		for j := 0; j < I; j++ {
			var s float64
			for u := 0; u < U; u++ {
				if xa[u][j] != 0 && xa[u][r] != 0 {
					// Same association as the implementation, so ties match.
					s += xa[u][r] * (1 / d[u]) * xa[u][j]
					nz[r][j] = true
				}
			}
			wt[r][j] = s / e[j] / math.Pow(pop[r], m.Beta)
		}
	}
	pt := pruneRowsRef(wt, nz, m.TopK)
	w := make([][]float64, I)
	for j := range w {
		w[j] = make([]float64, I)
		var sum float64
		for r := 0; r < I; r++ {
			w[j][r] = pt[r][j]
			sum += w[j][r]
		}
		if m.NormalizeWeight && sum > 0 {
			for r := range w[j] {
				w[j][r] /= sum
			}
		}
	}
	return w
}

func easeRef(X *sparse.CSR, reg float64) [][]float64 {
	x := dense(X)
	I := X.Cols
	p := mat.NewSymDense(I, nil)
	for i := 0; i < I; i++ {
		for j := 0; j <= i; j++ {
			var s float64
			for u := range x {
				s += x[u][i] * x[u][j]
			}
			if i == j {
				s += reg
			}
			p.SetSym(i, j, s)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(p) {
		panic("not SPD")
	}
	var b mat.SymDense
	if err := ch.InverseTo(&b); err != nil {
		panic(err)
	}
	w := make([][]float64, I)
	for i := range w {
		w[i] = make([]float64, I)
		for j := range w[i] {
			if i != j {
				w[i][j] = -b.At(i, j) / b.At(j, j)
			}
		}
	}
	return w
}

// simDense expands a SimCSR, checking its structure.
func simDense(s *algo.SimCSR) ([][]float64, error) {
	if len(s.Indptr) != s.N+1 || s.Indptr[0] != 0 || int(s.Indptr[s.N]) != len(s.Indices) || len(s.Indices) != len(s.Data) {
		return nil, fmt.Errorf("bad SimCSR shape: N=%d indptr %d indices %d data %d", s.N, len(s.Indptr), len(s.Indices), len(s.Data))
	}
	out := make([][]float64, s.N)
	for r := range out {
		out[r] = make([]float64, s.N)
		prev := int32(-1)
		for p := s.Indptr[r]; p < s.Indptr[r+1]; p++ {
			c := s.Indices[p]
			if c <= prev || int(c) >= s.N {
				return nil, fmt.Errorf("row %d: column %d not ascending or out of range", r, c)
			}
			prev = c
			out[r][c] = float64(s.Data[p])
		}
	}
	return out, nil
}
