// Package lock owns the per-recipe training lock (recotem-behavior.md §5.2):
// an exclusive flock(2) on a lock file that lives beside the output (or, for
// remote outputs, under a host-local lock directory).
//
// The lock file is created with mode 0600 and never deleted; the lock is
// released when the descriptor is closed (Release, or process exit). flock is
// host-local: it does not coordinate writers on different hosts. A Lock is
// owned by one goroutine; Release is idempotent.
package lock
