package appliance

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
)

const maxParallelStats = 16

// watch runs ticks until stopWatcher: sleep interval·(1±10%), rescan the
// recipes directory, then poll every artifact.
func (a *app) watch(interval time.Duration) {
	defer close(a.watchDone)
	defer a.log.Info("artifact_watcher_stopped")
	for {
		jit := 1 + 0.1*(2*rand.Float64()-1)
		sleep := max(time.Duration(float64(interval)*jit), 100*time.Millisecond)
		t := time.NewTimer(sleep)
		select {
		case <-a.watchStop:
			t.Stop()
			return
		case <-t.C:
		}
		a.safeTick(interval)
	}
}

func (a *app) safeTick(interval time.Duration) {
	defer func() {
		if rec := recover(); rec != nil {
			a.met.watcherUnhandled.Inc()
			a.tickFails++
			a.log.Error("artifact_watcher_unhandled_error", "error", clipError(fmt.Sprint(rec)), "stack", string(debug.Stack()))
			if a.tickFails >= 5 && !a.unhealthy {
				a.unhealthy = true
				a.log.Error("artifact_watcher_unhealthy", "consecutive_failures", a.tickFails)
				for _, e := range a.reg.snapshot() {
					if e.errKind == "" {
						e.setErr("unhealthy", "watcher unhealthy")
					}
				}
			}
		}
	}()
	a.tick(interval)
	a.tickFails = 0
	if a.unhealthy {
		a.unhealthy = false
		a.log.Info("artifact_watcher_recovery")
		for _, e := range a.reg.snapshot() {
			if e.errKind == "unhealthy" {
				e.clearErr()
			}
		}
	}
}

// tickHook lets tests inject a failing tick.
var tickHook atomic.Pointer[func()]

func (a *app) tick(interval time.Duration) {
	if f := tickHook.Load(); f != nil {
		(*f)()
	}
	a.rescan()
	a.poll(interval)
	a.kickGuard() // a lease break whose signal was missed is seen here
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

func (a *app) rescan() {
	sig := dirSignature(a.cfg.RecipesDir)
	if sig == a.dirSig && !strings.HasPrefix(sig, "error:") {
		return
	}
	infos, problems, err := a.cfg.Loader.LoadDir(a.cfg.RecipesDir)
	if err != nil {
		class := "dir_iter_" + errClass(err)
		a.met.dirScanFailure(class)
		a.log.Error("recipes_dir_scan_error", "path", a.cfg.RecipesDir, "error", clipError(err.Error()), "error_class", class)
		for _, e := range a.reg.snapshot() {
			e.setErr("dir_scan", "recipes-dir scan failed: "+err.Error())
			if !e.stub {
				e.m.loadFail[reasonIndex("dir_scan")].Inc()
			}
		}
		a.dirSig = sig
		return
	}
	a.dirSig = sig
	for _, e := range a.reg.snapshot() {
		if e.errKind == "dir_scan" {
			e.clearErr()
		}
	}
	for _, e := range a.applyScan(infos, problems, false) {
		a.reload(e, true)
	}
}

func errClass(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "FileNotFoundError"
	case errors.Is(err, fs.ErrPermission):
		return "PermissionError"
	}
	return "OSError"
}

// applyScan reconciles the registry with a directory load. At start it
// registers everything and returns every entry; on rescans it returns the
// entries that need a load now (new or edited recipes, fixed YAML).
func (a *app) applyScan(infos []RecipeInfo, problems []RecipeProblem, initial bool) []*entry {
	var toLoad []*entry
	cur := *a.reg.entries.Load()
	byFile := map[string]*entry{}
	for _, e := range cur {
		byFile[e.info.File] = e
	}
	present := map[string]bool{}
	for _, info := range infos {
		present[info.Name] = true
		e, ok := cur[info.Name]
		yamlMod, _ := statMarker(info.File)
		switch {
		case initial || !ok:
			if !initial {
				a.log.Info("recipe_discovered", "name", info.Name, "file", info.File)
			}
			if old := byFile[info.File]; old != nil && old.stub && !initial {
				a.log.Info("recipe_yaml_failure_recovered", "name", info.Name, "file", info.File)
				a.dropEntry(old, false)
			}
			ne := &entry{name: info.Name, info: info, m: a.met.forRecipe(info.Name), yamlMod: yamlMod}
			ne.m.modelLoaded.Set(0)
			a.reg.put(ne)
			toLoad = append(toLoad, ne)
		case e.stub:
			// a stub by stem now has a valid recipe with that name
			a.log.Info("recipe_yaml_failure_recovered", "name", info.Name, "file", info.File)
			e.stub = false
			e.info = info
			e.yamlMod = yamlMod
			e.clearErr()
			toLoad = append(toLoad, e)
		default:
			if e.errKind == "yaml" {
				a.log.Info("recipe_yaml_failure_recovered", "name", info.Name, "file", info.File)
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
				a.log.Error("recipe_security_violation_skipped", "file", p.File, "error_class", "RecipeError", "error", clipError(p.Err.Error()), "category", "security")
			case p.Duplicate:
				a.log.Warn("recipe_duplicate_name_skipped", "file", p.File, "name", p.Name)
			default:
				a.log.Warn("recipe_load_error_skipped", "file", p.File, "error_class", "RecipeError", "error", clipError(p.Err.Error()))
			}
		}
		if e := byFile[p.File]; e != nil && !initial {
			present[e.name] = true
			if !e.stub && e.errKind != "yaml" {
				// a served recipe broke: keep serving
				e.setErr("yaml", "recipe YAML parse error on rescan: "+p.Err.Error())
				e.m.rescanErr.Inc()
				a.met.dirScanFailure("yaml_parse")
				a.log.Warn("recipe_rescan_load_error", "name", e.name, "file", p.File, "error", clipError(p.Err.Error()))
			}
			continue
		}
		if !initial {
			a.met.dirScanFailure("yaml_parse")
			a.log.Warn("recipe_yaml_parse_failed_on_rescan_new_file", "file", p.File, "error", clipError(p.Err.Error()))
		}
		name := stubName(p.Stem, func(n string) bool { return a.reg.get([]byte(n)) != nil })
		se := &entry{name: name, info: RecipeInfo{Name: name, File: p.File}, stub: true, m: a.met.forRecipe(name)}
		se.m.modelLoaded.Set(0)
		se.setErr("yaml", msg)
		a.reg.put(se)
		present[name] = true
		if initial {
			toLoad = append(toLoad, se)
		}
	}
	if initial {
		a.log.Info("recipes_directory_loaded_lenient", "path", a.cfg.RecipesDir, "ok", len(infos), "errors", len(problems))
		return toLoad
	}
	for _, e := range a.reg.snapshot() {
		if !present[e.name] {
			a.log.Info("recipe_removed", "name", e.name, "file", e.info.File)
			a.dropEntry(e, true)
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

func (a *app) dropEntry(e *entry, gauge bool) {
	a.reg.remove(e.name)
	if gauge {
		e.m.modelLoaded.Set(0)
	}
	if old := e.cur.Swap(nil); old != nil {
		old.release()
	}
	e.m.setResidency(nil)
}

type statResult struct {
	e       *entry
	m       fileMarker
	err     error
	timeout bool
}

// poll stats every artifact (≤16 at once, each with its own timeout) and
// handles the changes in registry order.
func (a *app) poll(interval time.Duration) {
	entries := a.reg.snapshot()
	timeout := max(time.Second, min(interval, 30*time.Second))
	results := make([]statResult, len(entries))
	sem := make(chan struct{}, maxParallelStats)
	var wg sync.WaitGroup
	for i, e := range entries {
		if e.stub {
			continue
		}
		select {
		case <-a.watchStop:
			return // shutting down: queued stats are dropped
		case sem <- struct{}{}:
		}
		wg.Add(1)
		go func(i int, e *entry) {
			defer wg.Done()
			defer func() { <-sem }()
			done := make(chan statResult, 1)
			go func() {
				m, err := a.artifactMarker(e.info.OutputPath, timeout)
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
	for _, r := range results {
		if r.e == nil {
			continue
		}
		select {
		case <-a.watchStop:
			return
		default:
		}
		a.handleStat(r, timeout)
	}
}

func (a *app) handleStat(r statResult, timeout time.Duration) {
	e := r.e
	switch {
	case r.timeout:
		a.log.Warn("artifact_stat_timeout", "recipe_name", e.name, "timeout", timeout.Seconds())
		a.met.dirScanFailure("stat_timeout")
		e.m.loadFail[reasonIndex("timeout")].Inc()
		e.setErr("timeout", fmt.Sprintf("stat timeout after %gs", timeout.Seconds()))
		return
	case r.err != nil && errors.Is(r.err, fs.ErrNotExist):
		if e.errKind != "missing" {
			a.log.Warn("artifact_disappeared", "name", e.name, "path", e.info.OutputPath)
			e.m.loadFail[reasonIndex("read")].Inc()
			e.setErr("missing", "artifact missing or unreadable")
		}
		e.hasMarker = false
		return
	case r.err != nil:
		class := errClass(r.err)
		if e.statClasses == nil {
			e.statClasses = map[string]bool{}
		}
		if !e.statClasses[class] {
			e.statClasses[class] = true
			a.log.Warn("artifact_stat_failed", "recipe", e.name, "error_class", class, "error", clipError(r.err.Error()))
		}
		e.m.statFail.Inc()
		e.setErr("stat", "stat failed: "+class)
		return
	}
	if e.hasMarker && r.m == e.marker && !e.reloadNow.Load() {
		if e.errKind == "timeout" || e.errKind == "stat" {
			e.clearErr()
		}
		return
	}
	a.reload(e, false)
}

// reload compares the artifact's sha256 with the loaded one and swaps when
// the bytes changed. force skips the comparison (new or edited recipes).
func (a *app) reload(e *entry, force bool) {
	if e.stub {
		return
	}
	e.reloadNow.Store(false)
	m, err := a.artifactMarker(e.info.OutputPath, a.statTimeout())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if e.errKind != "missing" {
				if !force {
					a.log.Warn("artifact_disappeared", "name", e.name, "path", e.info.OutputPath)
				}
				e.m.loadFail[reasonIndex("read")].Inc()
				e.setErr("missing", "artifact missing or unreadable")
			}
			return
		}
		e.setErr("stat", "stat failed: "+errClass(err))
		return
	}
	e.marker, e.hasMarker = m, true
	cur := e.cur.Load()
	if !force && cur != nil {
		sum, err := a.fileSHA(e.info.OutputPath)
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
	l, err := a.loadModel(e)
	if err != nil {
		a.loadFailed(e, err)
		return
	}
	e.postHMAC = 0
	a.publish(e, l)
	e.clearErr()
	if cur == nil {
		// First model of a discovered or stub recipe: a load, not a swap.
		a.log.Info("recipe_loaded", "name", e.name, "kid", format.SafeKid(l.kid), "trained_at", l.trainedAt, "best_class", l.bestClass)
		return
	}
	e.m.swapOK.Inc()
	a.log.Info("artifact_hot_swapped", "name", e.name, "kid", format.SafeKid(l.kid), "trained_at", l.trainedAt, "model_version", l.version)
}

func (a *app) loadFailed(e *entry, err error) {
	reason := loadReason(err)
	msg := canonicalError(err)
	e.setErr("load", msg)
	e.m.loadFail[reasonIndex(reason)].Inc()
	e.m.swapErr.Inc()
	if e.cur.Load() == nil {
		e.m.modelLoaded.Set(0)
	}
	kid := a.kidOf(e.info.OutputPath)
	a.log.Error("artifact_load_failed", "name", e.name, "kid", kid, "error", msg, "reason", reason)
	if reason == "read" {
		a.log.Warn("artifact_read_failed", "name", e.name, "error", msg)
	} else if reason == "unexpected" {
		a.log.Error("artifact_load_unexpected_error", "name", e.name, "error", msg)
	}
	switch reason {
	case "deserialize", "header_json", "version_skew", "metadata":
		e.postHMAC++
		if e.postHMAC == 3 {
			a.log.Error("artifact_repeated_post_hmac_failure", "name", e.name, "kid", kid, "count", e.postHMAC)
		}
	default:
		e.postHMAC = 0
	}
}

// fileSHA hashes the resolved artifact file (≤ artifact cap).
func (a *app) fileSHA(path string) ([32]byte, error) {
	if blob.IsRemote(path) {
		return a.remoteSHA(path)
	}
	lim := a.cfg.Limits.MaxArtifactBytes
	if lim == 0 {
		lim = 2 << 30
	}
	target, _, err := format.ResolvePointer(path, lim)
	if err != nil {
		return [32]byte{}, err
	}
	f, err := os.Open(target)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, lim+1)); err != nil {
		return [32]byte{}, err
	}
	var s [32]byte
	h.Sum(s[:0])
	return s, nil
}

// recipeFiles lists the *.yaml children in filename order (tests).
func recipeFiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	sort.Strings(m)
	return m
}
