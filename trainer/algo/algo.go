// Package algo owns the contract between the search and the seven
// recommender algorithms: hyperparameter spaces, the reader every
// constructor parses its Params with (ParamReader, Choice for enumerated
// options) and the one error type for a bad value (ParamError, ErrParam),
// the Recommender interface, and the Model each fit hands to the artifact
// writer. Implementations live in
// sub-packages (factor: IALS, TruncatedSVD, BPRFM; itemitem: CosineKNN,
// RP3beta, DenseSLIM, TopPop). Math: algorithms.md.
package algo

import (
	"context"
	"maps"

	"github.com/recotem/recotem/trainer/sparse"
)

// ParamKind says how a hyperparameter is sampled.
type ParamKind int

const (
	Int         ParamKind = iota // integer in [Low, High], step 1
	Float                        // float in [Low, High]
	Categorical                  // one of Choices
)

// ParamSpec is one dimension of an algorithm's search space (algorithms.md §2 (c)).
type ParamSpec struct {
	Name      string
	Kind      ParamKind
	Low, High float64
	Log       bool
	Choices   []any // string or bool values, in suggestion order
}

// Params maps parameter names to values: int, float64, string or bool.
type Params map[string]any

// Kind is the serving shape of a trained model.
type Kind string

const (
	KindFactor     Kind = "factor"      // score = V·u (+ item bias)
	KindSparseItem Kind = "sparse_item" // score = x_u·S, S item×item CSR
	KindDenseItem  Kind = "dense_item"  // score = x_u·W, W dense item×item
	KindPopularity Kind = "popularity"  // score = popularity
)

// FoldIn says how a factor model embeds a seed profile for related items.
type FoldIn struct {
	Method string `json:"method"` // "ials_cg", "projection" (SVD: z = x·V), "mean" (BPRFM: mean of seed rows)
	// IALS only (algorithms.md §2.2 (e)).
	Alpha0         float64 `json:"alpha0,omitempty"`
	Reg            float64 `json:"reg,omitempty"`
	Nu             float64 `json:"nu,omitempty"`
	LossType       string  `json:"loss_type,omitempty"`          // "IALSPP" or "ORIGINAL"
	Confidence     string  `json:"confidence_scaling,omitempty"` // "none" or "log"
	Epsilon        float64 `json:"epsilon,omitempty"`
	CGSteps        int     `json:"cg_steps,omitempty"`
	NItemsTraining int     `json:"n_items_training,omitempty"`
}

// Model is what a fit hands to the artifact writer and to the reference
// scorer. Matrices are dense row-major with row length = K (or NItems).
type Model struct {
	Kind   Kind
	NUsers int
	NItems int
	K      int

	UserFactors []float32 // NUsers×K (factor)
	ItemFactors []float32 // NItems×K (factor)
	ItemBias    []float32 // NItems (BPRFM) or nil
	Gram        []float32 // K×K = VᵀV (IALS) or nil
	FoldIn      FoldIn

	Sim   *SimCSR   // item×item by source row (sparse_item)
	Dense []float32 // NItems×NItems, row = source item (dense_item)

	Popularity []float64 // NItems (popularity)
}

// SimCSR is an item×item similarity matrix in CSR form with float32 values.
type SimCSR struct {
	N       int
	Indptr  []int64
	Indices []int32
	Data    []float32
}

// Recommender is one trainable algorithm instance with fixed parameters.
type Recommender interface {
	// Fit trains on X (users×items). Iterative models run their configured
	// epoch count (train_epochs). Fit returns ctx.Err() promptly once ctx is done.
	Fit(ctx context.Context, X *sparse.CSR) error
	// Model returns the trained arrays. Valid after Fit (or after epochs).
	Model() *Model
}

// Iterative is implemented by models tuned with early stopping (IALS, BPRFM;
// algorithms.md §5.2): the search calls Init once, then Epoch repeatedly,
// evaluating every 5 epochs and restoring the best snapshot.
type Iterative interface {
	Recommender
	Init(X *sparse.CSR) error
	Epoch(ctx context.Context) error
	Snapshot() any
	Restore(snapshot any)
}

// Spec describes one algorithm class.
type Spec struct {
	Alias     string // "IALS"
	Class     string // "IALSRecommender"
	Space     []ParamSpec
	Accepts   []string // constructor parameter names (unknown best_params are dropped at refit)
	Iterative bool     // tuned with early stopping; learns train_epochs
	// New builds an unfitted recommender; p holds only accepted names,
	// missing ones take the defaults of algorithms.md. seed drives any RNG.
	New func(p Params, seed int64) (Recommender, error)
	// Memory bounds the bytes one trial (fit plus its evaluation) or one
	// refit (fit plus the model's copies in the artifact) allocates on a
	// data set of shape s with parameters p, beyond the interaction matrix
	// itself. It is an upper bound of live memory, checked by
	// TestMemoryBoundsHold against measured heap peaks. nil means O(items).
	Memory func(s Shape, p Params) int64
}

// Shape is what a memory bound depends on: the interaction matrix's size,
// the held-out rows evaluated, and the worker count.
type Shape struct {
	Users, Items int
	NNZ          int64
	Heldout      int // held-out rows evaluated per trial (0 for a refit)
	Workers      int // goroutines a fit or an evaluation runs (GOMAXPROCS)
}

// CSRBytes is the size of a Users×Items CSR with NNZ float64 entries
// (sparse.CSR: int64 row pointers, int32 indices, float64 values).
func (s Shape) CSRBytes() int64 { return 8*int64(s.Users+1) + 12*s.NNZ }

// TransposeBytes is CSRBytes of the transposed matrix.
func (s Shape) TransposeBytes() int64 { return 8*int64(s.Items+1) + 12*s.NNZ }

// EvalBytes bounds the evaluator's own allocations for a model whose
// scores need scorerBytes of shared read-only state (factor models: the
// item factors packed in panels): per worker a float64 score row, a
// membership row and a block of 32 float32 score rows (factor models),
// plus the per-user metric rows.
func (s Shape) EvalBytes(scorerBytes int64) int64 {
	if s.Heldout == 0 {
		return 0
	}
	perWorker := (9 + 32*4) * int64(s.Items+16)
	return scorerBytes + int64(max(s.Workers, 1))*perWorker + 48*int64(s.Heldout)
}

// runtimeSlack covers the allocator's partly used spans and goroutine
// stacks that no array size accounts for.
const runtimeSlack = 2 << 20

// ArtifactBytes bounds what writing any artifact adds to a refit: the id
// string tables (offsets and bytes; ids are assumed ≤ 24 bytes on average)
// and the encoder's 1 MiB write buffer and header.
func (s Shape) ArtifactBytes() int64 { return 32*int64(s.Users+s.Items) + 2<<20 }

// PeakMemory is spec's Memory at the most memory-hungry corner of its
// search space (every Int and Float at High, every combination of
// categorical choices), or at fixed when fixed is non-nil (a refit's
// chosen parameters). It returns the bound and the parameters that reach
// it.
// A refit (s.Heldout == 0) includes ArtifactBytes.
func PeakMemory(spec *Spec, s Shape, fixed Params) (int64, Params) {
	extra := int64(runtimeSlack)
	if s.Heldout == 0 {
		extra += s.ArtifactBytes()
	}
	if spec.Memory == nil {
		return extra + 64*int64(s.Items), fixed
	}
	if fixed != nil {
		return extra + spec.Memory(s, fixed), fixed
	}
	corner := Params{}
	var cats []ParamSpec
	for _, ps := range spec.Space {
		switch ps.Kind {
		case Int:
			corner[ps.Name] = int(ps.High)
		case Float:
			corner[ps.Name] = ps.High
		case Categorical:
			cats = append(cats, ps)
		}
	}
	var best int64 = -1
	var at Params
	var walk func(i int, p Params)
	walk = func(i int, p Params) {
		if i == len(cats) {
			if b := spec.Memory(s, p); b > best {
				best, at = b, maps.Clone(p)
			}
			return
		}
		for _, c := range cats[i].Choices {
			p[cats[i].Name] = c
			walk(i+1, p)
		}
		delete(p, cats[i].Name)
	}
	walk(0, corner)
	return extra + best, at
}
