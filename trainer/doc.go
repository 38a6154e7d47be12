// Package trainer owns the recipe → artifact pipeline of `recotem train`:
// load the recipe, take the per-recipe lock, ingest and cleanse the data,
// split it, search hyperparameters across the recipe's algorithms, refit the
// best on all data, and write the signed artifact, emitting the events of
// recotem-behavior.md §5.1 in order. Sub-packages own each stage: recipe,
// source, dataset, algo (and its implementations), eval, search, lock,
// artifact. Errors returned are classified by package failure.
package trainer
