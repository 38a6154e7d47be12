// Package envconfig owns the RECOTEM_* environment variables of
// recotem-behavior.md §2: it is the one place that reads them, applies
// their defaults and clamps, and turns a bad value into a *Error (a
// ConfigError, exit code 8) whose message names the variable and never a
// secret.
//
// Libraries never read the environment: cmd/recotem calls Load with
// os.LookupEnv (or a fake in tests) and passes the resulting Config, or
// single fields of it, into the packages.
//
// Integers follow one rule: unset → default; unparseable → default plus an
// env_var_unparseable event (name, raw, fallback); out of range → clamped
// plus an env_var_clamped event (name, requested, clamped, lo, hi). Lists
// are comma-split, trimmed, empties dropped; an empty list is the default.
// Booleans are "truthy": 1, true, yes, on (trimmed, any case).
//
// Secrets (RECOTEM_SIGNING_KEYS, RECOTEM_API_KEYS, RECOTEM_API_PLAINTEXT)
// are kept in unexported fields or parsed form and never appear in errors.
package envconfig
