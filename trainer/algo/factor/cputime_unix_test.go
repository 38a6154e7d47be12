//go:build unix

package factor

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time of this process so far, so
// the fit benchmarks can report CPU seconds, which a loaded machine inflates
// far less than wall time.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
