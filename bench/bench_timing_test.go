package bench

import (
	"context"
	"testing"
)

// go test -run '^$' -bench . -benchmem -benchtime 200000x ./bench/
//
// BenchmarkRequestLoop* run the generator's per-request step (pick a route,
// build the body, send, read, record). With the null transport what is left
// is the generator's own cost per request; "req/s/core" is the rate one core
// of the generator could sustain, to compare with what the server needs.

func BenchmarkRequestLoopNullTransport(b *testing.B) {
	r, w, p := hotLoopRunner(b, Target{URL: "http://127.0.0.1:8080"})
	r.targets[0].dial = nullDial
	b.ReportAllocs()
	for b.Loop() {
		r.do(w, 0, -1, p)
	}
	b.StopTimer()
	if w.st[0].status[200] == 0 {
		b.Fatal("no request completed")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s/core")
}

func BenchmarkRequestLoopInmemServer(b *testing.B) {
	r, w, p := hotLoopRunner(b, Target{URL: "http://127.0.0.1:8080"})
	inmemServer(b, r)
	b.ReportAllocs()
	for b.Loop() {
		r.do(w, 0, -1, p)
	}
	b.StopTimer()
	if w.st[0].status[200] == 0 {
		b.Fatal("no request completed")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkOpenLoopSendLag runs the open loop at 10,000 requests/s over the
// null transport and reports how late requests left after their scheduled
// start (the pacer's precision; the server adds nothing here). One op is one
// request, so the run lasts b.N/10000 seconds (ns/op is the schedule's
// 100µs by construction):
//
//	go test -run '^$' -bench OpenLoopSendLag -benchtime 20000x -count 3 ./bench/
func BenchmarkOpenLoopSendLag(b *testing.B) {
	r, _, _ := hotLoopRunner(b, Target{URL: "http://127.0.0.1:8080"})
	r.targets[0].dial = nullDial
	r.cfg.Rate = 10000
	r.cfg.Requests = int64(b.N)
	r.cfg.Duration = 0
	b.ResetTimer()
	res := r.run(context.Background())
	b.StopTimer()
	lag := res.Targets[0].SendLag
	if lag.Count() != uint64(b.N) {
		b.Fatalf("%d of %d requests sent", lag.Count(), b.N)
	}
	b.ReportMetric(float64(lag.Quantile(0.5))/1e3, "lag-p50-µs")
	b.ReportMetric(float64(lag.Quantile(0.99))/1e3, "lag-p99-µs")
	b.ReportMetric(res.CPU.Share()*100, "cpu-%")
}
