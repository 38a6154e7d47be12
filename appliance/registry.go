package appliance

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/recotem/recotem/appliance/metadata"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/fetch"
)

// entry is one registered recipe. Request handlers read cur and errText;
// the watcher goroutine (and the initial load) own everything else.
type entry struct {
	name    string
	info    RecipeInfo
	stub    bool // a broken or duplicate YAML file: no recipe, never loads
	cur     atomic.Pointer[loaded]
	errText atomic.Pointer[string]
	m       *recipeMetrics
	// reloadNow asks the watcher for a load on its next tick whatever the
	// marker says (the guard sets it after the file changed under a model).
	reloadNow atomic.Bool

	// watcher state
	marker      fileMarker
	hasMarker   bool
	errKind     string // "", "missing", "stat", "timeout", "load", "yaml", "dir_scan", "unhealthy"
	statClasses map[string]bool
	postHMAC    int
	yamlMod     fileMarker
}

type fileMarker struct {
	mod  int64
	size int64
	tag  string // object stores: VersionId/ETag marker (blob.Info.Marker)
}

func (e *entry) setErr(kind, msg string) {
	e.errKind = kind
	s := clipError(msg)
	e.errText.Store(&s)
}

func (e *entry) clearErr() {
	e.errKind = ""
	e.errText.Store(nil)
}

func (e *entry) err() string {
	if p := e.errText.Load(); p != nil {
		return *p
	}
	return ""
}

// acquire returns the current model with a reference held, or nil.
func (e *entry) acquire() *loaded {
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

type registry struct {
	mu      sync.Mutex // serialises writers
	entries atomic.Pointer[map[string]*entry]
}

func newRegistry() *registry {
	r := &registry{}
	m := map[string]*entry{}
	r.entries.Store(&m)
	return r
}

func (r *registry) get(name []byte) *entry {
	return (*r.entries.Load())[string(name)]
}

func (r *registry) snapshot() []*entry {
	m := *r.entries.Load()
	out := make([]*entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (r *registry) put(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.entries.Load()
	m := make(map[string]*entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[e.name] = e
	r.entries.Store(&m)
}

func (r *registry) remove(name string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.entries.Load()
	e, ok := old[name]
	if !ok {
		return nil
	}
	m := make(map[string]*entry, len(old))
	for k, v := range old {
		if k != name {
			m[k] = v
		}
	}
	r.entries.Store(&m)
	return e
}

// activeCount counts entries with a usable model.
func (r *registry) activeCount() int {
	n := 0
	for _, e := range *r.entries.Load() {
		if e.cur.Load() != nil {
			n++
		}
	}
	return n
}

func statMarker(path string) (fileMarker, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileMarker{}, err
	}
	return fileMarker{mod: st.ModTime().UnixNano(), size: st.Size()}, nil
}

// residency is where served artifacts' bytes live: a leased mapping
// (falling back to a private copy where the lease is refused) unless the
// configuration asks for private copies.
func (a *app) residency() format.Residency {
	switch {
	case a.cfg.CopyArtifacts:
		return format.Private
	case a.cfg.unguardedForTest:
		return format.Mapped
	}
	return format.Leased
}

// localMarker is a local artifact's marker: (mtime, size) of output.path
// as the spec has it, plus (Go) its inode and ctime and, for a pointer, the
// same four of the file it names, so that a file rewritten in place (even
// with its mtime put back) or an append_sha target changed under an
// unchanged pointer is seen.
func localMarker(path string) (fileMarker, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileMarker{}, err
	}
	m := fileMarker{mod: st.ModTime().UnixNano(), size: st.Size(), tag: identity(st)}
	if st.Size() <= format.MaxPointerBytes && st.Mode().IsRegular() {
		if b, err := os.ReadFile(path); err == nil && format.IsPointer(b) {
			target := filepath.Join(filepath.Dir(path), strings.TrimSpace(string(b)))
			if tst, err := os.Stat(target); err == nil {
				m.tag += fmt.Sprintf(" -> %s %d %d %s", filepath.Base(target), tst.ModTime().UnixNano(), tst.Size(), identity(tst))
			} else {
				m.tag += " -> " + filepath.Base(target) + " " + errClass(err)
			}
		}
	}
	return m, nil
}

// identity is a file's inode and ctime ("" where the platform has none).
func identity(st os.FileInfo) string {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("ino=%d ctime=%d", sys.Ino, sys.Ctim.Nano())
	}
	return ""
}

// loadModel opens e's artifact and joins its metadata; it does not publish.
func (a *app) loadModel(e *entry) (*loaded, error) {
	var op *opened
	var err error
	if blob.IsRemote(e.info.OutputPath) {
		op, err = a.openRemote(e.info.OutputPath)
	} else {
		op, err = a.open(e.info.OutputPath, a.ring, a.cfg.Limits, a.residency())
	}
	if err != nil {
		return nil, err
	}
	l := a.newLoaded(e, op)
	if spec := e.info.Metadata; spec != nil {
		t, err := metadata.Load(*spec, metadata.Options{Deny: a.cfg.MetadataDeny, MaxBytes: a.cfg.MaxDownloadBytes, Logger: a.log.With("recipe", e.name),
			HTTP: &fetch.Fetcher{AllowPrivate: a.cfg.HTTPAllowPrivate, Timeout: a.cfg.HTTPTimeout}, Blobs: a.blobs()})
		if err != nil {
			l.refs.Store(0)
			if l.close != nil {
				_ = l.close()
			}
			e.m.metaIndex.Inc()
			return nil, withStage("metadata", err)
		}
		n := l.model.NumItems()
		l.metaFrags = make([][]byte, n)
		l.metaDegraded = make([]bool, n)
		for i := 0; i < n; i++ {
			l.metaFrags[i], l.metaDegraded[i] = t.Fragment(l.model.ItemID(i))
		}
		l.hasMeta = true
	}
	l.legacyModel = appendLegacyModel(nil, e.name, l)
	l.v1Prefix = appendV1Prefix(nil, e.name, l.version)
	return l, nil
}

// newLoaded wraps an opened model for serving: one reference (the
// registry's), a fresh result cache, and the header facts responses show.
func (a *app) newLoaded(e *entry, op *opened) *loaded {
	l := &loaded{opened: *op}
	l.model, l.cacheBytes = withResultCache(l.model, a.cfg.ResultCacheBytes, e.m.cacheHit, e.m.cacheMiss)
	l.refs.Store(1)
	l.loadedAt = time.Now().UTC()
	l.version = "sha256:" + hex.EncodeToString(l.sha[:])
	l.versionB = []byte(l.version)
	l.trainedAt = headerString(l.fields, "trained_at")
	l.bestClass = headerString(l.fields, "best_class")
	return l
}

// publish swaps l in and retires the previous model.
func (a *app) publish(e *entry, l *loaded) {
	old := e.cur.Swap(l)
	if old != nil {
		old.release()
	}
	e.m.modelLoaded.Set(1)
	e.m.setResidency(l)
}

func headerString(f map[string]json.RawMessage, key string) string {
	raw, ok := f[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// kidOf reads the log-safe kid from an artifact file's first bytes: from
// byte 12 on, even with a bad magic; "<unknown>" when it cannot.
func (a *app) kidOf(path string) string {
	var b [45]byte
	var n int
	var target string
	if blob.IsRemote(path) {
		var head []byte
		head, target = a.remoteHead(path, len(b))
		n = copy(b[:], head)
	} else {
		var err error
		target, _, err = format.ResolvePointer(path, a.cfg.Limits.MaxArtifactBytes)
		if err != nil {
			target = path
		}
		f, err := os.Open(target)
		if err != nil {
			return "<unknown>"
		}
		defer f.Close()
		n, _ = f.Read(b[:])
	}
	reason := ""
	switch {
	case n < 13:
		reason = "too_short"
	case b[12] < 1 || b[12] > 32:
		reason = "kid_len_out_of_range"
	case n < 13+int(b[12]):
		reason = "truncated"
	}
	if reason != "" {
		a.log.Warn("kid_extraction_failed", "path", target, "reason", reason)
		return "<unknown>"
	}
	return format.SafeKid(string(b[13 : 13+int(b[12])]))
}

// initialLoad loads every entry with up to par loads at once.
func (a *app) initialLoad(entries []*entry, par int) {
	start := time.Now()
	var ok, failed atomic.Int64
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, e := range entries {
		if e.stub {
			failed.Add(1)
			a.log.Warn("recipe_not_loaded_at_startup", "name", e.name, "error", e.err(), "reason", "yaml")
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(e *entry) {
			defer wg.Done()
			defer func() { <-sem }()
			if m, err := a.artifactMarker(e.info.OutputPath, a.statTimeout()); err == nil {
				e.marker, e.hasMarker = m, true
			}
			l, err := a.loadModel(e)
			if err != nil {
				failed.Add(1)
				a.initialFailure(e, err)
				return
			}
			a.publish(e, l)
			ok.Add(1)
			if a.ring == nil {
				a.log.Warn("initial_artifact_hmac_skipped_dev", "name", e.name, "kid", format.SafeKid(l.kid))
			}
			a.log.Info("recipe_loaded", "name", e.name, "kid", format.SafeKid(l.kid), "trained_at", l.trainedAt, "best_class", l.bestClass)
		}(e)
	}
	wg.Wait()
	a.log.Info("startup_artifact_load_complete", "total_recipes", len(entries), "succeeded", ok.Load(),
		"failed", failed.Load(), "wall_seconds", time.Since(start).Seconds(), "max_workers", par)
}

func (a *app) initialFailure(e *entry, err error) {
	reason := loadReason(err)
	msg := canonicalError(err)
	e.setErr("load", msg)
	if errors.Is(err, format.ErrNotFound) {
		e.errKind = "missing" // no artifact_disappeared for a file that never was
	}
	e.m.loadFail[reasonIndex(reason)].Inc()
	e.m.modelLoaded.Set(0)
	if reason == "unexpected" && isFSMissing(err) {
		reason = "read"
	}
	var ev string
	switch reason {
	case "read":
		ev = "initial_artifact_read_failed"
		if !errors.Is(err, format.ErrNotFound) && !errors.Is(err, format.ErrTooLarge) && !errors.Is(err, format.ErrPointer) {
			ev = "initial_artifact_read_error"
		}
	case "parse":
		ev = "initial_artifact_parse_failed"
	case "hmac":
		ev = "initial_artifact_hmac_failed"
	case "header_json":
		ev = "initial_artifact_header_json_failed"
	case "version_skew":
		ev = "initial_artifact_version_skew"
	case "deserialize":
		ev = "initial_artifact_deserialize_failed"
	case "metadata":
		ev = "initial_artifact_metadata_failed"
	default:
		ev = "initial_artifact_read_error"
	}
	attrs := []any{"name", e.name, "error", msg, "reason", reason}
	if reason == "hmac" {
		a.log.Error(ev, append(attrs, "kid", a.kidOf(e.info.OutputPath))...)
	} else {
		a.log.Warn(ev, attrs...)
	}
	a.log.Warn("recipe_not_loaded_at_startup", "name", e.name, "error", msg, "reason", reason)
}

func isFSMissing(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}

// stubName returns stem, or stem_1, stem_2... when taken.
func stubName(stem string, taken func(string) bool) string {
	if !taken(stem) {
		return stem
	}
	for i := 1; ; i++ {
		n := stem + "_" + strconv.Itoa(i)
		if !taken(n) {
			return n
		}
	}
}
