// Package bench owns recotem's load generator: the closed loop (N
// connections, each waiting for its answer) and the open loop (a fixed
// arrival rate whose latencies are measured from each request's scheduled
// start, so a stalled server shows up instead of being hidden by coordinated
// omission), the request workloads (endpoint mix over recipes, users and seed
// items drawn uniformly or Zipf), the log-linear latency histogram, the
// loopback guard, and the text and JSON reports.
//
// # Hot loop
//
// Every connection is a goroutine that owns its fasthttp request and
// response, its body buffer, its random source and its histograms. Request
// bodies are appended into that reused buffer from ids quoted once at setup,
// so the steady state allocates nothing per request; BenchmarkRequestLoop and
// TestHotLoopAllocs prove it. Workers share only an atomic ticket counter
// (open loop) or request budget, and a stop flag; their statistics are merged
// once, after the run.
//
// # Concurrency and lifetimes
//
// Run is safe to call from several goroutines with different Configs. An
// IDs value is immutable after construction and may be shared by runs. A
// Histogram is not safe for concurrent use: give each goroutine its own and
// Merge them. The package never reads the environment; cmd/recotem passes
// the API key and every other setting in through Config.
package bench
