// Package inspect owns `recotem inspect` (recotem-behavior.md §1.5): it
// reads any format-1 container — ours, or an upstream one whose payload is
// a pickle — verifies it, and prints "HMAC: OK  (kid='<kid>')" followed by
// the header JSON with a 2-space indent. The payload is never interpreted;
// extra views (the section table, an annotated hex dump) are only printed
// behind their own options.
//
// The order of checks is the spec's: the development flag before any I/O;
// read at most the artifact cap + 1 bytes; pointer, caps and structure;
// then keys (configured → verify, with a dev_allow_unsigned_ignored warning
// if the flag was given too; unset + flag → the development key; unset →
// a ConfigError naming the artifact's kid and both remedies; malformed → a
// ConfigError); then kid, HMAC and header JSON.
//
// Run returns an *Error carrying the exit code (5 ArtifactError, 7 a failed
// http(s) download, 8 ConfigError) and the one plain stderr line of §1.1.
package inspect
