package bench

import (
	"time"

	"github.com/recotem/recotem/bench/httpconn"
)

// The open loop: one pacer goroutine keeps the schedule and writes each
// request on an idle connection itself; each connection's goroutine waits
// in its read for the answers (or, with no open connection or in a compare
// run, for a ticket on its job channel). See the package doc, "Hot loop".

// Open-loop connection states (worker.state).
const (
	connOff    = iota // not waiting in a read: tickets go over job
	connIdle          // waiting in a read, no request in flight: the pacer may write
	connBusy          // the pacer wrote a request; the goroutine is reading its answer
	connFailed        // the pacer's write failed and the pacer counted it
	connQuit          // the phase is over: the goroutine leaves
)

// pace is the open loop's clock: at ticket k's scheduled start k/Rate it
// takes a free connection and sends. One goroutine on its own thread keeps
// the schedule with a precise sleep (sleepFor), so nothing waits on Go's
// millisecond-grained idle timers and the measured lateness is the
// server's, not the generator's. On a connection that is open and idle the
// pacer writes the request itself (built ahead, while it waited) and the
// connection's goroutine, already parked in its read, wakes only for the
// answer: one wake-up per request besides the pacer's own, no hand-over.
// Tickets already due when the pacer wakes go out back to back. A
// connection to dial, or a compare run, gets the ticket over its job
// channel. If every connection is busy the pacer waits for one: the
// backlog waits here, and its wait counts in each request's latency and in
// its send lag. Tickets still due when the run stops are counted Unsent.
func (r *runner) pace(p *phase, ready chan<- struct{}, begin <-chan struct{}) {
	defer r.dismiss(p)
	precisePacer()
	close(ready)
	<-begin
	pw := r.pacer
	built := false
	for k := int64(0); ; k++ {
		if p.budget > 0 && k >= p.budget {
			return
		}
		sched := int64(float64(k) * p.interval)
		if p.durNs > 0 && sched >= p.durNs {
			return
		}
		if p.fast && !built {
			route, e := r.wl.Pick(&pw.r)
			pw.buf = r.wl.AppendBody(pw.buf[:0], &pw.r, e)
			pw.req = httpconn.AppendRequest(pw.req[:0], r.targets[0].heads[route], pw.buf)
			built = true
		}
		for !p.stop.Load() {
			d := sched - p.now()
			if d <= 0 {
				break
			}
			sleepFor(time.Duration(min(d, int64(50*time.Millisecond))))
		}
		var w *worker
		select {
		case w = <-p.free:
		default:
			select {
			case w = <-p.free:
			case <-p.stopped:
			}
		}
		if p.stop.Load() {
			if w != nil {
				p.free <- w
			}
			if p.cancel.Load() {
				return
			}
			// Due but never sent: its latency is at least the wait so far.
			st := &pw.st[p.targetAt(sched)]
			st.unsent++
			st.lat.Record(p.now() - sched)
			pw.done.Add(1)
			pw.errs.Add(1)
			continue
		}
		if !p.fast || !w.state.CompareAndSwap(connIdle, connBusy) {
			w.job <- k
			continue
		}
		h := w.conns[0]
		c := h.NetConn()
		w.sched.Store(sched)
		now := time.Now()
		sent := int64(now.Sub(p.start))
		w.sent.Store(sent)
		if err := h.Send(pw.req, now); err != nil && w.state.CompareAndSwap(connBusy, connFailed) {
			// Counted here; the reader, woken, drops the connection. (If
			// the reader's read failed first, it counts its own error.)
			r.record(pw, p, p.targetAt(sched), sched, sent, time.Now(), 0, err, h)
			c.SetReadDeadline(time.Unix(1, 0)) //nolint:errcheck // wakes the read; a closed conn is awake already
		}
		built = false
	}
}

// dismiss ends the open loop's workers once each is free again (those with
// a request in flight after its answer or its timeout).
func (r *runner) dismiss(p *phase) {
	for range r.workers {
		w := <-p.free
		if w.state.CompareAndSwap(connIdle, connQuit) {
			w.conns[0].NetConn().SetReadDeadline(time.Unix(1, 0)) //nolint:errcheck // wakes the read; its OnTimeout says leave
		} else {
			w.job <- -1
		}
	}
}

// openLoop is one connection's goroutine in the open loop. Between
// requests it waits in the connection's read (fast) or, with no open
// connection or in a compare run, for a ticket on its job channel (slow).
// It is in p.free exactly while it can take a ticket.
func (r *runner) openLoop(p *phase, w *worker) {
	h := w.conns[0]
	if p.fast {
		h.OnTimeout = func() bool { return r.extendRead(p, w) }
		defer func() { h.OnTimeout = nil }()
	}
	for {
		if p.fast && h.NetConn() != nil {
			w.state.Store(connIdle)
			p.free <- w
			switch r.awaitAnswers(p, w) {
			case answersLeave:
				return
			case answersOff:
				continue
			}
			// answersOffListed: the connection failed while idle and in p.free.
		} else {
			w.state.Store(connOff)
			p.free <- w
		}
		k := <-w.job
		if k < 0 || p.cancel.Load() {
			return
		}
		sched := int64(float64(k) * p.interval)
		r.do(w, p.targetAt(sched), sched, p)
	}
}

// Outcomes of awaitAnswers.
const (
	answersOff       = iota // the connection is closed; the worker is Off and not in p.free
	answersOffListed        // the connection failed while idle; the worker is Off and in p.free
	answersLeave            // the phase is over
)

// awaitAnswers reads, on an idle connection already in p.free, the answer
// to each request the pacer writes on it, until the connection closes or
// the phase ends.
func (r *runner) awaitAnswers(p *phase, w *worker) int {
	h := w.conns[0]
	for {
		code, keep, err := h.ReadResponse()
		parsed := time.Now()
		switch {
		case w.state.CompareAndSwap(connIdle, connOff):
			// Nothing in flight: the server closed an idle connection
			// (or sent something unasked).
			h.Close()
			return answersOffListed
		case w.state.CompareAndSwap(connBusy, connOff):
			sched := w.sched.Load()
			r.record(w, p, p.targetAt(sched), sched, w.sent.Load(), parsed, code, err, h)
			if err != nil || !keep {
				h.Close()
				return answersOff
			}
			w.state.Store(connIdle)
			p.free <- w
		case w.state.CompareAndSwap(connFailed, connOff):
			h.Close()
			return answersOff
		default: // connQuit
			return answersLeave
		}
	}
}

// extendRead is the open loop's OnTimeout: an idle connection waits on
// with a fresh deadline; a request in flight times out once 7/8 of
// Timeout has passed since its send, and otherwise waits until send +
// Timeout. So, as in httpconn's RoundTrip, each request gets between 7/8
// of the timeout and the whole of it, and no deadline is set per request.
func (r *runner) extendRead(p *phase, w *worker) bool {
	c, t := w.conns[0].NetConn(), r.cfg.Timeout
	switch w.state.Load() {
	case connIdle:
		c.SetReadDeadline(time.Now().Add(t)) //nolint:errcheck // a closed conn fails the next read
	case connBusy:
		sent := w.sent.Load()
		if p.now()-sent >= int64(t-t/8) {
			return false
		}
		c.SetReadDeadline(p.start.Add(time.Duration(sent) + t)) //nolint:errcheck // as above
	default:
		return false
	}
	// dismiss may have set Quit and its past deadline between the load
	// and our deadline, which would then hide its wake-up.
	return w.state.Load() != connQuit
}
