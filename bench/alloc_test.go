//go:build !race

package bench

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestHotLoopAllocs: once warm, one request of the generator (pick a route,
// build the body, send, read the answer, record) allocates nothing.
func TestHotLoopAllocs(t *testing.T) {
	r, w, p := hotLoopRunner(t, Target{URL: "http://127.0.0.1:8080"})
	r.targets[0].dial = nullDial
	for i := 0; i < 1000; i++ {
		r.do(w, 0, -1, p)
	}
	n := testing.AllocsPerRun(5000, func() { r.do(w, 0, -1, p) })
	t.Logf("%v allocations per request", n)
	if n != 0 {
		t.Fatalf("%v allocations per request in the generator's hot loop", n)
	}
	if w.st[0].status[200] == 0 || w.st[0].transport != [numTransport]uint64{} {
		t.Fatal("requests did not complete")
	}
}

// TestHotLoopAllocsOverConnection: the same through a real (in-memory)
// connection to a fasthttp server in this process.
func TestHotLoopAllocsOverConnection(t *testing.T) {
	r, w, p := hotLoopRunner(t, Target{URL: "http://127.0.0.1:8080"})
	inmemServer(t, r)
	for i := 0; i < 1000; i++ {
		r.do(w, 0, -1, p)
	}
	if w.st[0].status[200] != 1000 {
		t.Fatalf("warm-up: %d OK of 1000 (transport %v)", w.st[0].status[200], w.st[0].transport)
	}
	n := testing.AllocsPerRun(2000, func() { r.do(w, 0, -1, p) })
	t.Logf("%v allocations per request (client and server together)", n)
	if n >= 0.01 {
		t.Fatalf("%v allocations per request (client and server together)", n)
	}
}

// TestHotLoopAllocsOverTCP: the same over a loopback TCP connection, whose
// reads go through recvmsg for the kernel's receive timestamps.
func TestHotLoopAllocsOverTCP(t *testing.T) {
	r, w, p := hotLoopRunner(t, Target{URL: startServer(t, okHandler)})
	// Reads go through recvmsg and carry the kernel's receive time once the
	// kernel has turned software receive timestamps on: SO_TIMESTAMPNS
	// flips a static key from a workqueue, so on a busy machine the first
	// segments (even the first thousand) can arrive unstamped. Warm up
	// until stamps arrive (bounded); none within the bound means the
	// mechanism is broken. How many stamps the recorder accepts (after the
	// send, before the parse) is logged, not asserted.
	requests, stamped := 0, 0
	deadline := time.Now().Add(20 * time.Second)
	for requests < 1000 || (stamped == 0 && time.Now().Before(deadline)) {
		r.do(w, 0, -1, p)
		requests++
		if c := w.conns[0]; c != nil && c.Arrived() > 0 {
			stamped++
		}
		if stamped == 0 && requests >= 1000 {
			time.Sleep(time.Millisecond) // let the kernel's workqueue run
		}
	}
	if int(w.st[0].status[200]) != requests || stamped == 0 {
		t.Fatalf("warm-up: %d OK of %d, %d with a kernel receive time (transport %v)", w.st[0].status[200], requests, stamped, w.st[0].transport)
	}
	t.Logf("%d of %d responses kernel-stamped, %d stamps accepted as the response's end", stamped, requests, w.st[0].recv.Count())
	n := testing.AllocsPerRun(2000, func() { r.do(w, 0, -1, p) })
	t.Logf("%v allocations per request (client and server together)", n)
	if n >= 0.01 {
		t.Fatalf("%v allocations per request (client and server together)", n)
	}
}

// TestOpenLoopAllocs: the open loop over loopback TCP (the pacer writing,
// each connection's goroutine reading) allocates per run, not per request.
func TestOpenLoopAllocs(t *testing.T) {
	url := startServer(t, okHandler)
	mallocs := func(requests int64) uint64 {
		r, _, _ := hotLoopRunner(t, Target{URL: url})
		r.cfg.Rate, r.cfg.Requests, r.cfg.Connections = 20000, requests, 1
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		res := r.run(context.Background())
		runtime.ReadMemStats(&m1)
		if got := res.Targets[0].Status[200]; got != uint64(requests) {
			t.Fatalf("%d OK of %d (transport %v)", got, requests, res.Targets[0].Transport)
		}
		return m1.Mallocs - m0.Mallocs
	}
	mallocs(200) // warm up the server
	small, large := mallocs(500), mallocs(4500)
	t.Logf("%d allocations for 500 requests, %d for 4500", small, large)
	if large > small && float64(large-small)/4000 >= 0.01 {
		t.Fatalf("%d allocations for 500 requests, %d for 4500: %.3f per request", small, large, float64(large-small)/4000)
	}
}
