// Package logx owns recotem's structured logging: one compact JSON object
// per line (or a human "console" line), and the redaction layer that keeps
// secrets out of every line, as recotem-behavior.md §9 specifies.
//
// A line is {"event":<message>,"level":"debug|info|warning|error",
// "timestamp":"<ISO 8601 UTC>","logger":"recotem",<fields>...}. The message
// of a slog call IS the event name: logger.Info("train_done", "n_rows", n).
// Every key and string value is encoded by internal/jsonstr, the product's
// one JSON string encoder (control bytes, DEL, U+2028/U+2029 and invalid
// UTF-8 escaped), so a log line and a server response escape alike.
//
// # Redaction
//
// Redaction runs first, at every level, on every attribute, recursively
// through groups, maps, slices and structs (values that are not plain
// strings or numbers are rendered through encoding/json and walked):
//
//   - Key rules: a field whose lower-cased name is secret-bearing
//     (x-api-key, authorization, cookie, the RECOTEM_*_KEYS variables,
//     aws_/gcp_/google_/azure_ prefixes, anything containing secret,
//     password, passwd, token, auth, bearer, cred, private, or "key" not
//     followed by "s" at a word end) has its whole value replaced by
//     "[REDACTED]". Exempt: monkey, turkey, donkey, hockey, jockey,
//     auth_enabled, signing_key_status, signing_keys, signing_kids, kid,
//     active_kid, fingerprint, fingerprints. See SensitiveKey.
//   - Value rules on every other string (and on the event itself): URL
//     userinfo becomes "***", runs of 64 or more hex characters become
//     "[REDACTED-HEX64]", runs of 43 or more base64url characters become
//     "[REDACTED-B64URL43]"; byte slices become "<bytes len=N>". See
//     RedactString.
//   - If redaction itself panics (a LogValuer, Stringer or MarshalJSON that
//     panics), the line is replaced by {"event":"[redaction_failed]",
//     "original_event":<event>} so that nothing unredacted escapes.
//
// # Concurrency
//
// Loggers returned by New are safe for concurrent use; each line is written
// with a single Write call under a mutex shared by all loggers derived with
// With or WithGroup.
package logx
