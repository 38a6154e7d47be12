// Package bench owns recotem's load generator: the closed loop (N
// connections, each waiting for its answer) and the open loop (a fixed
// arrival rate whose latencies are measured from each request's scheduled
// start, so a stalled server shows up instead of being hidden by coordinated
// omission), the loopback guard, the precise pacer and the generator's own
// CPU use. Run returns a report.Result. Its parts live in sub-packages, each
// with one job: bench/workload (what is sent: endpoint mix over recipes,
// users and seed items drawn uniformly or Zipf, request bodies),
// bench/httpconn (the HTTP/1.1 client connection and its kernel receive
// timestamps), bench/hist (the latency histogram) and bench/report (the
// Result, its summary and the text and JSON outputs).
//
// # Hot loop
//
// Every connection is a goroutine that owns its connection (one plain
// net.Conn per target with a minimal HTTP/1.1 client: one Write per request,
// the response parsed in place and discarded), its body buffer, its random
// source and its histograms. Request
// bodies are appended into that reused buffer from ids quoted once at setup,
// so the steady state allocates nothing per request; BenchmarkRequestLoop* and
// TestHotLoopAllocs prove it. Closed-loop workers share only a request budget
// counter and a stop flag. In the open loop one pacer goroutine, on its own
// thread, keeps the schedule: at each request's scheduled start it takes an
// idle connection from a free list and writes the request (built while it
// waited) itself, and that connection's goroutine, already parked in its
// read, wakes only for the answer; a connection that must be dialled (and
// every connection of a compare run) gets its ticket over a channel
// instead. The pacer sleeps waits from 10µs up in the kernel (Go's idle
// timers fire with millisecond granularity) and spins shorter ones; when
// every connection is busy the request waits, and that wait counts in its
// latency and in the reported send lag. Statistics are merged once, after
// the run.
//
// # What is measured
//
// Latency runs from the clock reading just before the request's write
// syscall (closed loop; after the dial, if the connection had to be opened)
// or from the scheduled start (open loop) to the moment the last byte of the
// response reached the generator's socket, for every request that got an
// HTTP response of any status. On Linux over TCP that moment is the kernel's
// receive timestamp (SO_TIMESTAMPNS, read with recvmsg into preallocated
// buffers): on loopback it is stamped while the server's own write is
// delivering the segment, so the interval holds everything the network and
// the server did and nothing the generator did afterwards: the wait for the
// reading goroutine to be woken and scheduled, the read and the parse. That
// wait, the recv delay, is reported apart (RecvDelay, recv_delay_p50_ms): on
// a 2-core virtual machine it is 8–40µs per response, as large as a no-op
// server's whole answer, and it grows with the machine's load, which is what
// a server-latency figure must not do. Responses without a timestamp (TLS,
// Unix sockets, other systems) end when parsed; kernel_stamped counts the
// others. The client-observed interval — ending when the generator had
// parsed the response, as wrk, hey and vegeta measure it, recv delay
// included — is reported too (Client, client_p50_ms/p99/p999), for
// comparing with those tools. Requests without a response are counted by
// transport cause (timeout, refused, reset, closed, ...); open-loop requests
// still unsent when the drain period (Timeout after the end) runs out are
// counted as unsent and recorded with their wait so far, a lower bound.
// Throughput is HTTP responses per second of the measured phase, as wrk counts
// it; errors are non-2xx responses plus transport failures plus unsent.
//
// # Concurrency and lifetimes
//
// Run is safe to call from several goroutines with different Configs. A
// workload.IDs value is immutable after construction and may be shared by
// runs. A hist.Histogram is not safe for concurrent use: give each goroutine
// its own and Merge them. The package never reads the environment;
// cmd/recotem passes the API key and every other setting in through Config.
package bench
