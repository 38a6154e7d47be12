// Package registry owns the model lifecycle of `recotem serve`: the recipe
// entries read from the recipes directory (with a stub for each broken or
// duplicate file), the load of each recipe's artifact (resolve the pointer,
// verify and map or copy, build the scoring views, wrap them in the result
// cache, join the item metadata), the reference counts that keep a model
// mapped while a request holds it, the atomic swap to a new model, the
// watcher that rescans the directory and polls every artifact (reading
// local files and object stores through package store) and the guard that
// keeps the served bytes equal to the verified ones when a file changes in
// place. It knows
// nothing of HTTP: the appliance asks it for an Entry by name and for a
// Model with a reference held.
//
// # Lifetimes
//
// A loaded Model (a verified mapping or private copy, its scoring views and
// its metadata fragments) is reference counted. The entry holds one
// reference; every request acquires one (Entry.Acquire) for its whole
// duration and releases it (Model.Release) when done. A swap publishes the
// new model with an atomic pointer store, then drops the entry's reference
// to the old one; the old mapping is unmapped when the last holder
// releases it. A Model's exported fields are read-only once published.
//
// # Concurrency
//
// Readers (Get, Entry.Acquire, Health) take no locks: entries live in a
// copy-on-write map behind an atomic pointer. Only the watcher goroutine
// (and, before it starts, Open's initial load, Options.StartupParallelism
// loads at a time) changes entries; the guard goroutine only swaps a model
// for its private copy or withdraws it.
//
// # Cancellation
//
// Every load, stat and download runs under a context derived from the one
// given to Open or StartWatcher: when serve stops, a stalled download or
// metadata fetch is abandoned instead of holding the process.
package registry
