//go:build unix

package bench

import (
	"runtime"
	"syscall"
	"time"
)

type ru struct{ user, sys time.Duration }

// rusage reads this process's CPU time (all threads).
func rusage() (ru, bool) {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return ru{}, false
	}
	return ru{user: time.Duration(u.Utime.Nano()), sys: time.Duration(u.Stime.Nano())}, true
}

func numCPU() int { return runtime.NumCPU() }
