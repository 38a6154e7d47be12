package registry

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recotem/recotem/appliance/metadata"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/fetch"
	"github.com/recotem/recotem/internal/jsonstr"
)

// loadModel opens e's artifact and joins its metadata; it does not publish.
func (r *Registry) loadModel(ctx context.Context, e *Entry) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var op *opened
	var err error
	if blob.IsRemote(e.info.OutputPath) {
		op, err = r.openRemote(ctx, e.info.OutputPath)
	} else {
		op, err = openScoring(e.info.OutputPath, r.opt.Ring, r.opt.Limits, r.residency())
	}
	if err != nil {
		return nil, err
	}
	l := r.newModel(e, op)
	if spec := e.info.Metadata; spec != nil {
		t, err := metadata.Load(ctx, *spec, metadata.Options{Deny: r.opt.MetadataDeny, MaxBytes: r.opt.MaxDownloadBytes, Logger: r.log.With("recipe", e.name),
			HTTP: &fetch.Fetcher{AllowPrivate: r.opt.HTTPAllowPrivate, Timeout: r.opt.HTTPTimeout}, Blobs: r.store.Blobs()})
		if err != nil {
			l.refs.Store(0)
			if l.close != nil {
				_ = l.close()
			}
			e.m.MetaIndex.Inc()
			return nil, withStage("metadata", err)
		}
		n := l.Scorer.NumItems()
		l.metaFrags = make([][]byte, n)
		l.metaDegraded = make([]bool, n)
		for i := 0; i < n; i++ {
			l.metaFrags[i], l.metaDegraded[i] = t.Fragment(l.Scorer.ItemID(i))
		}
		l.hasMeta = true
	}
	l.LegacyJSON = appendLegacyModel(nil, e.name, l)
	l.V1Prefix = appendV1Prefix(nil, e.name, l.Version)
	return l, nil
}

// newModel wraps an opened model for serving: one reference (the
// entry's), a fresh result cache, and the header facts answers show.
func (r *Registry) newModel(e *Entry, op *opened) *Model {
	l := &Model{Scorer: op.scorer, Kid: op.kid, Header: op.fields, sha: op.sha, path: op.path, close: op.close, art: op.art}
	l.Scorer, l.cacheBytes = withResultCache(l.Scorer, r.opt.ResultCacheBytes, e.m.CacheHit, e.m.CacheMiss)
	l.refs.Store(1)
	l.LoadedAt = time.Now().UTC()
	l.Version = "sha256:" + hex.EncodeToString(l.sha[:])
	l.VersionB = []byte(l.Version)
	l.TrainedAt = headerString(l.Header, "trained_at")
	l.BestClass = headerString(l.Header, "best_class")
	return l
}

func appendLegacyModel(b []byte, name string, l *Model) []byte {
	b = append(b, `{"recipe":`...)
	b = jsonstr.Append(b, name)
	b = append(b, `,"trained_at":`...)
	b = jsonstr.Append(b, l.TrainedAt)
	b = append(b, `,"best_class":`...)
	b = jsonstr.Append(b, l.BestClass)
	b = append(b, `,"kid":`...)
	b = jsonstr.Append(b, l.Kid)
	return append(b, '}')
}

func appendV1Prefix(b []byte, name, version string) []byte {
	b = append(b, `,"recipe":`...)
	b = jsonstr.Append(b, name)
	b = append(b, `,"model_version":`...)
	b = jsonstr.Append(b, version)
	return b
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

// openRemote opens the object-store artifact behind path (remote.Fetch)
// and returns it with the object's URI as its path.
func (r *Registry) openRemote(ctx context.Context, path string) (*opened, error) {
	name, target, err := r.store.Fetch(ctx, path)
	if err != nil {
		return nil, err
	}
	defer os.Remove(name)
	op, err := openScoring(name, r.opt.Ring, r.opt.Limits, r.residency())
	if err != nil {
		return nil, err
	}
	op.path = target
	return op, nil
}

// initialLoad loads every entry with up to par loads at once.
func (r *Registry) initialLoad(ctx context.Context, entries []*Entry, par int) {
	start := time.Now()
	var ok, failed atomic.Int64
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, e := range entries {
		if e.stub {
			failed.Add(1)
			r.log.Warn("recipe_not_loaded_at_startup", "name", e.name, "error", e.err(), "reason", "yaml")
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(e *Entry) {
			defer wg.Done()
			defer func() { <-sem }()
			if m, err := r.store.Marker(ctx, e.info.OutputPath, r.opt.statTimeout()); err == nil {
				e.marker, e.hasMarker = m, true
			}
			l, err := r.loadModel(ctx, e)
			if err != nil {
				failed.Add(1)
				r.initialFailure(ctx, e, err)
				return
			}
			r.publish(e, l)
			ok.Add(1)
			if r.opt.Ring == nil {
				r.log.Warn("initial_artifact_hmac_skipped_dev", "name", e.name, "kid", format.SafeKid(l.Kid))
			}
			r.log.Info("recipe_loaded", "name", e.name, "kid", format.SafeKid(l.Kid), "trained_at", l.TrainedAt, "best_class", l.BestClass)
		}(e)
	}
	wg.Wait()
	r.log.Info("startup_artifact_load_complete", "total_recipes", len(entries), "succeeded", ok.Load(),
		"failed", failed.Load(), "wall_seconds", time.Since(start).Seconds(), "max_workers", par)
}

func (r *Registry) initialFailure(ctx context.Context, e *Entry, err error) {
	reason := loadReason(err)
	msg := canonicalError(err)
	e.setErr("load", msg)
	if errors.Is(err, format.ErrNotFound) {
		e.errKind = "missing" // no artifact_disappeared for a file that never was
	}
	e.m.LoadFail[telemetry.ReasonIndex(reason)].Inc()
	e.m.ModelLoaded.Set(0)
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
		r.log.Error(ev, append(attrs, "kid", r.store.Kid(ctx, e.info.OutputPath))...)
	} else {
		r.log.Warn(ev, attrs...)
	}
	r.log.Warn("recipe_not_loaded_at_startup", "name", e.name, "error", msg, "reason", reason)
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

// fileSHA hashes the artifact path resolves to.
func (r *Registry) fileSHA(ctx context.Context, path string) ([32]byte, error) {
	return r.store.SHA(ctx, path, func(sha [32]byte) bool { return r.serving(path, sha) })
}

// serving reports whether a model with sha serves an entry whose output
// path is path.
func (r *Registry) serving(path string, sha [32]byte) bool {
	for _, e := range r.Snapshot() {
		if e.info.OutputPath != path {
			continue
		}
		if l := e.cur.Load(); l != nil && l.sha == sha {
			return true
		}
	}
	return false
}
