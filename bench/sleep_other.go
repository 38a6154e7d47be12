//go:build !linux

package bench

import "time"

func precisePacer() {}

// sleepFor blocks for d (the Linux build sleeps sub-millisecond waits in
// the kernel for precision).
func sleepFor(d time.Duration) { time.Sleep(d) }
