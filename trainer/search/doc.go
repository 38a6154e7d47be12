// Package search owns hyperparameter search for `recotem train`
// (algorithms.md §5, recotem-behavior.md §3.7, §5.3): the per-class trial
// budgets, an in-house TPE sampler with Optuna 4.9's univariate semantics,
// the median pruner and the early-stopping driver for iterative models, the
// study runner (parallel trials, global and per-trial timeouts) and the
// trial stores (memory, SQLite, PostgreSQL, MySQL/MariaDB).
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
// Randomness (Go choice). Each trial draws from its own streams seeded by
// (seed, trial number): the values a trial suggests are reproducible and
// differ between concurrent workers and processes, which a single shared
// stream cannot give across processes. Within a trial parameters are drawn
// in suggestion order.
//
// Parzen widths follow Optuna 4.9's code: the prior mean takes part in the
// neighbour gaps, so the endpoint rule applies from one observation on.
// algorithms.md §5.3 step 3 states the gaps over the observations only;
// the difference matters only for the first few observations.
//
// Concurrency. Run may be called from several goroutines with different
// studies; a Store is safe for concurrent use. Objectives must honour the
// context they get: the per-trial timeout and an aborted study cancel it.
package search
