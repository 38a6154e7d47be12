// Package tpe is the in-house Tree-structured Parzen Estimator that
// package search samples trial parameters with (algorithms.md §5.3): Optuna
// 4.9's univariate TPE with its defaults (10 start-up trials drawn by the
// uniform sampler, gamma(n) = min(⌈0.1n⌉, 25) "below" trials, 24
// expected-improvement candidates, prior weight 1), the Parzen estimators
// for numerical (truncated normal kernels, in log space for log parameters)
// and categorical parameters, and the log-space normal helpers they need.
//
// Objective direction. The metric is maximised: the split takes the largest
// values as "below" (the good group).
//
// Randomness (Go choice). A Sampler draws from its own streams seeded by
// (seed, trial number): the values a trial suggests are reproducible and
// differ between concurrent workers and processes, which a single shared
// stream cannot give across processes. Within a trial parameters are drawn
// in suggestion order.
//
// Parzen widths follow Optuna 4.9's code: the prior mean takes part in the
// neighbour gaps, so the endpoint rule applies from one observation on.
// algorithms.md §5.3 step 3 states the gaps over the observations only;
// the difference matters only for the first few observations.
package tpe
