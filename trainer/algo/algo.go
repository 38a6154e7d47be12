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
}
