package registry

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/recotem/recotem/appliance/registry/store"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/recotem/recotem/format"
)

// Entry is one registered recipe (or the stub of a broken recipe file).
// Request handlers read its model and error; the watcher goroutine (and
// the initial load) own everything else.
type Entry struct {
	name    string
	info    RecipeInfo
	stub    bool // a broken or duplicate YAML file: no recipe, never loads
	cur     atomic.Pointer[Model]
	errText atomic.Pointer[string]
	m       *telemetry.Recipe
	// reloadNow asks the watcher for a load on its next tick whatever the
	// marker says (the guard sets it after the file changed under a model).
	reloadNow atomic.Bool

	// watcher state
	marker      store.Marker
	hasMarker   bool
	errKind     string // "", "missing", "stat", "timeout", "load", "yaml", "dir_scan", "unhealthy"
	statClasses map[string]bool
	postHMAC    int
	yamlMod     store.Marker
}

// Name is the recipe name (a stub's is its file stem, made unique).
func (e *Entry) Name() string { return e.name }

// Metrics are the recipe's metric handles.
func (e *Entry) Metrics() *telemetry.Recipe { return e.m }

// Loaded reports whether a model is published.
func (e *Entry) Loaded() bool { return e.cur.Load() != nil }

// LastError returns the stored error (canonical, URIs redacted, at most
// 200 characters) and whether there is one.
func (e *Entry) LastError() (string, bool) {
	if p := e.errText.Load(); p != nil {
		return *p, true
	}
	return "", false
}

// Acquire returns the current model with a reference held, or nil. The
// caller releases it with Model.Release.
func (e *Entry) Acquire() *Model {
	for {
		l := e.cur.Load()
		if l == nil {
			return nil
		}
		if l.acquire() {
			return l
		}
		// l was retired between the load and the CAS: the pointer has
		// already moved on, so read it again.
	}
}

func (e *Entry) setErr(kind, msg string) {
	e.errKind = kind
	s := clipError(msg)
	e.errText.Store(&s)
}

func (e *Entry) clearErr() {
	e.errKind = ""
	e.errText.Store(nil)
}

func (e *Entry) err() string {
	s, _ := e.LastError()
	return s
}

// Registry is the set of recipe entries and what keeps them current.
type Registry struct {
	opt   Options
	log   *slog.Logger
	tel   *telemetry.Set
	store *store.Store

	mu      sync.Mutex // serialises writers of entries
	entries atomic.Pointer[map[string]*Entry]

	guard *guard // guard.go

	// watcher (watch.go); dirSig, tickFails and unhealthy belong to its
	// goroutine (and to Open before it starts)
	watchCancel context.CancelFunc
	watchDone   chan struct{}
	dirSig      string
	tickFails   int
	unhealthy   bool
}

func newRegistry(opt Options) *Registry {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{opt: opt, log: log, tel: opt.Metrics, store: store.New(opt.Limits, opt.statTimeout(), log)}
	m := map[string]*Entry{}
	r.entries.Store(&m)
	return r
}

// Open starts the guard, reads the recipes directory leniently, registers
// every recipe (and a stub for each broken or duplicate file) and loads
// them, Options.StartupParallelism at a time. It returns when every
// initial load has finished; a load stalled on a store or a metadata
// source ends, failed, when ctx is done. Close releases what Open took.
func Open(ctx context.Context, opt Options) *Registry {
	r := newRegistry(opt)
	r.startGuard()
	r.dirSig = dirSignature(opt.RecipesDir)
	infos, problems, derr := opt.Loader.LoadDir(opt.RecipesDir)
	if derr != nil {
		r.log.Error("recipes_dir_scan_error", "path", opt.RecipesDir, "error", clipError(derr.Error()))
	}
	entries := r.applyScan(infos, problems, true)
	par := opt.StartupParallelism
	if par <= 0 {
		par = min(max(len(entries), 1), 8)
	}
	par = min(par, 32)
	r.initialLoad(ctx, entries, par)
	return r
}

// Close stops the guard and closes the blob store; serve calls it after the
// drain and the watcher's stop, when no request holds a model any more.
// Published models stay mapped until the process exits.
func (r *Registry) Close() {
	r.stopGuard()
	if err := r.store.Close(); err != nil {
		r.log.Warn("blob_store_close_failed", "error", clipError(err.Error()))
	}
}

// Get returns the entry named name, or nil.
func (r *Registry) Get(name []byte) *Entry {
	return (*r.entries.Load())[string(name)]
}

// Snapshot returns the entries in name order.
func (r *Registry) Snapshot() []*Entry {
	m := *r.entries.Load()
	out := make([]*Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Health counts the entries, those with a published model, and those with
// a published model and no stored error. It does not allocate.
func (r *Registry) Health() (total, loaded, healthy int) {
	m := *r.entries.Load()
	for _, e := range m {
		if e.cur.Load() == nil {
			continue
		}
		loaded++
		if e.errText.Load() == nil {
			healthy++
		}
	}
	return len(m), loaded, healthy
}

// Active counts the entries with a usable model (recotem_active_recipes).
func (r *Registry) Active() int {
	_, loaded, _ := r.Health()
	return loaded
}

func (r *Registry) put(e *Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.entries.Load()
	m := make(map[string]*Entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[e.name] = e
	r.entries.Store(&m)
}

func (r *Registry) remove(name string) *Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.entries.Load()
	e, ok := old[name]
	if !ok {
		return nil
	}
	m := make(map[string]*Entry, len(old))
	for k, v := range old {
		if k != name {
			m[k] = v
		}
	}
	r.entries.Store(&m)
	return e
}

// publish swaps l in and retires the previous model.
func (r *Registry) publish(e *Entry, l *Model) {
	old := e.cur.Swap(l)
	if old != nil {
		old.Release()
	}
	e.m.ModelLoaded.Set(1)
	setResidency(e.m, l)
}

// setResidency sets the residency gauges to l's (all 0 when l is nil).
func setResidency(m *telemetry.Recipe, l *Model) {
	res := -1
	if l != nil && l.art != nil {
		res = int(l.art.Residency())
	}
	m.SetResidency(res)
}

// residency is where served artifacts' bytes live (see Options.Residency).
func (r *Registry) residency() format.Residency { return r.opt.Residency }
