//go:build !unix

package factor

import "time"

// processCPU is unavailable off unix; the benchmarks then omit cpu-s/fit.
func processCPU() (time.Duration, bool) { return 0, false }
