// Package search owns hyperparameter search for `recotem train`
// (algorithms.md §5, recotem-behavior.md §3.7, §5.3): the per-class trial
// budgets, the median pruner and the early-stopping driver for iterative
// models, the study runner (parallel trials, global and per-trial
// timeouts), the Store interface the runner claims and records trials
// through, and the in-memory store. Two packages below it do one job each:
// tpe is the sampler (an in-house TPE with Optuna 4.9's univariate
// semantics) and sqlstore the SQLite, PostgreSQL and MySQL/MariaDB stores,
// with the training.storage_path rule that picks a store.
//
// Objective direction. The study maximises the metric (algorithms.md §3.5
// allows this when every comparison is mirrored): the TPE split takes the
// largest values as "below", the pruner compares against the median of the
// best-so-far maxima, and the best trial is the first to reach the largest
// value.
//
// Shared trial pool. The Store is the single source of truth. Claim
// atomically assigns the next trial number and the first class, in recipe
// order, whose counted trials are fewer than its budget, so several
// goroutines, processes or hosts sharing one store run exactly the budgeted
// trials between them (classes are explored in consecutive blocks, as with
// upstream's pre-queued trials). A trial counts against its class's budget
// while it is RUNNING with a fresh heartbeat, and once it is COMPLETE or
// PRUNED. A RUNNING trial whose heartbeat is older than the store's grace
// period (its process died) is marked FAIL by the next Claim and stops
// counting, so its slot is run again. FAIL trials never count, so resuming
// a study (same run id) re-runs only what did not finish.
//
// Randomness. Each trial samples from its own streams seeded by (seed,
// trial number) (package tpe): a trial's suggestions are reproducible for
// a given history, and concurrent workers and processes share no stream.
//
// Concurrency. Run may be called from several goroutines with different
// studies; a Store is safe for concurrent use. Objectives must honour the
// context they get: the per-trial timeout and an aborted study cancel it.
package search
