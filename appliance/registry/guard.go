package registry

import (
	"os"
	"os/signal"
	"time"

	"github.com/recotem/recotem/format"
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
// that request with a 503 (the appliance's part) and reports the address
// to Fault, which marks the model and wakes the guard, instead of killing
// the process. docs/format.md §5 gives the guarantees per file system.
type guard struct {
	kick chan struct{} // a check is wanted (tick, fault); capacity 1
	sig  chan os.Signal
	stop chan struct{}
	done chan struct{}
}

func (r *Registry) startGuard() {
	g := &guard{kick: make(chan struct{}, 1), sig: make(chan os.Signal, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if format.LeaseSignal != nil {
		signal.Notify(g.sig, format.LeaseSignal)
	}
	r.guard = g
	go r.guardLoop(g)
}

func (r *Registry) stopGuard() {
	g := r.guard
	if g == nil {
		return
	}
	signal.Stop(g.sig)
	close(g.stop)
	<-g.done
	r.guard = nil
}

// kickGuard asks for a check without blocking.
func (r *Registry) kickGuard() {
	if g := r.guard; g != nil {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
}

func (r *Registry) guardLoop(g *guard) {
	defer close(g.done)
	for {
		select {
		case <-g.stop:
			return
		case <-g.sig:
		case <-g.kick:
		}
		r.guardCheck()
	}
}

// guardCheck moves every model whose file changed off its mapping.
func (r *Registry) guardCheck() {
	for _, e := range r.Snapshot() {
		l := e.Acquire()
		if l == nil {
			continue
		}
		if l.art != nil {
			why := l.art.Changed()
			if why == "" && l.faulted.Load() {
				why = "a request faulted reading the mapped file"
			}
			if why != "" {
				r.rehome(e, l, why)
			}
		}
		l.Release()
	}
}

// rehome replaces l (held by the caller) with a private copy of its
// verified bytes, or withdraws it when the bytes are no longer there.
func (r *Registry) rehome(e *Entry, l *Model, why string) {
	start := time.Now()
	e.m.FileChanged.Inc()
	r.log.Warn("artifact_file_changed", "name", e.name, "path", l.path, "reason", why, "model_version", l.Version)
	nl, err := r.privateCopy(e, l)
	if err != nil {
		e.m.Rehome[1].Inc()
		if e.cur.CompareAndSwap(l, nil) {
			l.Release()
			e.m.ModelLoaded.Set(0)
			setResidency(e.m, nil)
		}
		msg := clipError("artifact file changed under the served model and its verified bytes could not be kept: " + canonicalError(err))
		e.errText.Store(&msg)
		r.log.Error("artifact_withdrawn", "name", e.name, "path", l.path, "error", msg, "model_version", l.Version)
	} else {
		e.m.Rehome[0].Inc()
		if e.cur.CompareAndSwap(l, nl) {
			l.Release()
			setResidency(e.m, nl)
			r.log.Info("artifact_private_copy", "name", e.name, "model_version", nl.Version, "bytes", nl.art.Size,
				"seconds", time.Since(start).Seconds())
		} else {
			nl.Release() // the watcher swapped meanwhile
		}
	}
	// Whatever the file holds now is a candidate: load it on the next tick
	// even if its marker looks unchanged.
	e.reloadNow.Store(true)
}

// privateCopy is l with its bytes in private memory: same version, same
// metadata, a fresh result cache.
func (r *Registry) privateCopy(e *Entry, l *Model) (*Model, error) {
	art, err := l.art.Copy()
	if err != nil {
		return nil, err
	}
	op, err := scoringOver(art)
	if err != nil {
		return nil, err
	}
	op.path = l.path // an object store's URI stays the model's path
	nl := r.newModel(e, op)
	nl.LoadedAt = l.LoadedAt
	nl.rehomed = true
	nl.metaFrags, nl.metaDegraded, nl.hasMeta = l.metaFrags, l.metaDegraded, l.hasMeta
	nl.LegacyJSON, nl.V1Prefix = l.LegacyJSON, l.V1Prefix
	return nl, nil
}

// Fault marks every model whose mapping holds addr (a request faulted
// reading it) and wakes the guard, which withdraws it or moves it to a
// private copy.
func (r *Registry) Fault(addr uintptr) {
	for _, e := range r.Snapshot() {
		if l := e.cur.Load(); l != nil && l.art != nil && l.art.Contains(addr) {
			l.faulted.Store(true)
		}
	}
	r.kickGuard()
}
