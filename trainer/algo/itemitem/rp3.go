package itemitem

import (
	"context"
	"math"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// RP3beta is the 3-step random-walk recommender with popularity penalty
// (RP3betaRecommender, algorithms.md §2.4).
type RP3beta struct {
	Alpha           float64 // exponent on X (1; never tuned)
	Beta            float64 // popularity penalty exponent on the destination
	TopK            int     // kept entries per destination column; 0 = no pruning (upstream None)
	NormalizeWeight bool    // L1-normalise each source row after pruning

	model *algo.Model
}

// NewRP3beta builds an RP3beta from params, defaults of §2.4 (b) for missing
// names. top_k absent or nil means no pruning.
func NewRP3beta(p algo.Params) (*RP3beta, error) {
	r := algo.NewParamReader("RP3beta", p)
	m := &RP3beta{
		Alpha:           r.Float("alpha", 1),
		Beta:            r.Float("beta", 0.6),
		NormalizeWeight: r.Bool("normalize_weight", false),
	}
	k, set := r.OptInt("top_k", 0)
	if r.Err() == nil {
		switch {
		case set && k < 1:
			r.Fail("top_k", k, "want ≥ 1 or None")
		case m.Alpha <= 0:
			r.Fail("alpha", m.Alpha, "want > 0")
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	m.TopK = k
	return m, nil
}

// Model returns the fitted model (nil before Fit).
func (m *RP3beta) Model() *algo.Model { return m.model }

// colBlock is the pruned output of one chunk of destination columns.
type colBlock struct {
	lens []int32
	src  []int32
	val  []float64
}

// Fit builds W (§2.4): per destination column r, W_jr =
// Σ_u (X_uj^α/e_j)(X_ur^α/d_u) / pop_r^β, pruned to the top_k sources,
// then transposed to source rows and optionally L1-normalised per row.
func (m *RP3beta) Fit(ctx context.Context, X *sparse.CSR) error {
	m.model = nil
	nI := X.Cols
	Xt := X.Transpose()
	xa := X.Data
	if m.Alpha != 1 {
		xa = make([]float64, len(X.Data))
		for p, v := range X.Data {
			xa[p] = math.Pow(v, m.Alpha)
		}
	}
	invD := make([]float64, X.Rows) // 1/d_u
	for u := range invD {
		var d float64
		for p := X.Indptr[u]; p < X.Indptr[u+1]; p++ {
			d += xa[p]
		}
		if d > 0 {
			invD[u] = 1 / d
		}
	}
	e := make([]float64, nI)   // in-degree Σ_u X^α
	pop := make([]float64, nI) // raw column sums
	for p, j := range X.Indices {
		e[j] += xa[p]
		pop[j] += X.Data[p]
	}
	// xat[q] = X_ur^α aligned with Xt (same order as Xt.Data).
	xat := Xt.Data
	if m.Alpha != 1 {
		xat = make([]float64, len(Xt.Data))
		for q, v := range Xt.Data {
			xat[q] = math.Pow(v, m.Alpha)
		}
	}

	accs := make([]*accumulator, nWorkers())
	blocks := make([]colBlock, (nI+rowChunk-1)/rowChunk)
	_, err := forChunks(ctx, nI, rowChunk, func(w, lo, hi int) {
		if accs[w] == nil {
			accs[w] = newAccumulator(nI)
		}
		acc := accs[w]
		blk := &blocks[lo/rowChunk]
		for r := lo; r < hi; r++ {
			a, b := Xt.Indptr[r], Xt.Indptr[r+1]
			for q := a; q < b; q++ {
				u := Xt.Indices[q]
				f := xat[q] * invD[u]
				for p := X.Indptr[u]; p < X.Indptr[u+1]; p++ {
					acc.add(X.Indices[p], f*xa[p])
				}
			}
			penalty := 1.0
			if len(acc.touched) > 0 && m.Beta != 0 {
				penalty = math.Pow(pop[r], m.Beta)
			}
			cand := acc.cand[:0]
			for _, j := range acc.touched {
				cand = append(cand, entry{j, acc.val[j] / e[j] / penalty})
			}
			acc.reset()
			// transposeColumns orders each source row by column, so the kept
			// sources of a column need no order.
			kept := selectTopK(cand, m.TopK, false)
			acc.cand = cand
			for _, en := range kept {
				blk.src = append(blk.src, en.idx)
				blk.val = append(blk.val, en.val)
			}
			blk.lens = append(blk.lens, int32(len(kept)))
		}
	})
	if err != nil {
		return err
	}
	m.model = &algo.Model{Kind: algo.KindSparseItem, NUsers: X.Rows, NItems: nI,
		Sim: transposeColumns(nI, blocks, m.NormalizeWeight)}
	return nil
}

// transposeColumns turns per-destination-column entries into a CSR by
// source row (columns ascending within a row), optionally dividing each row
// by its float64 sum (accumulated in ascending column order), and converts
// values to float32 as they are placed.
func transposeColumns(n int, blocks []colBlock, normalize bool) *algo.SimCSR {
	s := &algo.SimCSR{N: n, Indptr: make([]int64, n+1)}
	var scale []float64
	if normalize {
		scale = make([]float64, n)
	}
	total := 0
	for i := range blocks {
		b := &blocks[i]
		for q, j := range b.src {
			s.Indptr[j+1]++
			if normalize {
				scale[j] += b.val[q]
			}
		}
		total += len(b.src)
	}
	for j := 0; j < n; j++ {
		s.Indptr[j+1] += s.Indptr[j]
		if normalize {
			if sum := scale[j]; sum > 0 && !math.IsInf(sum, 0) {
				scale[j] = 1 / sum
			} else {
				scale[j] = 1
			}
		}
	}
	next := make([]int64, n)
	copy(next, s.Indptr[:n])
	s.Indices = make([]int32, total)
	s.Data = make([]float32, total)
	col := int32(0)
	for i := range blocks {
		b := &blocks[i]
		p := 0
		for _, l := range b.lens {
			for q := p; q < p+int(l); q++ {
				j := b.src[q]
				d := next[j]
				next[j]++
				s.Indices[d] = col
				v := b.val[q]
				if normalize {
					v *= scale[j]
				}
				s.Data[d] = float32(v)
			}
			p += int(l)
			col++
		}
		*b = colBlock{}
	}
	return s
}
