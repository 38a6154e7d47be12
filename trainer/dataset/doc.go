// Package dataset owns the trainer's in-memory interactions: streaming
// ingest from a source with the cleansing of recotem-behavior.md §3.8 (drop
// null ids, ids to strings, time parsing, dedup, minimum checks), the id
// maps (ascending byte order, algorithms.md §1.2), the users×items CSR
// (§1.3), and the search splits random, time_user and time_global
// (algorithms.md §4), deterministic per seed.
//
// Memory: Ingest keeps 8 bytes per row (user and item int32) plus 8 with a
// time column, and each distinct id string; raw text is never held. A
// source that reads in parallel (plain CSV) feeds each worker's own id
// dictionary, so while reading an id is held at most once per worker, and
// the rows are held twice for a moment while the chunks are joined.
//
// Errors: failure.Training (exit 4) with codes min_data_violation (Fields
// hold n_rows, n_users, n_items and each configured min_*),
// time_unit_required, time_column_parse_error and split_error; source
// errors pass through with their own class.
//
// Events (on the Logger of Ingest's source.Options): fetching_data, the
// source's events, data_fetched (n_rows) and data_cleansed (n_rows,
// drop_count). The caller
// logs training_started before Ingest and splitting_data / split_done
// (val_offset = Split.Offset) around SplitData.
//
// An *Interactions is not modified after Ingest returns; share it freely.
package dataset
