//go:build race

package itemitem

// raceEnabled skips the real-data parity fits, which take minutes under the
// race detector; they run in the non-race test pass.
const raceEnabled = true
