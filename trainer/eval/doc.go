// Package eval owns the offline evaluator of algorithms.md §3 (irspack
// Evaluator semantics, v0.5.1): for each validation user with held-out items
// it scores the model row with the reference scorer, masks the user's training
// items, ranks by score descending then lower item index, and averages nDCG,
// MAP, recall, hit and precision at a cutoff over the valid users.
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
