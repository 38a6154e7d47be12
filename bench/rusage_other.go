//go:build !unix

package bench

import (
	"runtime"
	"time"
)

type ru struct{ user, sys time.Duration }

func rusage() (ru, bool) { return ru{}, false }

func numCPU() int { return runtime.NumCPU() }
