package scoring

import (
	"fmt"
	"sync"

	"github.com/recotem/recotem/format"
)

// Kinds of model (the header's model.kind).
const (
	KindFactor     = "factor"
	KindSparseItem = "sparse_item"
	KindDenseItem  = "dense_item"
	KindPopularity = "popularity"
)

// FoldIn is the header's model.fold_in object (docs/model-sections.md).
type FoldIn struct {
	Method         string  `json:"method"` // "ials_cg", "projection", "mean"
	Alpha0         float64 `json:"alpha0,omitempty"`
	Reg            float64 `json:"reg,omitempty"`
	Nu             float64 `json:"nu,omitempty"`
	LossType       string  `json:"loss_type,omitempty"`          // "IALSPP" or "ORIGINAL"
	Confidence     string  `json:"confidence_scaling,omitempty"` // "none" or "log"
	Epsilon        float64 `json:"epsilon,omitempty"`
	CGSteps        int     `json:"cg_steps,omitempty"` // 0 means k
	NItemsTraining int     `json:"n_items_training,omitempty"`
}

// Header is the artifact header's top-level "model" object.
type Header struct {
	Kind        string  `json:"kind"`
	NUsers      int     `json:"n_users"`
	NItems      int     `json:"n_items"`
	K           int     `json:"k"`
	FoldIn      *FoldIn `json:"fold_in,omitempty"`
	HasItemBias bool    `json:"has_item_bias"`
	Q8          bool    `json:"q8"`
}

// Options tune a loaded model.
type Options struct {
	// Q8 uses the int8 first pass (with exact re-rank) whenever the
	// artifact has item_factors_q8, at any size. Without it the artifact's
	// own model.q8 flag turns the int8 pass on for models of at least
	// Q8MinElems item-factor elements, where it pays.
	Q8 bool
}

// Q8MinElems is the size (items × k) from which a model flagged model.q8
// ranks with the int8 first pass by default. Measured (BENCHMARKS.md,
// scoring): at 10k items × k 64 (0.64M) the float32 pass is faster
// (45 against 62–65 µs, the int8 pass's wider candidate set costing more
// than its scan saves); at MovieLens 9,066 × 288 (2.6M) the int8 pass is
// (70 against 105–120 µs) and at 100k × 64 twice as fast.
const Q8MinElems = 1 << 20

// Model scores one trained model. It holds views over a verified artifact's
// mapping and is valid until that artifact is closed.
type Model struct {
	kind           string
	nUsers, nItems int
	k              int
	fold           FoldIn

	users, items format.StringTable

	seenPtr []int64
	seenIdx []int32
	seenVal []float32 // nil: binary

	uf       []float32
	ufStride int
	vf       []float32
	vfStride int
	bias     []float32
	gram     []float32 // nil: computed per fold-in from vf (never for IALS artifacts)
	gStride  int

	useQ8    bool
	q8       []int8
	q8Stride int
	q8Scale  []float32

	simPtr []int64
	simIdx []int32
	simVal []float32

	dense   []float32
	dStride int

	pop []float64

	pool  sync.Pool // *scratch
	bpool freeList[batchScratch]
}

// Kind is one of the Kind* constants.
func (m *Model) Kind() string { return m.kind }

// NumUsers is the number of known users.
func (m *Model) NumUsers() int { return m.nUsers }

// NumItems is the number of items.
func (m *Model) NumItems() int { return m.nItems }

// UserIndex finds a user id (binary search over the sorted id table, no
// allocation).
func (m *Model) UserIndex(id []byte) (int, bool) {
	i, ok := m.users.Find(id)
	if !ok {
		return -1, false
	}
	return i, true
}

// ItemIndex finds an item id.
func (m *Model) ItemIndex(id []byte) (int, bool) {
	i, ok := m.items.Find(id)
	if !ok {
		return -1, false
	}
	return i, true
}

// ItemID returns item i's id as a view into the mapping (do not modify;
// valid while the artifact is open).
func (m *Model) ItemID(i int) []byte { return m.items.At(i) }

// UserID returns user u's id as a view into the mapping.
func (m *Model) UserID(u int) []byte { return m.users.At(u) }

// Q8 reports whether the int8 first pass is in use.
func (m *Model) Q8() bool { return m.useQ8 }

func modelErr(section, f string, args ...any) error {
	return &ModelError{Section: section, Detail: fmt.Sprintf(f, args...)}
}

// Load builds a Model over a verified artifact: it decodes the header's
// "model" object and takes typed views of the sections it names, checking
// only shapes (O(1) per section). The artifact must stay open while the
// Model is used.
func Load(a *format.Artifact, opt Options) (*Model, error) {
	var h Header
	if err := a.Field("model", &h); err != nil {
		return nil, modelErr("model", "%v", err)
	}
	m := &Model{kind: h.Kind, nUsers: h.NUsers, nItems: h.NItems, k: h.K}
	if h.FoldIn != nil {
		m.fold = *h.FoldIn
	}
	if h.NUsers < 0 || h.NItems < 0 || h.K < 0 {
		return nil, modelErr("model", "negative size")
	}
	var err error
	if m.users, err = a.Strings("user_ids"); err != nil {
		return nil, modelErr("user_ids", "%v", err)
	}
	if m.items, err = a.Strings("item_ids"); err != nil {
		return nil, modelErr("item_ids", "%v", err)
	}
	if m.users.Len() != h.NUsers || m.items.Len() != h.NItems {
		return nil, modelErr("model", "n_users=%d n_items=%d but id tables hold %d and %d", h.NUsers, h.NItems, m.users.Len(), m.items.Len())
	}
	if m.seenPtr, m.seenIdx, m.seenVal, err = csr(a, "seen", h.NUsers, h.NItems); err != nil {
		return nil, err
	}
	switch h.Kind {
	case KindFactor:
		if h.K < 1 {
			return nil, modelErr("model", "factor model with k=%d", h.K)
		}
		if m.uf, m.ufStride, err = matrix(a, "user_factors", h.NUsers, h.K); err != nil {
			return nil, err
		}
		if m.vf, m.vfStride, err = matrix(a, "item_factors", h.NItems, h.K); err != nil {
			return nil, err
		}
		if h.HasItemBias {
			if m.bias, err = vector32(a, "item_bias", h.NItems); err != nil {
				return nil, err
			}
		}
		switch m.fold.Method {
		case "ials_cg":
			if m.gram, m.gStride, err = matrix(a, "gram", h.K, h.K); err != nil {
				return nil, err
			}
		case "projection", "mean":
		default:
			return nil, modelErr("model.fold_in", "unknown method %q", m.fold.Method)
		}
		if _, ok := a.Section("item_factors_q8"); ok && (opt.Q8 || (h.Q8 && h.NItems*h.K >= Q8MinElems)) {
			q, s, err := a.I8("item_factors_q8")
			if err != nil {
				return nil, modelErr("item_factors_q8", "%v", err)
			}
			if len(s.Shape) != 2 || s.Shape[0] != int64(h.NItems) || s.Shape[1] != int64(h.K) {
				return nil, modelErr("item_factors_q8", "shape %v, want [%d %d]", s.Shape, h.NItems, h.K)
			}
			if m.q8Scale, err = vector32(a, "item_factors_q8.scale", h.NItems); err != nil {
				return nil, err
			}
			m.q8, m.q8Stride, m.useQ8 = q, int(s.Stride), true
		}
	case KindSparseItem:
		if m.simPtr, m.simIdx, m.simVal, err = csr(a, "sim", h.NItems, h.NItems); err != nil {
			return nil, err
		}
		if m.simVal == nil {
			return nil, modelErr("sim.data", "missing")
		}
	case KindDenseItem:
		if m.dense, m.dStride, err = matrix(a, "dense_w", h.NItems, h.NItems); err != nil {
			return nil, err
		}
	case KindPopularity:
		p, s, err := a.F64("popularity")
		if err != nil {
			return nil, modelErr("popularity", "%v", err)
		}
		if len(s.Shape) != 1 || s.Shape[0] != int64(h.NItems) {
			return nil, modelErr("popularity", "shape %v, want [%d]", s.Shape, h.NItems)
		}
		m.pop = p
	default:
		return nil, modelErr("model.kind", "unknown kind %q", h.Kind)
	}
	return m, nil
}

func matrix(a *format.Artifact, name string, rows, cols int) ([]float32, int, error) {
	v, s, err := a.F32(name)
	if err != nil {
		return nil, 0, modelErr(name, "%v", err)
	}
	if len(s.Shape) != 2 || s.Shape[0] != int64(rows) || s.Shape[1] != int64(cols) {
		return nil, 0, modelErr(name, "shape %v, want [%d %d]", s.Shape, rows, cols)
	}
	if s.Stride%16 != 0 {
		return nil, 0, modelErr(name, "row stride %d is not a multiple of 16", s.Stride)
	}
	return v, int(s.Stride), nil
}

func vector32(a *format.Artifact, name string, n int) ([]float32, error) {
	v, s, err := a.F32(name)
	if err != nil {
		return nil, modelErr(name, "%v", err)
	}
	if len(s.Shape) != 1 || s.Shape[0] != int64(n) {
		return nil, modelErr(name, "shape %v, want [%d]", s.Shape, n)
	}
	return v, nil
}

// csr returns a validated CSR group's views (format.Open checked monotone
// indptr and indices < cols); data is nil when the group has none.
func csr(a *format.Artifact, g string, rows, cols int) ([]int64, []int32, []float32, error) {
	ptr, ps, err := a.I64(g + ".indptr")
	if err != nil {
		return nil, nil, nil, modelErr(g+".indptr", "%v", err)
	}
	idx, is, err := a.I32(g + ".indices")
	if err != nil {
		return nil, nil, nil, modelErr(g+".indices", "%v", err)
	}
	if ps.Shape[0] != int64(rows)+1 {
		return nil, nil, nil, modelErr(g+".indptr", "%d rows, want %d", ps.Shape[0]-1, rows)
	}
	if is.Cols != int64(cols) {
		return nil, nil, nil, modelErr(g+".indices", "cols %d, want %d", is.Cols, cols)
	}
	var val []float32
	if _, ok := a.Section(g + ".data"); ok {
		if val, err = vector32(a, g+".data", len(idx)); err != nil {
			return nil, nil, nil, err
		}
	}
	return ptr, idx, val, nil
}
