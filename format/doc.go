// Package format owns the format-1 artifact container: its byte layout,
// HMAC-SHA256 signing and verification with a key ring, the page-aligned
// payload section table, pointer files, atomic writes, and the read-only
// memory mapping of a verified file. The byte layout is documented in
// docs/format.md; the model sections in docs/model-sections.md.
//
// # Reading
//
// Open (and OpenAs) resolves a pointer file, checks size caps, maps the
// whole file read-only (or copies it), verifies its HMAC over those bytes, then validates every
// payload section once (bounds, alignment, CSR groups, sorted string tables).
// After that, section accessors return typed slices that alias the mapping:
// nothing is copied and nothing is built per element.
//
// # Lifetimes
//
// Slices returned by an *Artifact are read-only views into the mapping and
// become invalid when Close is called: touching them afterwards faults.
// Callers that share an Artifact between goroutines must keep it open until
// the last reader is done (the appliance reference-counts its models).
//
// # Keeping the verified bytes
//
// Where an open artifact's bytes live is its Residency (OpenAs): Mapped
// (Open: a plain shared mapping, for readers that own the file), Leased (the
// mapping under a read lease: a writer's open or truncate is held by the
// kernel until the holder has moved off it with Copy and Close; what serve
// uses) or Private (a verified copy in anonymous memory). Writers never
// modify a published file: temporary file, fsync, rename, directory fsync.
// docs/format.md §5 gives the guarantees per residency and file system.
//
// # Why one package
//
// At ~1.8k lines this is more than the ~1.5k the project aims for: the
// container, its section table, the writer and the residencies all build or
// read the one Artifact/Container pair whose invariant — these bytes were
// verified — must not be constructible outside the package. Splitting it
// would export that invariant.
//
// # Concurrency
//
// KeyRing, Container and Artifact are immutable after construction and safe
// for concurrent use. Builder is not.
package format
