package itemitem

import (
	"context"
	"math"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// Feature weightings of CosineKNN (algorithms.md §2.3).
const (
	WeightNone  = "NONE"
	WeightTFIDF = "TF_IDF"
	WeightBM25  = "BM_25"
)

// rowChunk is the number of item rows a worker takes at a time (the context
// is checked between chunks).
const rowChunk = 64

// CosineKNN is the item-item cosine recommender (CosineKNNRecommender).
type CosineKNN struct {
	TopK             int     // kept entries per source row, diagonal included (≥ 1)
	Shrinkage        float64 // added to the cosine denominator when Normalize (≥ 0)
	Normalize        bool    // divide by the norms (false: raw co-occurrence)
	FeatureWeighting string  // WeightNone, WeightTFIDF or WeightBM25
	BM25K1, BM25B    float64 // BM25 constants (1.2, 0.75)

	model *algo.Model
}

// NewCosineKNN builds a CosineKNN from params, defaults of §2.3 (b) for
// missing names.
func NewCosineKNN(p algo.Params) (*CosineKNN, error) {
	r := algo.NewParamReader("CosineKNN", p)
	c := &CosineKNN{
		Shrinkage:        r.Float("shrinkage", 0),
		Normalize:        r.Bool("normalize", false),
		FeatureWeighting: r.String("feature_weighting", WeightNone, WeightNone, WeightTFIDF, WeightBM25),
		BM25K1:           r.Float("bm25_k1", 1.2),
		BM25B:            r.Float("bm25_b", 0.75),
	}
	c.TopK = r.Int("top_k", 100)
	if r.Err() == nil {
		switch {
		case c.TopK < 1:
			r.Fail("top_k", c.TopK, "want ≥ 1")
		case c.Shrinkage < 0:
			r.Fail("shrinkage", c.Shrinkage, "want ≥ 0")
		case c.BM25K1 < 0:
			r.Fail("bm25_k1", c.BM25K1, "want ≥ 0")
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Model returns the fitted model (nil before Fit).
func (c *CosineKNN) Model() *algo.Model { return c.model }

// featureWeights returns φ(X)'s values, aligned with X.Data (§2.3 (a)).
func featureWeights(X, Xt *sparse.CSR, mode string, k1, b float64) []float64 {
	if mode == WeightNone {
		return X.Data
	}
	U := float64(X.Rows)
	idf := make([]float64, X.Cols)
	for j := range idf {
		n := float64(Xt.RowLen(j))
		if mode == WeightTFIDF {
			idf[j] = math.Log(U / (n + 1))
		} else {
			idf[j] = math.Log(U/(n+1) + 1)
		}
	}
	w := make([]float64, len(X.Data))
	if mode == WeightTFIDF {
		for p, j := range X.Indices {
			w[p] = X.Data[p] * idf[j]
		}
		return w
	}
	var total float64
	for _, v := range X.Data {
		total += v
	}
	avgdl := total / U
	for u := 0; u < X.Rows; u++ {
		a, e := X.Indptr[u], X.Indptr[u+1]
		var dl float64
		for p := a; p < e; p++ {
			dl += X.Data[p]
		}
		// avgdl > 0 whenever the row has entries.
		lenNorm := k1 * (1 - b + b*dl/avgdl)
		for p := a; p < e; p++ {
			x := X.Data[p]
			w[p] = idf[X.Indices[p]] * x * (k1 + 1) / (x + lenNorm)
		}
	}
	return w
}

// columnNorms returns the Euclidean norm of each column given values aligned
// with X's structure.
func columnNorms(X *sparse.CSR, vals []float64) []float64 {
	n := make([]float64, X.Cols)
	for p, j := range X.Indices {
		n[j] += vals[p] * vals[p]
	}
	for j := range n {
		n[j] = math.Sqrt(n[j])
	}
	return n
}

// rowBlock is the output of one chunk of rows: per-row lengths and the
// concatenated entries.
type rowBlock struct {
	lens []int32
	idx  []int32
	val  []float32
}

// Fit builds the pruned similarity matrix (§2.3).
func (c *CosineKNN) Fit(ctx context.Context, X *sparse.CSR) error {
	c.model = nil
	nI := X.Cols
	Xt := X.Transpose()
	wf := featureWeights(X, Xt, c.FeatureWeighting, c.BM25K1, c.BM25B)
	srcNorm := columnNorms(X, X.Data)
	candNorm := columnNorms(X, wf)

	accs := make([]*accumulator, nWorkers())
	blocks := make([]rowBlock, (nI+rowChunk-1)/rowChunk)
	_, err := forChunks(ctx, nI, rowChunk, func(w, lo, hi int) {
		if accs[w] == nil {
			accs[w] = newAccumulator(nI)
		}
		acc := accs[w]
		blk := &blocks[lo/rowChunk]
		for r := lo; r < hi; r++ {
			users, xr := Xt.Row(r)
			for q, u := range users {
				xur := xr[q]
				a, e := X.Indptr[u], X.Indptr[u+1]
				for p := a; p < e; p++ {
					acc.add(X.Indices[p], xur*wf[p])
				}
			}
			cand := acc.cand[:0]
			for _, j := range acc.touched {
				s := acc.val[j]
				if c.Normalize {
					s /= srcNorm[r]*candNorm[j] + c.Shrinkage + 1e-6
				}
				cand = append(cand, entry{j, s})
			}
			acc.reset()
			kept := selectTopK(cand, c.TopK, true)
			acc.cand = cand
			n := int32(0)
			for _, e := range kept {
				// The diagonal is zeroed after pruning; zero entries are dropped.
				if int(e.idx) == r || e.val == 0 {
					continue
				}
				blk.idx = append(blk.idx, e.idx)
				blk.val = append(blk.val, float32(e.val))
				n++
			}
			blk.lens = append(blk.lens, n)
		}
	})
	if err != nil {
		return err
	}
	c.model = &algo.Model{Kind: algo.KindSparseItem, NUsers: X.Rows, NItems: nI, Sim: concatBlocks(nI, blocks)}
	return nil
}

// concatBlocks joins per-chunk rows into one SimCSR.
func concatBlocks(n int, blocks []rowBlock) *algo.SimCSR {
	total := 0
	for i := range blocks {
		total += len(blocks[i].idx)
	}
	s := &algo.SimCSR{N: n, Indptr: make([]int64, n+1), Indices: make([]int32, 0, total), Data: make([]float32, 0, total)}
	row := 0
	for i := range blocks {
		b := &blocks[i]
		for _, l := range b.lens {
			s.Indptr[row+1] = s.Indptr[row] + int64(l)
			row++
		}
		s.Indices = append(s.Indices, b.idx...)
		s.Data = append(s.Data, b.val...)
		*b = rowBlock{}
	}
	return s
}
