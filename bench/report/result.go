package report

import (
	"time"

	"github.com/recotem/recotem/bench/hist"
)

// Result is what one run of bench.Run measured.
type Result struct {
	Mode        string        // "closed" or "open"
	Connections int           // as configured (defaults applied)
	Rate        float64       // target rate of the open loop, 0 for closed
	Elapsed     time.Duration // wall time of the measured phase
	Targets     []TargetResult
	CPU         CPUUsage // this process, over the measured phase
}

// TargetResult is what one target answered.
type TargetResult struct {
	Name    string
	Elapsed time.Duration   // time the target carried the load (its compare slices)
	Latency *hist.Histogram // ns; every request that got an HTTP response, plus open-loop Unsent ones
	SendLag *hist.Histogram // ns; open loop: how late each request was sent after its scheduled start
	// RecvDelay (ns), for each response whose end is the kernel's receive
	// timestamp: the time from then until the generator had parsed it (its
	// own wake-up, read and parse, not counted in Latency). Responses
	// without a timestamp (TLS; not Linux) end when parsed and are not here.
	RecvDelay *hist.Histogram
	// Client (ns): every response of Latency measured the way other
	// generators (wrk, hey, vegeta) measure it, ending when the generator
	// had parsed it, so the generator's own wake-up is inside.
	Client    *hist.Histogram
	Responses uint64 // HTTP responses of any status
	Status    map[int]uint64
	Transport map[string]uint64 // requests that got no response, by cause
	Unsent    uint64            // open loop: due before the end but never sent
}

// CPUUsage is the process's CPU time over a phase, from getrusage.
type CPUUsage struct {
	User, System time.Duration
	Wall         time.Duration
	Cores        int // runtime.NumCPU()
}

// Share is the fraction of the machine's CPU capacity used (0..1); 0 if
// getrusage is unavailable.
func (c CPUUsage) Share() float64 {
	if c.Wall <= 0 || c.Cores <= 0 {
		return 0
	}
	return (c.User + c.System).Seconds() / (c.Wall.Seconds() * float64(c.Cores))
}
