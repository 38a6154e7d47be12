// Package appliance owns `recotem serve`'s process and its HTTP surfaces:
// Run (configuration checks, the security posture, listeners, the banner
// of unsafe modes and the SIGTERM drain) and one fasthttp handler with one
// route table (routes.go) for both surfaces — the legacy /predict, /health,
// /models, /metrics routes and the /v1 routes — and one path from a recipe
// name to a held model (acquireRecipe), whose not-found and not-loaded
// answers differ between the surfaces only in their shapes.
//
// What it serves from lives in sub-packages: registry (the model
// lifecycle: load, verify, reference counts, swap, watcher, object stores,
// file guard, metadata join), auth (API keys, anonymous clients, the Host
// allow-list and CORS origins), reqbody (request-body validation),
// telemetry (the metric set), metadata and resultcache. It never imports
// the trainer: recipes arrive through the RecipeLoader interface, models
// through the registry. (It is ~1.5k lines: the two API surfaces' handlers
// and their exact error shapes, which the spec fixes, live here on purpose,
// next to the one route table.)
//
// # Lifetimes
//
// Every request acquires its model from the registry for its whole
// duration and releases it after the response body was copied into
// fasthttp's buffer (see package registry for what a reference keeps
// alive). Nothing taken from a model or from a fasthttp.RequestCtx
// outlives the handler.
//
// # Concurrency
//
// Handlers read the registry without locks. Run's context bounds the
// registry's loads as well as serving: SIGTERM abandons a stalled initial
// load or download instead of waiting for it.
//
// # Hot path
//
// Request bodies are parsed by reqbody's strict scanner without
// reflection; responses are appended into pooled buffers; metric handles
// are created when a recipe is registered. A steady-state /predict or
// :recommend request allocates nothing (see BenchmarkHandler*).
package appliance
