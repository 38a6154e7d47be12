// Package metadata owns the item-metadata join of `recotem serve`
// (recotem-behavior.md §3.9): it reads a recipe's item_metadata source (CSV
// or Parquet; local files, or http(s) through internal/fetch with its address
// guard, timeout, size cap and sha256 pin), applies fields, on_field_missing, item_id_column
// and the deny list, and pre-serialises every item's metadata into a JSON
// fragment once per (re)load, so the request hot path only copies bytes.
//
// A Table is immutable after Load and safe for concurrent use. Fragments
// returned by Fragment alias the Table and live as long as it does.
package metadata
