// Package blobsrc owns the object-store opener of the csv and parquet
// sources (recotem-behavior.md §5.4 "Local / object store"): s3://, gs://,
// az://, abfs:// and abfss:// paths are read through internal/blob.
//
// Before reading, the opener probes the object's size: over
// Options.MaxDownloadBytes is a DataSource error (exit 3) naming
// RECOTEM_MAX_DOWNLOAD_BYTES; a missing object or refused credentials skip
// the probe with the warning size_cap_probe_skipped_credential (the read
// that follows then fails with exit 3); any other probe failure is
// size_cap_probe_failed (exit 3). The body is streamed, cut at cap+1 bytes;
// the source undoes compression and checks the sha256 pin. Every failure is
// a *failure.Error of class DataSource.
//
// Importing the package registers the opener for the five schemes. One
// process-wide blob.Store caches the bucket handles; the opener is safe for
// concurrent use. Credentials and endpoints come from each cloud's standard
// environment (see internal/blob), never from the recipe.
package blobsrc
