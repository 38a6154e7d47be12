// Package envconfig owns the RECOTEM_* environment variables of
// recotem-behavior.md §2: it is the one place that reads them, applies
// their defaults and clamps, and turns a bad value into a *Error (a
// ConfigError, exit code 8) whose message names the variable and never a
// secret.
//
// Libraries never read the environment: every command in cmd/recotem
// calls Load once, at start-up, with os.LookupEnv (or a fake in tests) and
// passes the resulting Config, or typed fields of it, into the packages
// (train and validate: the source settings in trainer/source.Options; the
// lock directory and artifact root in trainer.Options; serve: the
// appliance's Config). No package reads a RECOTEM_* variable at run time:
// RECOTEM_RECIPE_* values, which recipes name, are read through
// Config.RecipeVar or Config.External, and the log format a command's
// logger starts with through LogFormatFor.
//
// Ambient credentials are not configuration of this product and are not
// read here: AWS_*, GOOGLE_APPLICATION_CREDENTIALS and the other GOOGLE_*,
// AZURE_* variables, PGUSER/PGPASSWORD (and the other PG* variables and
// ~/.pgpass), MYSQL_USER/MYSQL_PWD and GOOGLE_CLOUD_PROJECT/GCLOUD_PROJECT
// belong to the SDKs and drivers that use them, which read them where they
// always did (the SDKs themselves, or a library through Config.External).
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
