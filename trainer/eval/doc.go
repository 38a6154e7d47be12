// Package eval owns the offline evaluator of algorithms.md §3 (irspack
// Evaluator semantics, v0.5.1): for each validation user with held-out items
// it scores the model row, masks the user's training items, ranks by score
// descending then lower item index, and averages nDCG, MAP, recall, hit and
// precision at a cutoff over the valid users.
//
// Speed: factor models (the search evaluates IALS and BPRFM every 5 epochs)
// are scored by a float32 product over item blocks of a transposed copy of
// the item factors, one AVX2 vector-matrix call per user and block, instead
// of the reference scorer's per-item float64 loop; other kinds go through
// refscore.ScoreUser. Ranking uses a typed heap with a score threshold, in
// the exact §3.3 order. BenchmarkEvaluateFactor compares both paths.
//
// It also owns test support shared by the algorithm packages:
// LoadMovieLensSplit reads the fixed MovieLens random split the parity tests
// compare with irspack on, and MovieLensSplitDir finds it relative to the
// repository root.
//
// Concurrency: Evaluate fans users out over GOMAXPROCS goroutines, each with
// its own score buffer; the model and matrices are only read. The result does
// not depend on the number of goroutines (per-user values are summed in user
// order).
package eval
