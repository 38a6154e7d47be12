//go:build !race

package bench

import "testing"

// TestHotLoopAllocs: once warm, one request of the generator (pick a route,
// build the body, send, read the answer, record) allocates nothing.
func TestHotLoopAllocs(t *testing.T) {
	r, w, p := hotLoopRunner(t, Target{URL: "http://127.0.0.1:8080"})
	r.targets[0].dial = nullDial
	for i := 0; i < 1000; i++ {
		r.do(w, 0, -1, p)
	}
	if n := testing.AllocsPerRun(5000, func() { r.do(w, 0, -1, p) }); n != 0 {
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
	if n := testing.AllocsPerRun(2000, func() { r.do(w, 0, -1, p) }); n >= 0.01 {
		t.Fatalf("%v allocations per request (client and server together)", n)
	}
}

// TestHotLoopAllocsOverTCP: the same over a loopback TCP connection, whose
// reads go through recvmsg for the kernel's receive timestamps.
func TestHotLoopAllocsOverTCP(t *testing.T) {
	r, w, p := hotLoopRunner(t, Target{URL: startServer(t, okHandler)})
	for i := 0; i < 1000; i++ {
		r.do(w, 0, -1, p)
	}
	if w.st[0].status[200] != 1000 || w.st[0].recv.Count() == 0 {
		t.Fatalf("warm-up: %d OK of 1000, %d kernel-stamped (transport %v)", w.st[0].status[200], w.st[0].recv.Count(), w.st[0].transport)
	}
	if n := testing.AllocsPerRun(2000, func() { r.do(w, 0, -1, p) }); n >= 0.01 {
		t.Fatalf("%v allocations per request (client and server together)", n)
	}
}
