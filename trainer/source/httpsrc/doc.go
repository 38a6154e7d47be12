// Package httpsrc owns the http:// and https:// opener of the csv and
// parquet sources (recotem-behavior.md §5.4): it downloads the whole body
// through internal/fetch (address guard on every hop, dial pinned to the
// checked IP, manual redirects, the download cap with
// csv_source_size_exceeded, csv_source_redirect per hop) into a private
// temporary file, then hands the file to the source, which undoes
// compression, parses and checks the sha256 pin.
//
// Importing the package registers the opener for both schemes. Settings are
// the typed source.Settings cmd/recotem read with internal/envconfig:
// HTTPAllowPrivate (RECOTEM_HTTP_ALLOW_PRIVATE: no address guard),
// HTTPTimeout (RECOTEM_HTTP_TIMEOUT_SECONDS; 0 means 30 s) and the cap
// MaxDownloadBytes.
//
// Every failure is a *failure.Error of class HTTPFetch (exit 7) wrapping the
// *fetch.Error; errors.Is(err, fetch.ErrRefused) singles out guard refusals.
// The temporary file is removed when the returned reader is closed. The
// opener is safe for concurrent use.
package httpsrc
