// Package factor owns the three latent-factor algorithms of algorithms.md:
// IALS (§2.2, implicit ALS with the IALSPP loss and a warm-started CG
// solver), TruncatedSVD (§2.6, randomised SVD of the uncentred matrix) and
// BPRFM (§2.7, LightFM-style BPR/WARP matrix factorisation with item biases
// and Adagrad). Specs returns their algo.Spec entries with the search spaces
// and constructor defaults of the spec.
//
// Every fit is deterministic for a given seed and independent of GOMAXPROCS:
// parallel work is split into fixed blocks whose results are combined in a
// fixed order. IALS solves rows on all cores; BPRFM's SGD is sequential
// (Hogwild would break determinism). Fits check their context between
// epochs and between row blocks.
//
// Lifetime: Model returns views of the recommender's live arrays. They are
// valid until the next Epoch, Restore or Fit on the same recommender; a caller
// that keeps a model across epochs copies it (Snapshot does).
package factor
