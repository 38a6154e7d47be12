package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recotem/recotem/appliance/registry/store"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/recotem/recotem/format"
)

const maxParallelStats = 16

// StartWatcher logs artifact_watcher_started and starts the watcher
// goroutine: every Options.WatchInterval (±10 %) it rescans the recipes
// directory, then polls every artifact and loads what changed. It runs
// until StopWatcher or until ctx is done; its loads run under ctx.
func (r *Registry) StartWatcher(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	r.watchCancel = cancel
	r.watchDone = make(chan struct{})
	interval := r.opt.watchInterval()
	r.log.Info("artifact_watcher_started", "interval", interval.Seconds())
	go r.watch(ctx, interval)
}

// StopWatcher stops the watcher (abandoning its current stats and loads)
// and waits up to join for it; after that it logs
// artifact_watcher_join_timeout and returns.
func (r *Registry) StopWatcher(join time.Duration) {
	if r.watchCancel == nil {
		return
	}
	r.watchCancel()
	select {
	case <-r.watchDone:
	case <-time.After(join):
		r.log.Warn("artifact_watcher_join_timeout", "timeout", join.Seconds())
	}
	r.watchCancel = nil
}

// watch runs ticks until ctx is done: sleep interval·(1±10%), rescan the
// recipes directory, then poll every artifact.
func (r *Registry) watch(ctx context.Context, interval time.Duration) {
	defer close(r.watchDone)
	defer r.log.Info("artifact_watcher_stopped")
	for {
		jit := 1 + 0.1*(2*rand.Float64()-1)
		sleep := max(time.Duration(float64(interval)*jit), 100*time.Millisecond)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		r.safeTick(ctx, interval)
	}
}

func (r *Registry) safeTick(ctx context.Context, interval time.Duration) {
	defer func() {
		if rec := recover(); rec != nil {
			r.tel.WatcherUnhandled.Inc()
			r.tickFails++
			r.log.Error("artifact_watcher_unhandled_error", "error", clipError(fmt.Sprint(rec)), "stack", string(debug.Stack()))
			if r.tickFails >= 5 && !r.unhealthy {
				r.unhealthy = true
				r.log.Error("artifact_watcher_unhealthy", "consecutive_failures", r.tickFails)
				for _, e := range r.Snapshot() {
					if e.errKind == "" {
						e.setErr("unhealthy", "watcher unhealthy")
					}
				}
			}
		}
	}()
	r.tick(ctx, interval)
	r.tickFails = 0
	if r.unhealthy {
		r.unhealthy = false
		r.log.Info("artifact_watcher_recovery")
		for _, e := range r.Snapshot() {
			if e.errKind == "unhealthy" {
				e.clearErr()
			}
		}
	}
}

// tickHook lets tests inject a failing tick.
var tickHook atomic.Pointer[func()]

func (r *Registry) tick(ctx context.Context, interval time.Duration) {
	if f := tickHook.Load(); f != nil {
		(*f)()
	}
	r.rescan(ctx)
	r.poll(ctx, interval)
	r.kickGuard() // a lease break whose signal was missed is seen here
}

// dirSignature fingerprints the *.yaml children (name, mtime, size), so an
// unchanged directory is not re-parsed.
func dirSignature(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "error:" + err.Error()
	}
	var b strings.Builder
	for _, de := range ents {
		if !strings.HasSuffix(de.Name(), ".yaml") {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%s|%d|%d\n", de.Name(), info.ModTime().UnixNano(), info.Size())
	}
	return b.String()
}

func (r *Registry) rescan(ctx context.Context) {
	sig := dirSignature(r.opt.RecipesDir)
	if sig == r.dirSig && !strings.HasPrefix(sig, "error:") {
		return
	}
	infos, problems, err := r.opt.Loader.LoadDir(r.opt.RecipesDir)
	if err != nil {
		class := "dir_iter_" + store.ErrClass(err)
		r.tel.DirScanFailure(class)
		r.log.Error("recipes_dir_scan_error", "path", r.opt.RecipesDir, "error", clipError(err.Error()), "error_class", class)
		for _, e := range r.Snapshot() {
			e.setErr("dir_scan", "recipes-dir scan failed: "+err.Error())
			if !e.stub {
				e.m.LoadFail[telemetry.ReasonIndex("dir_scan")].Inc()
			}
		}
		r.dirSig = sig
		return
	}
	r.dirSig = sig
	for _, e := range r.Snapshot() {
		if e.errKind == "dir_scan" {
			e.clearErr()
		}
	}
	for _, e := range r.applyScan(infos, problems, false) {
		r.reload(ctx, e, true)
	}
}

// applyScan reconciles the registry with a directory load. At start it
// registers everything and returns every entry; on rescans it returns the
// entries that need a load now (new or edited recipes, fixed YAML).
func (r *Registry) applyScan(infos []RecipeInfo, problems []RecipeProblem, initial bool) []*Entry {
	var toLoad []*Entry
	cur := *r.entries.Load()
	byFile := map[string]*Entry{}
	for _, e := range cur {
		byFile[e.info.File] = e
	}
	present := map[string]bool{}
	for _, info := range infos {
		present[info.Name] = true
		e, ok := cur[info.Name]
		yamlMod, _ := store.StatMarker(info.File)
		switch {
		case initial || !ok:
			if !initial {
				r.log.Info("recipe_discovered", "name", info.Name, "file", info.File)
			}
			if old := byFile[info.File]; old != nil && old.stub && !initial {
				r.log.Info("recipe_yaml_failure_recovered", "name", info.Name, "file", info.File)
				r.dropEntry(old, false)
			}
			ne := &Entry{name: info.Name, info: info, m: r.tel.ForRecipe(info.Name), yamlMod: yamlMod}
			ne.m.ModelLoaded.Set(0)
			r.put(ne)
			toLoad = append(toLoad, ne)
		case e.stub:
			// a stub by stem now has a valid recipe with that name
			r.log.Info("recipe_yaml_failure_recovered", "name", info.Name, "file", info.File)
			e.stub = false
			e.info = info
			e.yamlMod = yamlMod
			e.clearErr()
			toLoad = append(toLoad, e)
		default:
			if e.errKind == "yaml" {
				r.log.Info("recipe_yaml_failure_recovered", "name", info.Name, "file", info.File)
				e.clearErr()
			}
			if e.info.OutputPath != info.OutputPath || !sameMeta(e.info.Metadata, info.Metadata) || e.yamlMod != yamlMod {
				changed := e.info.OutputPath != info.OutputPath || !sameMeta(e.info.Metadata, info.Metadata)
				e.info = info
				e.yamlMod = yamlMod
				if changed {
					e.hasMarker = false
					toLoad = append(toLoad, e)
				}
			}
		}
	}
	for _, p := range problems {
		msg := "YAML parse failed: " + p.Err.Error()
		if p.Msg != "" {
			msg = p.Msg
		} else if p.Duplicate {
			msg = "duplicate recipe name: " + p.Name
		}
		if initial {
			switch {
			case p.Security:
				r.log.Error("recipe_security_violation_skipped", "file", p.File, "error_class", "RecipeError", "error", clipError(p.Err.Error()), "category", "security")
			case p.Duplicate:
				r.log.Warn("recipe_duplicate_name_skipped", "file", p.File, "name", p.Name)
			default:
				r.log.Warn("recipe_load_error_skipped", "file", p.File, "error_class", "RecipeError", "error", clipError(p.Err.Error()))
			}
		}
		if e := byFile[p.File]; e != nil && !initial {
			present[e.name] = true
			if !e.stub && e.errKind != "yaml" {
				// a served recipe broke: keep serving
				e.setErr("yaml", "recipe YAML parse error on rescan: "+p.Err.Error())
				e.m.RescanErr.Inc()
				r.tel.DirScanFailure("yaml_parse")
				r.log.Warn("recipe_rescan_load_error", "name", e.name, "file", p.File, "error", clipError(p.Err.Error()))
			}
			continue
		}
		if !initial {
			r.tel.DirScanFailure("yaml_parse")
			r.log.Warn("recipe_yaml_parse_failed_on_rescan_new_file", "file", p.File, "error", clipError(p.Err.Error()))
		}
		name := stubName(p.Stem, func(n string) bool { return r.Get([]byte(n)) != nil })
		se := &Entry{name: name, info: RecipeInfo{Name: name, File: p.File}, stub: true, m: r.tel.ForRecipe(name)}
		se.m.ModelLoaded.Set(0)
		se.setErr("yaml", msg)
		r.put(se)
		present[name] = true
		if initial {
			toLoad = append(toLoad, se)
		}
	}
	if initial {
		r.log.Info("recipes_directory_loaded_lenient", "path", r.opt.RecipesDir, "ok", len(infos), "errors", len(problems))
		return toLoad
	}
	for _, e := range r.Snapshot() {
		if !present[e.name] {
			r.log.Info("recipe_removed", "name", e.name, "file", e.info.File)
			r.dropEntry(e, true)
		}
	}
	return toLoad
}

func sameMeta(x, y *MetadataSpec) bool {
	if x == nil || y == nil {
		return x == y
	}
	return fmt.Sprint(*x) == fmt.Sprint(*y)
}

func (r *Registry) dropEntry(e *Entry, gauge bool) {
	r.remove(e.name)
	if gauge {
		e.m.ModelLoaded.Set(0)
	}
	if old := e.cur.Swap(nil); old != nil {
		old.Release()
	}
	setResidency(e.m, nil)
}

type statResult struct {
	e       *Entry
	m       store.Marker
	err     error
	timeout bool
}

// poll stats every artifact (≤16 at once, each with its own timeout) and
// handles the changes in registry order.
func (r *Registry) poll(ctx context.Context, interval time.Duration) {
	entries := r.Snapshot()
	timeout := max(time.Second, min(interval, 30*time.Second))
	results := make([]statResult, len(entries))
	sem := make(chan struct{}, maxParallelStats)
	var wg sync.WaitGroup
	for i, e := range entries {
		if e.stub {
			continue
		}
		select {
		case <-ctx.Done():
			return // shutting down: queued stats are dropped
		case sem <- struct{}{}:
		}
		wg.Add(1)
		go func(i int, e *Entry) {
			defer wg.Done()
			defer func() { <-sem }()
			done := make(chan statResult, 1)
			go func() {
				m, err := r.store.Marker(ctx, e.info.OutputPath, timeout)
				done <- statResult{e: e, m: m, err: err}
			}()
			t := time.NewTimer(timeout)
			defer t.Stop()
			select {
			case r := <-done:
				results[i] = r
			case <-t.C:
				results[i] = statResult{e: e, timeout: true}
			}
		}(i, e)
	}
	wg.Wait()
	for _, res := range results {
		if res.e == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		default:
		}
		r.handleStat(ctx, res, timeout)
	}
}

func (r *Registry) handleStat(ctx context.Context, res statResult, timeout time.Duration) {
	e := res.e
	switch {
	case res.timeout:
		r.log.Warn("artifact_stat_timeout", "recipe_name", e.name, "timeout", timeout.Seconds())
		r.tel.DirScanFailure("stat_timeout")
		e.m.LoadFail[telemetry.ReasonIndex("timeout")].Inc()
		e.setErr("timeout", fmt.Sprintf("stat timeout after %gs", timeout.Seconds()))
		return
	case res.err != nil && errors.Is(res.err, fs.ErrNotExist):
		if e.errKind != "missing" {
			r.log.Warn("artifact_disappeared", "name", e.name, "path", e.info.OutputPath)
			e.m.LoadFail[telemetry.ReasonIndex("read")].Inc()
			e.setErr("missing", "artifact missing or unreadable")
		}
		e.hasMarker = false
		return
	case res.err != nil:
		class := store.ErrClass(res.err)
		if e.statClasses == nil {
			e.statClasses = map[string]bool{}
		}
		if !e.statClasses[class] {
			e.statClasses[class] = true
			r.log.Warn("artifact_stat_failed", "recipe", e.name, "error_class", class, "error", clipError(res.err.Error()))
		}
		e.m.StatFail.Inc()
		e.setErr("stat", "stat failed: "+class)
		return
	}
	if e.hasMarker && res.m == e.marker && !e.reloadNow.Load() {
		if e.errKind == "timeout" || e.errKind == "stat" {
			e.clearErr()
		}
		return
	}
	r.reload(ctx, e, false)
}

// reload compares the artifact's sha256 with the loaded one and swaps when
// the bytes changed. force skips the comparison (new or edited recipes).
func (r *Registry) reload(ctx context.Context, e *Entry, force bool) {
	if e.stub {
		return
	}
	e.reloadNow.Store(false)
	m, err := r.store.Marker(ctx, e.info.OutputPath, r.opt.statTimeout())
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: the stat was abandoned
		}
		if errors.Is(err, fs.ErrNotExist) {
			if e.errKind != "missing" {
				if !force {
					r.log.Warn("artifact_disappeared", "name", e.name, "path", e.info.OutputPath)
				}
				e.m.LoadFail[telemetry.ReasonIndex("read")].Inc()
				e.setErr("missing", "artifact missing or unreadable")
			}
			return
		}
		e.setErr("stat", "stat failed: "+store.ErrClass(err))
		return
	}
	e.marker, e.hasMarker = m, true
	cur := e.cur.Load()
	if !force && cur != nil {
		sum, err := r.fileSHA(ctx, e.info.OutputPath)
		// The same bytes never swap, except to map again a model the guard
		// had to copy when its file changed (a backup copied back in place).
		if err == nil && sum == cur.sha && !cur.rehomed {
			// identical bytes with a new marker: never swap
			if e.errKind == "missing" || e.errKind == "stat" || e.errKind == "timeout" || e.errKind == "load" {
				e.clearErr()
			}
			return
		}
	}
	l, err := r.loadModel(ctx, e)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: the load was abandoned, not refused
		}
		r.loadFailed(ctx, e, err)
		return
	}
	e.postHMAC = 0
	r.publish(e, l)
	e.clearErr()
	if cur == nil {
		// First model of a discovered or stub recipe: a load, not a swap.
		r.log.Info("recipe_loaded", "name", e.name, "kid", format.SafeKid(l.Kid), "trained_at", l.TrainedAt, "best_class", l.BestClass)
		return
	}
	e.m.SwapOK.Inc()
	r.log.Info("artifact_hot_swapped", "name", e.name, "kid", format.SafeKid(l.Kid), "trained_at", l.TrainedAt, "model_version", l.Version)
}

func (r *Registry) loadFailed(ctx context.Context, e *Entry, err error) {
	reason := loadReason(err)
	msg := canonicalError(err)
	e.setErr("load", msg)
	e.m.LoadFail[telemetry.ReasonIndex(reason)].Inc()
	e.m.SwapErr.Inc()
	if e.cur.Load() == nil {
		e.m.ModelLoaded.Set(0)
	}
	kid := r.store.Kid(ctx, e.info.OutputPath)
	r.log.Error("artifact_load_failed", "name", e.name, "kid", kid, "error", msg, "reason", reason)
	if reason == "read" {
		r.log.Warn("artifact_read_failed", "name", e.name, "error", msg)
	} else if reason == "unexpected" {
		r.log.Error("artifact_load_unexpected_error", "name", e.name, "error", msg)
	}
	switch reason {
	case "deserialize", "header_json", "version_skew", "metadata":
		e.postHMAC++
		if e.postHMAC == 3 {
			r.log.Error("artifact_repeated_post_hmac_failure", "name", e.name, "kid", kid, "count", e.postHMAC)
		}
	default:
		e.postHMAC = 0
	}
}
