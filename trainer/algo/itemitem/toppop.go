package itemitem

import (
	"context"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// TopPop scores every item by its column sum (TopPopRecommender,
// algorithms.md §2.1). The sums count duplicate rows when X holds counts.
type TopPop struct {
	model *algo.Model
}

// NewTopPop builds a TopPop; it has no hyperparameters and ignores p.
func NewTopPop(algo.Params) (*TopPop, error) { return &TopPop{}, nil }

// Model returns the fitted model (nil before Fit).
func (t *TopPop) Model() *algo.Model { return t.model }

// Fit computes p_i = Σ_u X_ui in float64.
func (t *TopPop) Fit(ctx context.Context, X *sparse.CSR) error {
	t.model = nil
	if err := ctx.Err(); err != nil {
		return err
	}
	pop := make([]float64, X.Cols)
	for p, j := range X.Indices {
		pop[j] += X.Data[p]
	}
	t.model = &algo.Model{Kind: algo.KindPopularity, NUsers: X.Rows, NItems: X.Cols, Popularity: pop}
	return nil
}
