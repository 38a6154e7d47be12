package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/recotem/recotem/bench/hist"
	"github.com/recotem/recotem/bench/httpconn"
	"github.com/recotem/recotem/bench/report"
	"github.com/recotem/recotem/bench/workload"
)

// Config is one load-generation run. The zero value of every optional field
// is a sensible default, stated on the field.
type Config struct {
	Target  Target // the server under test
	Compare Target // a second server measured in the same run (URL and UDS empty: none)

	// AllowRemote lets the run target non-loopback addresses; without it
	// Run refuses them with ErrRemoteTarget before sending anything.
	AllowRemote bool
	// Lookup resolves host names for the loopback check; nil: the system resolver.
	Lookup Resolver

	APIKey string // sent as X-API-Key on every request; "" sends none

	// Connections: closed loop, the number of connections each with one
	// request outstanding; open loop, the most requests in flight at once
	// (a due request waits for a free connection, and that wait counts in
	// its latency). 0 means 10.
	Connections int
	// Rate > 0 selects the open loop: requests are scheduled at exactly
	// Rate per second and each latency runs from its scheduled start.
	Rate float64

	// Duration and Requests bound the measured phase; at least one must be
	// set, and the first reached ends it. In the open loop, requests due
	// before the end are still sent and awaited for up to Timeout after it;
	// those still unsent then are reported as Unsent.
	Duration time.Duration
	Requests int64
	// Warmup runs the same load for this long before measuring; its
	// results are discarded. 0: no warm-up.
	Warmup time.Duration
	// Timeout bounds each request's write and read. 0 means 10s.
	Timeout time.Duration
	// CompareSlice is how long each target gets the load before the run
	// switches to the other one in a compare run. 0 means 500ms.
	CompareSlice time.Duration

	Workload workload.Workload

	// Progress, if not nil, receives a live one-line status every
	// ProgressEvery (0 means 1s), rewritten in place with '\r'. Pass a
	// terminal only.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// Transport error classes.
const (
	transTimeout = iota
	transRefused
	transReset
	transClosed
	transNoConns
	transOther
	numTransport
)

var transportNames = [numTransport]string{"timeout", "refused", "reset", "closed", "no_free_conns", "other"}

func classify(err error) int {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return transTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		return transRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return transReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return transClosed
	case errors.As(err, &ne) && ne.Timeout():
		return transTimeout
	}
	return transOther
}

const maxStatus = 600

// tstats is one worker's statistics for one target.
type tstats struct {
	lat       hist.Histogram    // latency: from the scheduled start (open) or the send (closed)
	lag       hist.Histogram    // open loop: send time − scheduled start
	recv      hist.Histogram    // kernel receipt of a response's last byte → parsed
	client    hist.Histogram    // latency ending at the parse (the client-observed interval)
	status    [maxStatus]uint64 // index 0: out-of-range codes
	transport [numTransport]uint64
	responses uint64
	unsent    uint64
}

// worker is one connection's goroutine state. Everything here is reused
// across requests.
type worker struct {
	conns [2]*httpconn.Conn // one per target
	buf   []byte
	r     workload.Rand
	st    [2]tstats

	done atomic.Uint64 // requests finished (for progress)
	errs atomic.Uint64 // of which errors (for progress)

	// Open loop. With one target the pacer writes each request itself on
	// an idle connection (state connIdle → connBusy), after storing its
	// scheduled start and send time here, and this worker's goroutine,
	// already waiting in the connection's read, takes the answer. A
	// connection that must be dialled, or a compare run, goes the slow way:
	// the ticket is handed over on job and the goroutine does it all.
	state atomic.Int32
	sched atomic.Int64 // ns since the phase start
	sent  atomic.Int64 // ns since the phase start
	job   chan int64   // a ticket for the slow way; -1: leave
	req   []byte       // the pacer's own worker: the next request, built ahead
	_     [64]byte
}

// tgt is a parsed target with its dialer and prebuilt request heads.
type tgt struct {
	ep    endpoint
	dial  func() (net.Conn, error)
	heads [][]byte // route → request line and headers up to "Content-Length: "
}

// phase is the shared state of one warm-up or measured phase.
type phase struct {
	start    time.Time
	open     bool
	interval float64 // ns between scheduled starts (open loop)
	durNs    int64   // 0: unbounded
	budget   int64   // 0: unbounded
	slice    int64   // ns per compare slice; 0: single target
	ticket   atomic.Int64
	stop     atomic.Bool // no more sends
	cancel   atomic.Bool // ctx cancelled: leave at once, count nothing more

	fast     bool          // open loop with one target: the pacer writes requests itself
	free     chan *worker  // open loop: workers ready for a ticket
	stopped  chan struct{} // closed when stop is set
	stopOnce sync.Once
}

func (p *phase) now() int64 { return int64(time.Since(p.start)) }

// halt sets stop and wakes a pacer waiting for a free connection.
func (p *phase) halt() {
	p.stop.Store(true)
	p.stopOnce.Do(func() { close(p.stopped) })
}

func (p *phase) targetAt(t int64) int {
	if p.slice == 0 {
		return 0
	}
	return int(t/p.slice) & 1
}

type runner struct {
	cfg     Config
	wl      *workload.Compiled
	targets []*tgt
	workers []*worker
	pacer   *worker   // the open loop's pacer: its requests' draws, and Unsent
	all     []*worker // workers and pacer, for statistics
	apiKey  []byte
}

func (c *Config) defaults() {
	if c.Connections == 0 {
		c.Connections = 10
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.CompareSlice == 0 {
		c.CompareSlice = 500 * time.Millisecond
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = time.Second
	}
}

func (c *Config) validate() error {
	switch {
	case c.Connections < 1:
		return configErr("connections %d (want >= 1)", c.Connections)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return configErr("rate %v (want > 0 for the open loop, 0 for the closed loop)", c.Rate)
	case c.Duration < 0 || c.Requests < 0 || c.Warmup < 0 || c.Timeout < 0 || c.CompareSlice < 0:
		return configErr("negative duration, request count, warm-up, timeout or slice")
	case c.Duration == 0 && c.Requests == 0:
		return configErr("neither a duration nor a request count bounds the run")
	case c.Rate > 0 && c.Rate > 1e9:
		return configErr("rate %v above 1e9/s", c.Rate)
	}
	return nil
}

// Run checks the targets, then drives the configured load and returns what
// it measured. Failures to reach the server are results, not errors: Run
// returns an error only for a bad Config (ErrConfig, workload.ErrNoIDs) or a refused
// target (ErrRemoteTarget). Cancelling ctx ends the run early with the
// results so far.
func Run(ctx context.Context, cfg Config) (*report.Result, error) {
	r, err := newRunner(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	return r.run(ctx), nil
}

// newRunner validates cfg and prepares targets, clients and workers.
func newRunner(ctx context.Context, cfg Config) (*runner, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ts := []Target{cfg.Target}
	if cfg.Compare.URL != "" || cfg.Compare.UDS != "" {
		ts = append(ts, cfg.Compare)
	}
	r := &runner{cfg: cfg, apiKey: []byte(cfg.APIKey)}
	for _, t := range ts {
		ep, err := parseTarget(t)
		if err != nil {
			return nil, err
		}
		if !cfg.AllowRemote {
			if err := CheckLoopback(ctx, t, cfg.Lookup); err != nil {
				return nil, err
			}
		}
		r.targets = append(r.targets, &tgt{ep: ep})
	}
	wl, err := workload.Compile(cfg.Workload)
	if err != nil {
		return nil, err
	}
	r.wl = wl
	for _, t := range r.targets {
		r.setupTarget(t)
	}
	r.workers = make([]*worker, cfg.Connections)
	for i := range r.workers {
		w := &worker{r: workload.NewRand(cfg.Workload.Seed + uint64(i)*0x9e3779b97f4a7c15 + 1)}
		w.buf = make([]byte, 0, 4096)
		for ti, t := range r.targets {
			// The dialer is read at dial time, so tests may replace t.dial.
			w.conns[ti] = httpconn.New(func() (net.Conn, error) { return t.dial() }, cfg.Timeout)
		}
		w.job = make(chan int64, 1)
		r.workers[i] = w
	}
	r.pacer = &worker{r: workload.NewRand(cfg.Workload.Seed + uint64(len(r.workers))*0x9e3779b97f4a7c15 + 1), buf: make([]byte, 0, 4096), req: make([]byte, 0, 4096)}
	r.all = append(r.workers[:len(r.workers):len(r.workers)], r.pacer)
	return r, nil
}

func (r *runner) close() {
	for _, w := range r.workers {
		for _, c := range w.conns {
			if c != nil {
				c.Close()
			}
		}
	}
}

func (r *runner) run(ctx context.Context) *report.Result {
	cfg := r.cfg
	if cfg.Warmup > 0 {
		r.phase(ctx, cfg.Warmup, 0, false)
		for _, w := range r.all {
			w.st = [2]tstats{}
			w.done.Store(0)
			w.errs.Store(0)
		}
	}
	if ctx.Err() != nil {
		return r.result(0, report.CPUUsage{})
	}
	ru0, ok0 := rusage()
	elapsed := r.phase(ctx, cfg.Duration, cfg.Requests, true)
	ru1, ok1 := rusage()
	cpu := report.CPUUsage{Wall: elapsed, Cores: numCPU()}
	if ok0 && ok1 {
		cpu.User, cpu.System = ru1.user-ru0.user, ru1.sys-ru0.sys
	}
	return r.result(elapsed, cpu)
}

func (r *runner) setupTarget(t *tgt) {
	timeout := r.cfg.Timeout
	switch {
	case t.ep.uds != "":
		path := t.ep.uds
		t.dial = func() (net.Conn, error) { return net.DialTimeout("unix", path, timeout) }
	case t.ep.tls:
		addr, cfg := t.ep.addr, &tls.Config{ServerName: t.ep.hostIP}
		t.dial = func() (net.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
		}
	default:
		addr := t.ep.addr
		t.dial = func() (net.Conn, error) {
			c, err := net.DialTimeout("tcp", addr, timeout)
			if err == nil {
				c.(*net.TCPConn).SetNoDelay(true)
			}
			return c, err
		}
	}
	var hdr []byte
	hdr = append(hdr, " HTTP/1.1\r\nHost: "...)
	hdr = append(hdr, t.ep.host...)
	hdr = append(hdr, "\r\nUser-Agent: recotem-bench\r\nContent-Type: application/json\r\n"...)
	if len(r.apiKey) > 0 {
		hdr = append(hdr, "X-API-Key: "...)
		hdr = append(hdr, r.apiKey...)
		hdr = append(hdr, "\r\n"...)
	}
	hdr = append(hdr, "Content-Length: "...)
	t.heads = make([][]byte, r.wl.Routes())
	for route := range t.heads {
		h := []byte("POST " + t.ep.prefix + r.wl.Path(route))
		t.heads[route] = append(h, hdr...)
	}
}

// phase runs the load until dur or budget, whichever first, and returns
// its wall time. measured selects the compare slicing and the progress line.
func (r *runner) phase(ctx context.Context, dur time.Duration, budget int64, measured bool) time.Duration {
	p := &phase{open: r.cfg.Rate > 0, durNs: int64(dur), budget: budget, stopped: make(chan struct{})}
	if p.open {
		p.interval = 1e9 / r.cfg.Rate
		p.free = make(chan *worker, len(r.workers))
		p.fast = len(r.targets) == 1
	}
	if len(r.targets) > 1 {
		p.slice = int64(r.cfg.CompareSlice)
	}
	var wg sync.WaitGroup
	launch := func() {
		for _, w := range r.workers {
			wg.Add(1)
			go func(w *worker) {
				defer wg.Done()
				if p.open {
					r.openLoop(p, w)
				} else {
					r.closedLoop(p, w)
				}
			}(w)
		}
	}
	// The open loop's clock starts once the workers run and the pacer has
	// its thread, so the first tickets are not late by the start-up.
	var begin chan struct{}
	if p.open {
		launch()
		ready := make(chan struct{})
		begin = make(chan struct{})
		go r.pace(p, ready, begin)
		<-ready
	}
	p.start = time.Now()

	var stopTimer *time.Timer
	if dur > 0 {
		hard := dur
		if p.open {
			hard += r.cfg.Timeout // drain the backlog due before the end
		}
		stopTimer = time.AfterFunc(hard, p.halt)
	}
	finished := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			p.cancel.Store(true)
			p.halt()
		case <-finished:
		}
	}()
	var progressDone chan struct{}
	if measured && r.cfg.Progress != nil {
		progressDone = make(chan struct{})
		go r.progress(p, finished, progressDone)
	}

	if p.open {
		close(begin)
	} else {
		launch()
	}
	wg.Wait()
	elapsed := time.Since(p.start)
	if stopTimer != nil {
		stopTimer.Stop()
	}
	close(finished)
	if progressDone != nil {
		<-progressDone
	}
	return elapsed
}

func (r *runner) closedLoop(p *phase, w *worker) {
	for !p.stop.Load() {
		if p.budget > 0 && p.ticket.Add(1) > p.budget {
			return
		}
		now := p.now()
		if p.durNs > 0 && now >= p.durNs {
			return
		}
		r.do(w, p.targetAt(now), -1, p)
	}
}

// do sends one request to target ti and records it. sched < 0 measures from
// the send; otherwise from the scheduled start sched (ns since phase start).
func (r *runner) do(w *worker, ti int, sched int64, p *phase) {
	t := r.targets[ti]
	route, e := r.wl.Pick(&w.r)
	w.buf = r.wl.AppendBody(w.buf[:0], &w.r, e)
	hc := w.conns[ti]
	code, sentAt, err := hc.RoundTrip(t.heads[route], w.buf)
	parsed := time.Now()
	r.record(w, p, ti, sched, int64(sentAt.Sub(p.start)), parsed, code, err, hc)
}

// record counts one request of target ti, sent at sent (ns since the phase
// start), its answer parsed at parsed. sched < 0 measures from the send;
// otherwise from the scheduled start sched.
func (r *runner) record(w *worker, p *phase, ti int, sched, sent int64, parsed time.Time, code int, err error, hc *httpconn.Conn) {
	end := int64(parsed.Sub(p.start))
	st := &w.st[ti]
	// The response ends when its last byte reached our socket (the
	// kernel's receive timestamp), not when this goroutine was woken and
	// parsed it: that wait is the generator's own, kept apart in recv.
	// Both clock readings come from one time.Now, so the wall-clock
	// difference is as exact as the monotonic one.
	parsedEnd := end
	if rx := hc.Arrived(); rx > 0 && err == nil {
		if d := parsed.UnixNano() - rx; d >= 0 && d < end-sent {
			end -= d
			st.recv.Record(d)
		}
	}
	start := sched
	if start < 0 {
		start = sent
	} else {
		st.lag.Record(sent - sched)
	}
	if err == nil {
		st.client.Record(parsedEnd - start)
	}
	if err != nil {
		st.transport[classify(err)]++
		w.errs.Add(1)
	} else {
		st.lat.Record(end - start)
		st.responses++
		if code < 0 || code >= maxStatus {
			code = 0
		}
		st.status[code]++
		if code < 200 || code > 299 {
			w.errs.Add(1)
		}
	}
	w.done.Add(1)
}

func (r *runner) progress(p *phase, finished <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(r.cfg.ProgressEvery)
	defer tick.Stop()
	var line []byte
	for {
		select {
		case <-finished:
			fmt.Fprint(r.cfg.Progress, "\r\033[K")
			return
		case <-tick.C:
		}
		var n, errs uint64
		for _, w := range r.all {
			n += w.done.Load()
			errs += w.errs.Load()
		}
		el := time.Since(p.start)
		line = append(line[:0], '\r')
		line = fmt.Appendf(line, "%6.1fs  %d requests  %.0f req/s  %d errors", el.Seconds(), n, float64(n)/el.Seconds(), errs)
		if p.open {
			due := int64(float64(el) / p.interval)
			if p.budget > 0 && due > p.budget {
				due = p.budget
			}
			backlog := due - int64(n)
			if backlog < 0 {
				backlog = 0
			}
			line = fmt.Appendf(line, "  backlog %d", backlog)
		}
		line = append(line, "\033[K"...)
		r.cfg.Progress.Write(line)
	}
}

func (r *runner) result(elapsed time.Duration, cpu report.CPUUsage) *report.Result {
	res := &report.Result{Mode: "closed", Connections: r.cfg.Connections, Rate: r.cfg.Rate, Elapsed: elapsed, CPU: cpu}
	if r.cfg.Rate > 0 {
		res.Mode = "open"
	}
	for ti, t := range r.targets {
		tr := report.TargetResult{Name: t.ep.name, Latency: new(hist.Histogram), SendLag: new(hist.Histogram), RecvDelay: new(hist.Histogram), Client: new(hist.Histogram), Status: map[int]uint64{}, Transport: map[string]uint64{}}
		tr.Elapsed = elapsed
		if len(r.targets) > 1 {
			tr.Elapsed = time.Duration(sliceTime(int64(elapsed), int64(r.cfg.CompareSlice), ti))
		}
		for _, w := range r.all {
			st := &w.st[ti]
			tr.Latency.Merge(&st.lat)
			tr.SendLag.Merge(&st.lag)
			tr.RecvDelay.Merge(&st.recv)
			tr.Client.Merge(&st.client)
			tr.Responses += st.responses
			tr.Unsent += st.unsent
			for code, n := range st.status {
				if n > 0 {
					tr.Status[code] += n
				}
			}
			for k, n := range st.transport {
				if n > 0 {
					tr.Transport[transportNames[k]] += n
				}
			}
		}
		res.Targets = append(res.Targets, tr)
	}
	return res
}

// sliceTime is how much of [0, total) falls in the slices of target ti when
// slices of length slice alternate 0, 1, 0, 1, ….
func sliceTime(total, slice int64, ti int) int64 {
	if slice <= 0 {
		return total
	}
	full := total / slice
	rest := total % slice
	own := full / 2
	if full%2 == 1 && ti == 0 {
		own++
	}
	t := own * slice
	if int(full&1) == ti {
		t += rest
	}
	return t
}
