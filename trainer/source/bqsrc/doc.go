// Package bqsrc owns source.type bigquery (recotem-behavior.md §3.3, §5.4):
// it runs the recipe query with its @name parameters (BOOL, INT64,
// FLOAT64, STRING; anything else is a DataSource error) as a BigQuery job
// and streams the result rows to the source.Sink.
//
// Transport: the BigQuery REST API v2 (jobs.insert, then
// jobs.getQueryResults page by page) over net/http, with Application
// Default Credentials from golang.org/x/oauth2/google. The official
// cloud.google.com/go/bigquery client is deliberately not used: it brings
// some sixty modules (gRPC, Arrow, OpenTelemetry, Cloud Storage, IAM,
// Data Catalog…) into a binary that needs two REST calls.
//
// Storage Read API and fallback: results are read through a StorageReader
// first when one is configured (Storage); this build ships none, so the
// reader is "unavailable" — reason missing_extra — and the REST pages are
// used. The rules of §5.4: a permission failure of the reader (HTTP 403,
// PermissionDenied/Forbidden, "permission denied") → warning
// bigquery_storage_fallback, reason api_error, REST; no reader →
// missing_extra, REST; any other reader error → non_iam_error_no_fallback,
// exit 3. RECOTEM_BQ_REQUIRE_STORAGE_API (truthy) turns every storage
// failure, an absent reader included, into exit 3. A reader that fails
// after it delivered rows is never retried over REST (exit 3). Each
// fallback decision increments recotem_bigquery_storage_fallback_total
// {reason} in the package's metrics.Set, Metrics (train has no /metrics;
// a caller may write it out with Metrics.WritePrometheus).
//
// Project: the recipe's project, else GOOGLE_CLOUD_PROJECT or
// GCLOUD_PROJECT from Options.LookupEnv, else the credentials' project,
// else none (exit 3). Probe (validate) is a dry-run job.
//
// Events: bigquery_source_fetch_start (project), bigquery_source_fetch_done
// (n_rows, via "storage" or "rest", seconds), bigquery_storage_fallback
// (warning: reason, error). Errors are *failure.Error of class DataSource
// (exit 3) wrapping an *APIError when BigQuery answered with one.
// A Source is not safe for concurrent Fetch calls; the counters are.
package bqsrc
