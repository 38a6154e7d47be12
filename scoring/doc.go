// Package scoring owns serve-time scoring of a trained model held in a
// verified, memory-mapped artifact: the four model kinds of
// docs/model-sections.md (factor, sparse_item, dense_item, popularity) as
// views over the mapping, known-user and related-item top-K with the ranking
// rules of algorithms.md §6, fold-in of a seed profile (IALS CG, SVD
// projection, BPRFM mean), batch scoring with one blocked matrix product, and
// the kernels under them (SIMD dot products via viterin/vek, bounded top-K,
// bitset filters, an optional int8 first pass).
//
// # Ranking
//
// Scores are ordered descending, ties by lower item index; ±Inf and NaN
// scores are skipped. Seen items of a known user, the seeds of a related
// request and exclude indices are masked before the cut. Factor and dense
// item-item scores are computed in float32 with SIMD in a first pass that
// keeps a few more candidates than asked for; the candidates are re-scored
// exactly (float64 accumulation, the reference scorer's order of operations)
// and re-ranked, so results equal the reference scorer's. Sparse item-item
// and popularity scores are accumulated in float64 directly.
//
// # Lifetimes
//
// A Model holds slices that alias the *format.Artifact it was loaded from;
// it is valid until that artifact is closed. ItemID returns a view into the
// mapping with the same lifetime. Load copies nothing and does no work per
// element.
//
// # Concurrency and allocation
//
// A Model is immutable and safe for concurrent use. Per-call scratch comes
// from a pool owned by the Model; callers pass their own result buffers
// (dst), so the steady state allocates nothing per call. BatchRecommend
// spreads its user groups over the calling goroutine and a process-wide set
// of long-lived helper goroutines (started lazily, grown to GOMAXPROCS-1 at
// most, never stopped), fed pooled task structs, so a parallel batch call
// allocates nothing either.
//
// Kernel references: every SIMD kernel has a plain-Go loop beside it (named
// *Ref) that the tests compare against with vek acceleration on and off.
package scoring
