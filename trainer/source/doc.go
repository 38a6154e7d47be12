// Package source owns the trainer's data sources: the Source/Sink streaming
// contract, the registry of source types (csv and parquet here; sql,
// bigquery and remote openers register themselves from their own
// packages), local and file:// reads with the download cap of
// recotem-behavior.md §5.4, sha256 pins, and transparent decompression
// (gzip and zstd via klauspost/compress, bzip2 via compress/bzip2, xz via
// ulikunitz/xz, single-member zip), detected by magic and cross-checked with
// the file extension.
//
// Streaming: Fetch hands rows to a Sink one at a time; the Values and their
// bytes alias reader buffers and are valid only during the Row call, so
// memory stays bounded by the sink's own state, not by the raw text.
// Parquet files are read row group by row group (compressed or sha-pinned
// parquet is buffered in memory, within the download cap).
//
// Errors are *failure.Error: class DataSource (exit 3) for missing, empty,
// unreadable, over-cap or unparseable sources and absent columns; class
// HTTPFetch (exit 7) for a sha256 mismatch.
//
// Events (when Options.Logger is set): csv_source_fetch_start/_done,
// parquet_source_fetch_start/_done.
//
// Sources are not safe for concurrent Fetch calls; the registry is.
package source
