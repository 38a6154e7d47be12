package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/recotem/recotem/bench/report"
	"github.com/recotem/recotem/bench/workload"
)

// apiServer is a fake recotem: it checks the key, the route and the body,
// answers 404 for users it does not know, and counts what it answered.
type apiServer struct {
	key   string
	path  string
	known map[string]bool
	ok    atomic.Int64
	nf    atomic.Int64
	bad   atomic.Int64
}

func (s *apiServer) handle(ctx *fasthttp.RequestCtx) {
	var body struct {
		UserID string `json:"user_id"`
		Limit  int    `json:"limit"`
	}
	if string(ctx.Request.Header.Peek("X-API-Key")) != s.key || string(ctx.Path()) != s.path ||
		!ctx.IsPost() || json.Unmarshal(ctx.PostBody(), &body) != nil || body.Limit != 10 {
		s.bad.Add(1)
		ctx.SetStatusCode(422)
		return
	}
	if !s.known[body.UserID] {
		s.nf.Add(1)
		ctx.SetStatusCode(404)
		return
	}
	s.ok.Add(1)
	ctx.SetBodyString(`{"items":[]}`)
}

func TestRunClosedLoopMovieLensUsers(t *testing.T) {
	users := movieLensColumn(t, 0)
	if len(users) != 671 {
		t.Fatalf("MovieLens users: %d, want 671", len(users))
	}
	srv := &apiServer{key: "test-key-0123456789abcdef0123456789", path: "/v1/recipes/movies:recommend", known: map[string]bool{}}
	for _, u := range users[:600] {
		srv.known[string(u)] = true
	}
	url := startServer(t, srv.handle)
	ids, err := workload.NewIDs(users)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Config{
		Target: Target{URL: url}, APIKey: srv.key, Connections: 4, Requests: 2000,
		Workload: workload.Workload{Recipes: []string{"movies"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: ids, Dist: workload.Zipf},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New(res)
	if srv.bad.Load() != 0 {
		t.Fatalf("server rejected %d malformed requests", srv.bad.Load())
	}
	if rep.Requests != 2000 || rep.Responses != 2000 || res.Targets[0].Latency.Count() != 2000 {
		t.Fatalf("requests %d responses %d recorded %d, want 2000", rep.Requests, rep.Responses, res.Targets[0].Latency.Count())
	}
	if got, want := rep.ErrorsByStatus["404"], uint64(srv.nf.Load()); got != want || want == 0 {
		t.Fatalf("404s reported %d, server sent %d", got, want)
	}
	if rep.Errors != uint64(srv.nf.Load()) || uint64(srv.ok.Load())+rep.Errors != 2000 {
		t.Fatalf("errors %d, server ok %d / 404 %d", rep.Errors, srv.ok.Load(), srv.nf.Load())
	}
	if rep.Throughput <= 0 || rep.P50ms <= 0 || rep.P50ms > rep.P99ms || rep.P99ms > rep.MaxMs {
		t.Fatalf("implausible report %+v", rep)
	}
	// the client-observed interval holds the kernel-stamped one and the
	// generator's own recv delay, so none of its quantiles is lower
	if cl := res.Targets[0].Client; cl.Count() != 2000 || rep.ClientP50ms < rep.P50ms || rep.ClientP99ms < rep.P99ms || rep.ClientP999ms < rep.P999ms {
		t.Fatalf("client-observed %d recorded, p50 %v p99 %v p999 %v vs latency %v %v %v", cl.Count(), rep.ClientP50ms, rep.ClientP99ms, rep.ClientP999ms, rep.P50ms, rep.P99ms, rep.P999ms)
	}
}

func TestRunWarmupIsNotCounted(t *testing.T) {
	var served atomic.Int64
	url := startServer(t, func(ctx *fasthttp.RequestCtx) { served.Add(1) })
	res, err := Run(context.Background(), Config{
		Target: Target{URL: url}, Connections: 2, Requests: 100, Warmup: 100 * time.Millisecond,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Predict}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Targets[0].Responses; got != 100 {
		t.Fatalf("measured %d responses, want 100", got)
	}
	if served.Load() <= 100 {
		t.Fatalf("server saw %d requests: no warm-up traffic", served.Load())
	}
}

func TestRunTransportErrorsAreCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	res, err := Run(context.Background(), Config{
		Target: Target{URL: "http://" + addr}, Connections: 2, Requests: 20, Timeout: time.Second,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New(res)
	if rep.ErrorsByTransport["refused"] != 20 || rep.Errors != 20 || rep.Responses != 0 || rep.Requests != 20 {
		t.Fatalf("report %+v, want 20 refused", rep)
	}
}

func TestRunOverUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "r.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	var host atomic.Value
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { host.Store(string(ctx.Host())) }}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown() })
	res, err := Run(context.Background(), Config{
		Target: Target{URL: "http://recotem.local", UDS: sock}, Connections: 2, Requests: 50,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Targets[0].Status[200]; got != 50 {
		t.Fatalf("%d OK responses over the socket, want 50", got)
	}
	if h, _ := host.Load().(string); h != "recotem.local" {
		t.Fatalf("Host header %q, want the URL's host", h)
	}
	// no receive timestamps on a Unix socket: both intervals end at the parse
	tr := res.Targets[0]
	if tr.RecvDelay.Count() != 0 || tr.Client.Count() != 50 || tr.Client.Quantile(0.5) != tr.Latency.Quantile(0.5) || tr.Client.Max() != tr.Latency.Max() {
		t.Fatalf("unix socket: recv %d, client p50 %d max %d vs latency p50 %d max %d", tr.RecvDelay.Count(), tr.Client.Quantile(0.5), tr.Client.Max(), tr.Latency.Quantile(0.5), tr.Latency.Max())
	}
}

func TestRunRefusesRemoteTarget(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Target: Target{URL: "http://192.0.2.10:8080"}, Requests: 1,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if !errors.Is(err, ErrRemoteTarget) {
		t.Fatalf("got %v, want ErrRemoteTarget", err)
	}
	_, err = Run(context.Background(), Config{
		Target: Target{URL: "http://127.0.0.1:1"}, Compare: Target{URL: "http://192.0.2.10:8080"}, Requests: 1,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if !errors.Is(err, ErrRemoteTarget) {
		t.Fatalf("compare target: got %v, want ErrRemoteTarget", err)
	}
}

func TestRunConfigErrors(t *testing.T) {
	wl := workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")}
	f := func(c Config) {
		t.Helper()
		c.Workload = wl
		if c.Target.URL == "" {
			c.Target.URL = "http://127.0.0.1:1"
		}
		if _, err := Run(context.Background(), c); !errors.Is(err, ErrConfig) {
			t.Fatalf("%+v: got %v, want ErrConfig", c, err)
		}
	}
	f(Config{})                             // no bound
	f(Config{Requests: 1, Connections: -1}) // bad connections
	f(Config{Requests: 1, Rate: -5})        // bad rate
	f(Config{Target: Target{URL: "ftp://x"}, Requests: 1})
}

func TestOpenLoopKeepsItsSchedule(t *testing.T) {
	url := startServer(t, okHandler)
	res, err := Run(context.Background(), Config{
		Target: Target{URL: url}, Connections: 8, Rate: 400, Duration: 500 * time.Millisecond,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Exactly the requests scheduled in [0, 500ms) at 400/s: 200.
	if got := res.Targets[0].Responses; got != 200 {
		t.Fatalf("%d responses, want 200", got)
	}
	if res.Elapsed < 490*time.Millisecond {
		t.Fatalf("run took %v: the schedule was not kept", res.Elapsed)
	}
}

// slowServer handles one request at a time, each taking service: its
// capacity is 1/service requests per second.
func slowServer(t *testing.T, service time.Duration) string {
	var mu sync.Mutex
	return startServer(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		time.Sleep(service)
		mu.Unlock()
	})
}

// TestOpenLoopShowsBacklogClosedLoopHidesIt drives a server of capacity
// ~50/s (one request at a time, 20ms each) at 100/s. Arrivals outpace
// service, so the queue, and with it the latency of each request measured
// from its scheduled start, grows for as long as the overload lasts: the
// open loop's p99 roughly doubles when the run does. A closed loop with the
// same connections only ever waits behind its own few requests and reports
// a flat, small p99. (Ratios, not absolute times, so a loaded machine whose
// sleeps overshoot still passes.)
func TestOpenLoopShowsBacklogClosedLoopHidesIt(t *testing.T) {
	const service = 20 * time.Millisecond
	url := slowServer(t, service)
	wl := workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")}
	run := func(rate float64, dur time.Duration) report.Report {
		t.Helper()
		res, err := Run(context.Background(), Config{Target: Target{URL: url}, Connections: 4, Rate: rate, Duration: dur, Timeout: 10 * time.Second, Workload: wl})
		if err != nil {
			t.Fatal(err)
		}
		return report.New(res)
	}
	closed := run(0, 500*time.Millisecond)
	short := run(100, 500*time.Millisecond)
	long := run(100, time.Second)
	t.Logf("closed p99 %.1fms; open p99 %.1fms (0.5s) → %.1fms (1s)", closed.P99ms, short.P99ms, long.P99ms)
	if closed.Errors+short.Errors+long.Errors != 0 {
		t.Fatalf("unexpected errors: %d %d %d", closed.Errors, short.Errors, long.Errors)
	}
	// Closed loop: 4 connections queue behind one another: ~4 service times.
	if closed.P99ms > 20*service.Seconds()*1e3 {
		t.Fatalf("closed-loop p99 %.1fms: the slow server should look fine to a closed loop", closed.P99ms)
	}
	// Open loop: after T seconds of 2x overload the backlog is ≥ T/2 s of work.
	if long.P99ms < 400 {
		t.Fatalf("open-loop p99 %.1fms after 1s of 2x overload; want ≥ 400ms", long.P99ms)
	}
	if long.P99ms < 1.5*short.P99ms {
		t.Fatalf("open-loop p99 did not grow with the backlog: %.1fms (0.5s) vs %.1fms (1s)", short.P99ms, long.P99ms)
	}
	if long.P99ms < 2*closed.P99ms {
		t.Fatalf("open-loop p99 %.1fms vs closed %.1fms: the backlog should dominate", long.P99ms, closed.P99ms)
	}
}

func TestOpenLoopCountsUnsentBacklog(t *testing.T) {
	url := slowServer(t, 20*time.Millisecond) // 50/s
	res, err := Run(context.Background(), Config{
		Target: Target{URL: url}, Connections: 2, Rate: 200, Duration: 300 * time.Millisecond, Timeout: 200 * time.Millisecond,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New(res)
	// 60 scheduled; the server finishes ~25 by the hard stop at 0.5s.
	if rep.Unsent == 0 || rep.Requests != 60 {
		t.Fatalf("requests %d unsent %d: the backlog left at the end must be reported", rep.Requests, rep.Unsent)
	}
	if rep.Errors < rep.Unsent {
		t.Fatalf("errors %d < unsent %d", rep.Errors, rep.Unsent)
	}
}

func TestCompareAlternatesTargets(t *testing.T) {
	fast := startServer(t, okHandler)
	slow := startServer(t, func(ctx *fasthttp.RequestCtx) { time.Sleep(10 * time.Millisecond) })
	res, err := Run(context.Background(), Config{
		Target: Target{URL: fast}, Compare: Target{URL: slow}, Connections: 2,
		Duration: 800 * time.Millisecond, CompareSlice: 100 * time.Millisecond,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New(res)
	if rep.Compare == nil || rep.Responses == 0 || rep.Compare.Responses == 0 {
		t.Fatalf("both targets should carry load: %+v", rep)
	}
	if d := rep.DurationS + rep.Compare.DurationS; d < 0.79 || d > res.Elapsed.Seconds()+1e-9 {
		t.Fatalf("target durations %.3f+%.3f vs elapsed %v", rep.DurationS, rep.Compare.DurationS, res.Elapsed)
	}
	if rep.Ratios["p50_ms"] < 2 || rep.Ratios["throughput"] > 0.5 {
		t.Fatalf("ratios %v: the 10ms target should be slower", rep.Ratios)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("B/A")) {
		t.Fatalf("compare table without ratios:\n%s", buf.String())
	}
}

func TestSliceTime(t *testing.T) {
	f := func(total, slice int64, a, b int64) {
		t.Helper()
		if ga, gb := sliceTime(total, slice, 0), sliceTime(total, slice, 1); ga != a || gb != b {
			t.Fatalf("sliceTime(%d, %d) = %d/%d, want %d/%d", total, slice, ga, gb, a, b)
		}
	}
	f(1000, 100, 500, 500)
	f(1050, 100, 550, 500)
	f(1150, 100, 600, 550)
	f(50, 100, 50, 0)
	f(1000, 0, 1000, 1000)
}

func TestRunCancelReturnsPromptly(t *testing.T) {
	url := startServer(t, okHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, Config{
		Target: Target{URL: url}, Connections: 2, Rate: 1, Requests: 1_000_000,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("cancelled run took %v", el)
	}
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressLine(t *testing.T) {
	url := slowServer(t, 2*time.Millisecond)
	var out syncBuffer
	_, err := Run(context.Background(), Config{
		Target: Target{URL: url}, Connections: 2, Rate: 1000, Duration: 400 * time.Millisecond,
		Progress: &out, ProgressEvery: 100 * time.Millisecond,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u")},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if n := strings.Count(s, "req/s"); n < 2 {
		t.Fatalf("%d progress updates in %q", n, s)
	}
	if !strings.Contains(s, "backlog") || !strings.HasSuffix(s, "\r\033[K") {
		t.Fatalf("open-loop progress should show the backlog and clear itself at the end: %q", s)
	}
}

// TestOpenLoopReconnectsAndTimesOut drives the open loop's two ways of
// sending: the pacer writing on an idle connection, and a connection's
// goroutine dialling for its ticket. The server closes every third
// connection after answering (Connection: close) and never answers the
// requests of user "stall", so every request must end as a response or a
// timeout, each counted once.
func TestOpenLoopReconnectsAndTimesOut(t *testing.T) {
	var n atomic.Int64
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {
		if bytes.Contains(ctx.PostBody(), []byte(`"stall"`)) {
			time.Sleep(300 * time.Millisecond) // past the timeout
			return
		}
		if n.Add(1)%3 == 0 {
			ctx.SetConnectionClose()
		}
		ctx.SetBodyString(`{"items":[]}`)
	})
	res, err := Run(context.Background(), Config{
		Target: Target{URL: url}, Connections: 4, Rate: 400, Duration: 500 * time.Millisecond, Timeout: 150 * time.Millisecond,
		Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "u", "v", "w", "x", "y", "z", "a", "b", "c", "stall")},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New(res)
	t.Logf("responses %d, transport %v, unsent %d", rep.Responses, rep.ErrorsByTransport, rep.Unsent)
	timeouts := rep.ErrorsByTransport["timeout"]
	if rep.Requests != 200 || rep.Responses+timeouts+rep.Unsent != 200 {
		t.Fatalf("report %+v: want 200 requests, each a response, a timeout or unsent", rep)
	}
	if timeouts == 0 || rep.Responses < 100 || res.Targets[0].SendLag.Count() != rep.Responses+timeouts {
		t.Fatalf("report %+v: want the stalled requests timed out, the others answered, a send lag for each sent", rep)
	}
	if n.Load() < 100 {
		t.Fatalf("server answered %d requests", n.Load())
	}
}
