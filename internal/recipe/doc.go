// Package recipe owns the recipe model of recotem-behavior.md §3: the Go
// types of every recipe field with their defaults, the strict loader (read,
// YAML parse, ${RECOTEM_RECIPE_*} expansion by package recipeenv, name
// rule, path policy, source discriminator, whole-recipe validation, sha256
// pins, artifact-root containment), directory loading (strict and lenient),
// the recipe JSON Schema generated from the same types, and the canonical
// form and hash that the artifact header records.
//
// Errors: every load failure is a *failure.Error of class failure.Recipe
// (exit 2, code "recipe_error") that wraps one or more *Error values; each
// names the file, line and column of the offending YAML node and the dotted
// path of the field. Messages never contain the value of an expanded
// environment variable.
//
// Concurrency: Load and LoadDir are safe to call from many goroutines; a
// loaded *Recipe is immutable by convention and may be shared.
//
// The package never reads the process environment itself: callers pass
// Options.LookupEnv (and Options.EnvVars for --env-var values).
//
// Size. About 1.8k lines, kept as one package on purpose. The types, the
// decoder, validation, the JSON Schema and the canonical form all work on
// the same Go types: the decoder fills them by reflection and owns the
// file:line:col error list that validation reports through, and the schema
// hooks (JSONSchemaExtend) must be methods on the types, so a cut through
// them would export the decoder's internals to a second package. The path
// rules (path.go) are the recipe's own §3.5 rules, which train and the
// sources apply as recipe.IsLocal, recipe.LocalPath and
// recipe.CheckContainment. The environment policy needs none of this and
// is package recipeenv.
package recipe
