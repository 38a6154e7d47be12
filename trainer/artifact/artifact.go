package artifact

import (
	"errors"
	"fmt"
	"math"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// ErrShape: the model, id lists and seen matrix disagree about sizes or
// lack a section their kind needs.
var ErrShape = errors.New("model does not match its sections")

// Options choose optional sections.
type Options struct {
	// Q8 adds item_factors_q8 (+ .scale) to factor models and sets the
	// header's model.q8, so servers use the int8 first pass by default.
	Q8 bool
}

// Header is the header's "model" object (docs/model-sections.md); the
// scoring package decodes the same JSON keys.
type Header struct {
	Kind        string       `json:"kind"`
	NUsers      int          `json:"n_users"`
	NItems      int          `json:"n_items"`
	K           int          `json:"k"`
	FoldIn      *algo.FoldIn `json:"fold_in,omitempty"`
	HasItemBias bool         `json:"has_item_bias"`
	Q8          bool         `json:"q8"`
}

func shapeErr(f string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrShape, fmt.Sprintf(f, args...))
}

// Build lays out m's sections. userIDs and itemIDs are the ids of user and
// item indices, strictly ascending by bytes (the index order). seen is the
// final users×items training matrix; its values are stored only when some
// value is not 1. The returned fields hold the header key "model" to merge
// into the artifact header.
func Build(m *algo.Model, userIDs, itemIDs []string, seen *sparse.CSR, opt Options) (*format.Builder, map[string]any, error) {
	if m == nil || seen == nil {
		return nil, nil, shapeErr("nil model or seen matrix")
	}
	nU, nI, k := m.NUsers, m.NItems, m.K
	if len(userIDs) != nU || len(itemIDs) != nI {
		return nil, nil, shapeErr("%d user ids and %d item ids for a %d×%d model", len(userIDs), len(itemIDs), nU, nI)
	}
	if seen.Rows != nU || seen.Cols != nI {
		return nil, nil, shapeErr("seen is %d×%d, model %d×%d", seen.Rows, seen.Cols, nU, nI)
	}
	for _, ids := range [][]string{userIDs, itemIDs} {
		for i := 1; i < len(ids); i++ {
			if ids[i-1] >= ids[i] {
				return nil, nil, shapeErr("ids not strictly ascending at %d (%q, %q)", i, ids[i-1], ids[i])
			}
		}
	}
	b := format.NewBuilder()
	b.Strings("user_ids", userIDs)
	b.Strings("item_ids", itemIDs)
	var seenData []float32
	for _, v := range seen.Data {
		if v != 1 {
			seenData = make([]float32, len(seen.Data))
			for i, x := range seen.Data {
				seenData[i] = float32(x)
			}
			break
		}
	}
	b.CSR("seen", seen.Indptr, seen.Indices, nI, seenData)
	h := Header{Kind: string(m.Kind), NUsers: nU, NItems: nI, K: k}
	switch m.Kind {
	case algo.KindFactor:
		if k < 1 || len(m.UserFactors) != nU*k || len(m.ItemFactors) != nI*k {
			return nil, nil, shapeErr("factor model k=%d with %d user and %d item factor values", k, len(m.UserFactors), len(m.ItemFactors))
		}
		b.Matrix32("user_factors", nU, k, m.UserFactors)
		b.Matrix32("item_factors", nI, k, m.ItemFactors)
		if m.ItemBias != nil {
			if len(m.ItemBias) != nI {
				return nil, nil, shapeErr("item_bias has %d values for %d items", len(m.ItemBias), nI)
			}
			b.F32("item_bias", m.ItemBias)
			h.HasItemBias = true
		}
		fi := m.FoldIn
		switch fi.Method {
		case "ials_cg":
			g := m.Gram
			if g == nil {
				g = gram(m.ItemFactors, nI, k)
			}
			if len(g) != k*k {
				return nil, nil, shapeErr("gram has %d values for k=%d", len(g), k)
			}
			b.Matrix32("gram", k, k, g)
			if fi.NItemsTraining == 0 {
				fi.NItemsTraining = nI
			}
		case "projection", "mean":
		default:
			return nil, nil, shapeErr("unknown fold-in method %q", fi.Method)
		}
		h.FoldIn = &fi
		if opt.Q8 {
			q, sc := Quantize8(m.ItemFactors, nI, k)
			b.MatrixI8("item_factors_q8", nI, k, q)
			b.F32("item_factors_q8.scale", sc)
			h.Q8 = true
		}
	case algo.KindSparseItem:
		s := m.Sim
		if s == nil || s.N != nI || len(s.Indptr) != nI+1 || len(s.Indices) != len(s.Data) {
			return nil, nil, shapeErr("sparse_item model needs an %d×%d similarity CSR with values", nI, nI)
		}
		b.CSR("sim", s.Indptr, s.Indices, nI, s.Data)
	case algo.KindDenseItem:
		if len(m.Dense) != nI*nI {
			return nil, nil, shapeErr("dense_w has %d values for %d items", len(m.Dense), nI)
		}
		b.Matrix32("dense_w", nI, nI, m.Dense)
	case algo.KindPopularity:
		if len(m.Popularity) != nI {
			return nil, nil, shapeErr("popularity has %d values for %d items", len(m.Popularity), nI)
		}
		b.F64("popularity", m.Popularity)
	default:
		return nil, nil, shapeErr("unknown model kind %q", m.Kind)
	}
	return b, map[string]any{"model": h}, nil
}

// gram returns VᵀV (k×k) with float64 accumulation.
func gram(v []float32, n, k int) []float32 {
	acc := make([]float64, k*k)
	for i := 0; i < n; i++ {
		row := v[i*k : (i+1)*k]
		for a, x := range row {
			for c, y := range row {
				acc[a*k+c] += float64(x) * float64(y)
			}
		}
	}
	g := make([]float32, k*k)
	for i, x := range acc {
		g[i] = float32(x)
	}
	return g
}

// Quantize8 returns the int8 rows (dense n×k) and per-row scales of v:
// scale = max|row|/127 (0 for an all-zero or non-finite row), q =
// round(v/scale). This is the convention scoring's int8 first pass assumes.
func Quantize8(v []float32, n, k int) ([]int8, []float32) {
	q := make([]int8, n*k)
	sc := make([]float32, n)
	for i := 0; i < n; i++ {
		row := v[i*k : (i+1)*k]
		var mx float32
		for _, x := range row {
			mx = max(mx, float32(math.Abs(float64(x))))
		}
		if mx == 0 || math.IsInf(float64(mx), 0) || math.IsNaN(float64(mx)) {
			continue
		}
		s := mx / 127
		sc[i] = s
		for c, x := range row {
			q[i*k+c] = int8(math.Round(float64(x / s)))
		}
	}
	return q, sc
}
