// Package artifact owns the trainer side of docs/model-sections.md: it turns
// a fitted *algo.Model, its sorted user and item id lists and the final
// training matrix into a *format.Builder holding exactly the model sections
// the scoring package reads, plus the header's "model" object. It writes
// nothing itself; the caller passes both to format.WriteArtifact.
//
// Concurrency: Build reads its inputs and never modifies them. The returned
// Builder references some of the input slices (format.Builder does not copy),
// so the inputs must stay unchanged until the artifact is written.
package artifact
