package factor

import (
	"github.com/recotem/recotem/trainer/algo"
)

// Specs returns the IALS, TruncatedSVD and BPRFM specs with the search spaces
// of algorithms.md §2.2 (c), §2.6 (c) and §2.7 (c), in suggestion order.
func Specs() []algo.Spec {
	return []algo.Spec{
		{
			Alias: "IALS", Class: "IALSRecommender", Iterative: true, Accepts: ialsAccepts, Memory: ialsMemory,
			Space: []algo.ParamSpec{
				{Name: "n_components", Kind: algo.Int, Low: 4, High: 300},
				{Name: "alpha0", Kind: algo.Float, Low: 3e-3, High: 1, Log: true},
				{Name: "reg", Kind: algo.Float, Low: 1e-4, High: 1e-1, Log: true},
			},
			New: func(p algo.Params, seed int64) (algo.Recommender, error) {
				c, err := ialsConfigFrom(p, seed)
				if err != nil {
					return nil, err
				}
				return NewIALS(c)
			},
		},
		{
			Alias: "TruncatedSVD", Class: "TruncatedSVDRecommender", Accepts: svdAccepts, Memory: svdMemory,
			Space: []algo.ParamSpec{
				{Name: "n_components", Kind: algo.Int, Low: 4, High: 512},
			},
			New: func(p algo.Params, seed int64) (algo.Recommender, error) {
				c := DefaultSVDConfig()
				r := algo.NewParamReader("TruncatedSVD", p)
				c.NComponents = r.Int("n_components", c.NComponents)
				c.Seed = r.Seed("random_seed", seed)
				if err := r.Err(); err != nil {
					return nil, err
				}
				return NewTruncatedSVD(c)
			},
		},
		{
			Alias: "BPRFM", Class: "BPRFMRecommender", Iterative: true, Accepts: bprAccepts, Memory: bprMemory,
			Space: []algo.ParamSpec{
				{Name: "n_components", Kind: algo.Int, Low: 4, High: 256},
				{Name: "item_alpha", Kind: algo.Float, Low: 1e-9, High: 1e-2, Log: true},
				{Name: "user_alpha", Kind: algo.Float, Low: 1e-9, High: 1e-2, Log: true},
				{Name: "loss", Kind: algo.Categorical, Choices: []any{"bpr", "warp"}},
			},
			New: func(p algo.Params, seed int64) (algo.Recommender, error) {
				c := DefaultBPRFMConfig()
				r := algo.NewParamReader("BPRFM", p)
				c.NComponents = r.Int("n_components", c.NComponents)
				c.ItemAlpha = r.Float("item_alpha", c.ItemAlpha)
				c.UserAlpha = r.Float("user_alpha", c.UserAlpha)
				c.Loss = algo.Choice(r, "loss", c.Loss, bprLossNames)
				c.TrainEpochs = r.Int("train_epochs", c.TrainEpochs)
				c.Seed = r.Seed("random_seed", seed)
				if err := r.Err(); err != nil {
					return nil, err
				}
				return NewBPRFM(c)
			},
		},
	}
}

// Compile-time contract checks.
var (
	_ algo.Iterative   = (*IALS)(nil)
	_ algo.Iterative   = (*BPRFM)(nil)
	_ algo.Recommender = (*TruncatedSVD)(nil)
)
