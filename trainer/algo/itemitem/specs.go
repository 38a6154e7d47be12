package itemitem

import (
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/algo"
)

// Specs returns the four item-based algorithm classes with their
// constructor parameters and irspack's default search spaces, parameters
// in suggestion order (algorithms.md §2.1, §2.3–§2.5).
func Specs() []algo.Spec {
	return []algo.Spec{
		{
			Alias:  "CosineKNN",
			Class:  "CosineKNNRecommender",
			Memory: cosineMemory,
			Space: []algo.ParamSpec{
				{Name: "top_k", Kind: algo.Int, Low: 4, High: 1000},
				{Name: "shrinkage", Kind: algo.Float, Low: 0, High: 1000},
				{Name: "feature_weighting", Kind: algo.Categorical, Choices: []any{WeightNone, WeightTFIDF, WeightBM25}},
				{Name: "normalize", Kind: algo.Categorical, Choices: []any{false, true}},
			},
			Accepts: []string{"shrinkage", "normalize", "top_k", "feature_weighting", "bm25_k1", "bm25_b"},
			New: func(p algo.Params, _ int64) (algo.Recommender, error) {
				return NewCosineKNN(p)
			},
		},
		{
			Alias:   "TopPop",
			Class:   "TopPopRecommender",
			Memory:  topPopMemory,
			Accepts: []string{},
			New: func(p algo.Params, _ int64) (algo.Recommender, error) {
				return NewTopPop(p)
			},
		},
		{
			Alias:  "RP3beta",
			Class:  "RP3betaRecommender",
			Memory: rp3Memory,
			Space: []algo.ParamSpec{
				{Name: "top_k", Kind: algo.Int, Low: 2, High: 1000},
				{Name: "beta", Kind: algo.Float, Low: 1e-5, High: 5e-1, Log: true},
				{Name: "normalize_weight", Kind: algo.Categorical, Choices: []any{true, false}},
			},
			Accepts: []string{"alpha", "beta", "top_k", "normalize_weight"},
			New: func(p algo.Params, _ int64) (algo.Recommender, error) {
				return NewRP3beta(p)
			},
		},
		{
			Alias:  "DenseSLIM",
			Class:  "DenseSLIMRecommender",
			Memory: denseSLIMMemory,
			Space: []algo.ParamSpec{
				{Name: "reg", Kind: algo.Float, Low: 1, High: 1e4, Log: true},
			},
			Accepts: []string{"reg"},
			New: func(p algo.Params, _ int64) (algo.Recommender, error) {
				return NewDenseSLIM(p)
			},
		},
	}
}

// New builds the recommender for an alias or class name accepted by
// algo.Resolve, or reports ok=false when the name is not an item-based
// algorithm. Missing parameters take their defaults; seed is unused (these
// fits are deterministic without randomness).
func New(name string, p algo.Params, seed int64) (r algo.Recommender, ok bool, err error) {
	alias, _, found := recipe.Resolve(name)
	if !found {
		return nil, false, nil
	}
	for _, s := range Specs() {
		if s.Alias == alias {
			r, err = s.New(p, seed)
			return r, true, err
		}
	}
	return nil, false, nil
}
