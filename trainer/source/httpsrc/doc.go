// Package httpsrc owns the http:// and https:// opener of the csv and
// parquet sources (recotem-behavior.md §5.4): it downloads the whole body
// through internal/fetch (address guard on every hop, dial pinned to the
// checked IP, manual redirects, the download cap with
// csv_source_size_exceeded, csv_source_redirect per hop) into a private
// temporary file, then hands the file to the source, which undoes
// compression, parses and checks the sha256 pin.
//
// Importing the package registers the opener for both schemes. Settings come
// from Options.LookupEnv: RECOTEM_HTTP_ALLOW_PRIVATE (truthy: no address
// guard) and RECOTEM_HTTP_TIMEOUT_SECONDS (default 30, clamped to [1, 600]);
// the cap is Options.MaxDownloadBytes.
//
// Every failure is a *failure.Error of class HTTPFetch (exit 7) wrapping the
// *fetch.Error; errors.Is(err, fetch.ErrRefused) singles out guard refusals.
// The temporary file is removed when the returned reader is closed. The
// opener is safe for concurrent use.
package httpsrc
