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
// Speed: the inner products run as AVX2 matrix-vector calls (viterin/vek),
// never one call per item. IALS gathers each row's other-side vectors into a
// zero-padded n×kp block (kp = k rounded up to 32, the kernels' unrolled
// width); when k is well below kp (k = 20) a long row is gathered
// transposed instead, k × n rounded up to 32, from the half-step's otherᵀ,
// so the products run along the row's items with no padding in k; short
// rows at k ≤ 32 run the CG product Σ c_j (v_j·p) v_j as one fused AVX2
// pass over the block, and at kp = 32 α₀G·p is a sum of G's rows with no
// horizontal sums (kernel_amd64.s; plain-Go vsCVsGo/axpyRows32Go under
// purego or without AVX2/FMA). Scratch,
// Gram and α₀G buffers are kept across half-steps;
// Gram matrices and TruncatedSVD's orthonormalisation work on transposed
// blocks so the products run along the long dimension. A recommender is
// not safe for concurrent Epoch/Fit calls.
//
// Lifetime: Model returns views of the recommender's live arrays. They are
// valid until the next Epoch, Restore or Fit on the same recommender; a caller
// that keeps a model across epochs copies it (Snapshot does).
//
// Size. About 1.6k lines, one package on purpose: the three fits share
// common.go (the fixed-block parallel driver that keeps IALS and
// TruncatedSVD deterministic, the float32 helpers, the parameter-error
// constructor, the sentinel errors), and their tests and benchmarks
// (determinism, cancellation, degenerate inputs, parity, FitMovieLens) walk
// the three with shared fixtures. One package per algorithm would export
// those internals from a fourth package, while the files are already one
// per algorithm (ials.go, svd.go, bprfm.go).
package factor
