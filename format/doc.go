// Package format owns the format-1 artifact container: its byte layout,
// HMAC-SHA256 signing and verification with a key ring, the page-aligned
// payload section table, pointer files, atomic writes, and the read-only
// memory mapping of a verified file. The byte layout is documented in
// docs/format.md; the model sections in docs/model-sections.md.
//
// # Reading
//
// Open resolves a pointer file, checks size caps, maps the whole file
// read-only, verifies its HMAC over the mapped bytes, then validates every
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
// # Why a verified mapping stays valid
//
// Writers never modify a published file: they write a temporary file in the
// same directory, fsync it, rename it over the target and fsync the
// directory. A rename replaces the directory entry, not the inode we mapped,
// so our mapping keeps the verified bytes. If someone writes into the file
// in place anyway, the mapping may observe the new bytes: an overwrite of
// the same length yields wrong scores or a clean error (every slice is a Go
// slice with bounds checks, CSR indices were range-checked at open and are
// re-checked by the kernels' slice bounds), never memory corruption. A
// truncation of a mapped file is different: touching a page past the new
// end raises SIGBUS and kills the process. Publish by rename only.
//
// # Concurrency
//
// KeyRing, Container and Artifact are immutable after construction and safe
// for concurrent use. Builder is not.
package format
