package bench

import (
	"runtime"
	"syscall"
	"time"
)

// precisePacer prepares the calling goroutine to keep a schedule: it is
// locked to its own OS thread (never unlocked, so the thread exits with the
// goroutine) and that thread's timer slack is cut from the default 50µs to
// 1ns.
func precisePacer() {
	runtime.LockOSThread()
	const prSetTimerslack = 29
	syscall.Syscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0) //nolint:errcheck // best effort
}

// sleepFor blocks the calling goroutine for d. Go's timers fire with
// millisecond granularity once the process is idle (the netpoller's
// epoll_wait takes milliseconds), which would make an open-loop request
// leave up to ~1ms late; below coarseSleep this sleeps in the kernel
// instead (nanosleep). Waits shorter than spinWait are spun on the clock:
// on a virtual machine a nanosleep costs ~10µs of CPU (timer programming,
// the halt and the wake-up) and ends later than that anyway. Only the
// pacer goroutine sleeps this way.
func sleepFor(d time.Duration) {
	switch {
	case d >= coarseSleep:
		time.Sleep(d - coarseSleep/2)
	case d < spinWait:
		for end := time.Now().Add(d); time.Now().Before(end); {
		}
	default:
		ts := syscall.NsecToTimespec(int64(d))
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
	}
}

const (
	coarseSleep = 4 * time.Millisecond
	spinWait    = 10 * time.Microsecond
)
