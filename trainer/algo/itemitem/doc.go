// Package itemitem owns the four item-based recommenders of algorithms.md §2:
// TopPop (§2.1), CosineKNN (§2.3), RP3beta (§2.4) and DenseSLIM / EASE (§2.5),
// their constructor defaults and search spaces (Specs), and the dense float32
// SPD inverse DenseSLIM needs (a blocked Cholesky whose O(n³) work is all
// contiguous dot products, run on every core).
//
// Each recommender implements algo.Recommender. Fit reads the interaction
// matrix X (users×items, never modified) and builds the arrays its serving
// artifact needs; Model returns them (Kind sparse_item for CosineKNN and
// RP3beta, dense_item for DenseSLIM, popularity for TopPop).
//
// Concurrency: Fit parallelises over item rows with GOMAXPROCS workers and
// checks ctx between chunks of rows, returning ctx.Err() promptly. A
// recommender is not safe for concurrent Fit calls; the Model it returns is
// immutable once Fit has returned and may be shared. Results do not depend
// on the number of workers: every row is computed by one worker in a fixed
// order, so fits are deterministic (no algorithm here uses randomness; the
// seed argument of New is accepted for the common contract and ignored).
//
// Memory: CosineKNN and RP3beta keep one dense accumulator of I float64 per
// worker plus their output (≤ I·top_k entries). DenseSLIM holds one dense
// I×I float32 matrix (I²·4 bytes: the Gram matrix, inverted in place, then
// overwritten by the weights, which are the model's Dense array), so it
// refuses item counts above DenseSLIM.MaxItems (DefaultMaxDenseItems,
// 30,000, unless configured) with ErrTooManyItems.
//
// Kernels: the SPD inverse spends its time in dot3x4, a 3×4
// register-blocked float32 dot-product kernel in Go assembly (AVX2 + FMA,
// chosen at run time) whose plain-Go reference dot3x4Go is used on other
// CPUs, other architectures and with the purego build tag.
package itemitem
