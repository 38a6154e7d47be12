// Package appliance owns `recotem serve`: the fasthttp server with both HTTP
// surfaces (the legacy /predict, /health, /models, /metrics routes and the
// /v1 routes), API-key authentication, the Host allow-list and CORS, the
// recipe registry with its parallel initial load, the hot-swap watcher, the
// item-metadata join, the Prometheus metrics of the spec and the SIGTERM
// drain. It never imports the trainer: recipes arrive through the
// RecipeLoader interface, models through format and scoring.
//
// # Lifetimes
//
// A loaded model (a verified memory mapping plus its scoring views and its
// metadata fragments) is reference counted. The registry holds one
// reference; every request acquires one for its whole duration and releases
// it after the response body was copied into fasthttp's buffer. A hot swap
// publishes the new model with an atomic pointer store, then drops the
// registry's reference to the old one; the old mapping is unmapped when the
// last request holding it releases it. Nothing taken from a model or from a
// fasthttp.RequestCtx outlives the handler.
//
// # Concurrency
//
// Request handlers read the registry without locks (a copy-on-write map
// behind an atomic pointer). Only the watcher goroutine mutates entries;
// the initial load runs Config.StartupParallelism loads at a time.
//
// # Hot path
//
// Request bodies are parsed by a small strict JSON scanner without
// reflection; responses are appended into pooled buffers; metric handles
// are created when a recipe is registered. A steady-state /predict or
// :recommend request allocates nothing (see BenchmarkHandler*).
package appliance
