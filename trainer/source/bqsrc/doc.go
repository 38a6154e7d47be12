// Package bqsrc owns source.type bigquery (recotem-behavior.md §3.3, §5.4):
// it runs the recipe query with its @name parameters (BOOL, INT64,
// FLOAT64, STRING; anything else is a DataSource error) as a standard-SQL
// BigQuery job named recotem-… and streams the result rows to the
// source.Sink.
//
// Transport: the official client, cloud.google.com/go/bigquery, for the job
// (jobs.insert, the wait on jobs.getQueryResults, jobs.get) and the REST
// rows, and its Storage Read API client (bigquery/storage/apiv1, gRPC) for
// the Arrow rows, both with Application Default Credentials. Endpoints are
// Google's; only this package's tests point them at their fakes.
//
// Storage Read API and fallback: the job's destination table is read
// first through one read session of the requested columns with a single
// Arrow stream (rows keep the query's order; a dropped stream is reopened
// at its offset up to three times). The client's own Read would fall back
// to REST on any storage error without saying why, so the session is
// driven here to apply the rules of §5.4: a permission failure before the
// first row (gRPC PermissionDenied, HTTP 403, Forbidden, "permission
// denied") → warning bigquery_storage_fallback, reason api_error, REST
// pages; a storage client that cannot be created → missing_extra, REST;
// any other storage error, or any failure after rows were delivered →
// non_iam_error_no_fallback, exit 3. Options.BQRequireStorageAPI
// (RECOTEM_BQ_REQUIRE_STORAGE_API truthy) turns every storage failure into
// exit 3. Each decision
// increments recotem_bigquery_storage_fallback_total{reason} in the
// package's metrics.Set, Metrics (train has no /metrics; a caller may write
// it out with Metrics.WritePrometheus). A cancelled context stops the read
// within one batch and counts nothing; a cancelled wait also cancels the
// job.
//
// Both readers give a column's BigQuery type the same source.Value (see
// values.go); RECORD, REPEATED, INTERVAL and RANGE columns are refused.
//
// Project: the recipe's project, else GOOGLE_CLOUD_PROJECT or
// GCLOUD_PROJECT from Options.LookupEnv, else the credentials' project,
// else none (exit 3). Probe (validate) is a dry-run job.
//
// Events: bigquery_source_fetch_start (project), bigquery_source_fetch_done
// (n_rows, via "storage" or "rest", seconds), bigquery_storage_fallback
// (warning: reason, error). Errors are *failure.Error of class DataSource
// (exit 3) wrapping the client's error (*googleapi.Error for REST, a gRPC
// status for the Storage Read API). A Source is not safe for concurrent
// Fetch calls; the counters are.
package bqsrc
