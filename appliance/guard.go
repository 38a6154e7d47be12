package appliance

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/valyala/fasthttp"
)

// The guard keeps the bytes a model answers from equal to the bytes that
// were verified, whatever happens to its file.
//
// Served artifacts are format.Leased: a shared read-only mapping of the
// file under a read lease. A writer that opens the file for writing (a
// `cp` over it, an editor, `dd conv=notrunc`) or truncates it is held by
// the kernel, and the kernel sends format.LeaseSignal. The guard then
// copies the verified bytes into private memory (format.Artifact.Copy,
// checked against the model's sha256), publishes the copy in the model's
// place (same version, same answers) and drops the registry's reference
// to the mapping. The mapping is unmapped, and the lease given up, when
// its last in-flight request is done; only then does the writer go on.
// The watcher then sees the file change and loads it like any new
// artifact; a bad file never replaces the copy. When the copy cannot be
// made (the kernel's lease-break-time ran out and the file was truncated
// under the mapping) the model is withdrawn: 503 and last_load_error until
// a good artifact is loaded.
//
// As a last line, request goroutines run with debug.SetPanicOnFault: a
// fault on a mapped page (which the lease should make impossible) fails
// that request with a 503 and wakes the guard instead of killing the
// process. docs/format.md §5 gives the guarantees per file system.
type guard struct {
	kick chan struct{} // a check is wanted (tick, fault); capacity 1
	sig  chan os.Signal
	stop chan struct{}
	done chan struct{}
}

func (a *app) startGuard() {
	g := &guard{kick: make(chan struct{}, 1), sig: make(chan os.Signal, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if format.LeaseSignal != nil {
		signal.Notify(g.sig, format.LeaseSignal)
	}
	a.guard = g
	go a.guardLoop(g)
}

func (a *app) stopGuard() {
	g := a.guard
	if g == nil {
		return
	}
	signal.Stop(g.sig)
	close(g.stop)
	<-g.done
	a.guard = nil
}

// kickGuard asks for a check without blocking.
func (a *app) kickGuard() {
	if g := a.guard; g != nil {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
}

func (a *app) guardLoop(g *guard) {
	defer close(g.done)
	for {
		select {
		case <-g.stop:
			return
		case <-g.sig:
		case <-g.kick:
		}
		a.guardCheck()
	}
}

// guardCheck moves every model whose file changed off its mapping.
func (a *app) guardCheck() {
	for _, e := range a.reg.snapshot() {
		l := e.acquire()
		if l == nil {
			continue
		}
		if l.art != nil {
			why := l.art.Changed()
			if why == "" && l.faulted.Load() {
				why = "a request faulted reading the mapped file"
			}
			if why != "" {
				a.rehome(e, l, why)
			}
		}
		l.release()
	}
}

// rehome replaces l (held by the caller) with a private copy of its
// verified bytes, or withdraws it when the bytes are no longer there.
func (a *app) rehome(e *entry, l *loaded, why string) {
	start := time.Now()
	e.m.fileChanged.Inc()
	a.log.Warn("artifact_file_changed", "name", e.name, "path", l.path, "reason", why, "model_version", l.version)
	nl, err := a.privateCopy(e, l)
	if err != nil {
		e.m.rehome[1].Inc()
		if e.cur.CompareAndSwap(l, nil) {
			l.release()
			e.m.modelLoaded.Set(0)
			e.m.setResidency(nil)
		}
		msg := clipError("artifact file changed under the served model and its verified bytes could not be kept: " + canonicalError(err))
		e.errText.Store(&msg)
		a.log.Error("artifact_withdrawn", "name", e.name, "path", l.path, "error", msg, "model_version", l.version)
	} else {
		e.m.rehome[0].Inc()
		if e.cur.CompareAndSwap(l, nl) {
			l.release()
			e.m.setResidency(nl)
			a.log.Info("artifact_private_copy", "name", e.name, "model_version", nl.version, "bytes", nl.art.Size,
				"seconds", time.Since(start).Seconds())
		} else {
			nl.release() // the watcher swapped meanwhile
		}
	}
	// Whatever the file holds now is a candidate: load it on the next tick
	// even if its marker looks unchanged.
	e.reloadNow.Store(true)
}

// privateCopy is l with its bytes in private memory: same version, same
// metadata, a fresh result cache.
func (a *app) privateCopy(e *entry, l *loaded) (*loaded, error) {
	art, err := l.art.Copy()
	if err != nil {
		return nil, err
	}
	op, err := scoringOver(art)
	if err != nil {
		return nil, err
	}
	op.path = l.path // an object store's URI stays the model's path
	nl := a.newLoaded(e, op)
	nl.loadedAt = l.loadedAt
	nl.rehomed = true
	nl.metaFrags, nl.metaDegraded, nl.hasMeta = l.metaFrags, l.metaDegraded, l.hasMeta
	nl.legacyModel, nl.v1Prefix = l.legacyModel, l.v1Prefix
	return nl, nil
}

// setResidency sets the residency gauges to l's (all 0 when l is nil).
func (m *recipeMetrics) setResidency(l *loaded) {
	r := -1
	if l != nil && l.art != nil {
		r = int(l.art.Residency())
	}
	for i, g := range m.residencyG {
		if g == nil {
			continue
		}
		v := 0.0
		if i == r {
			v = 1
		}
		g.Set(v)
	}
}

// faultGuard arms the request goroutine so that a fault on a mapped page
// panics instead of killing the process; recoverFault turns that panic
// into a 503.
func faultGuard() { debug.SetPanicOnFault(true) }

// recoverFault is deferred by the request handler.
func (a *app) recoverFault(ctx *fasthttp.RequestCtx, r *request) {
	rec := recover()
	if rec == nil {
		return
	}
	fe, ok := rec.(interface{ Addr() uintptr })
	if !ok {
		panic(rec)
	}
	a.met.requestFaults.Inc()
	a.log.Error("request_memory_fault", "addr", fmt.Sprintf("%#x", fe.Addr()), "path", string(ctx.Path()), "request_id", string(r.rid))
	for _, e := range a.reg.snapshot() {
		if l := e.cur.Load(); l != nil && l.art != nil && l.art.Contains(fe.Addr()) {
			l.faulted.Store(true)
		}
	}
	ctx.Response.Reset()
	ctx.Response.Header.SetCanonical(hdrRequestID, r.rid)
	writeErr(ctx, r.out, fasthttp.StatusServiceUnavailable, "the model's artifact changed on disk while it was read; retry", "RECIPE_UNAVAILABLE", nil)
	a.kickGuard()
}
