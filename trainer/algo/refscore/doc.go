// Package refscore owns the plain-Go reference scorer: the §2 score row of
// every model Kind for a known user or a seed profile, the §6 ranking rule
// (score descending, then lower item index, ±Inf and NaN skipped), and
// known-user / related-item recommendation with seen-item and seed masking.
//
// It is deliberately simple (no SIMD, float64 accumulation) and is the oracle
// that the fast serving kernels and the evaluator are tested against.
//
// Concurrency: every function is safe for concurrent use on a shared
// *algo.Model; the Model is read, never written. Scratch buffers (dst) are
// owned by the caller.
package refscore
