package trainer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/algo/factor"
	"github.com/recotem/recotem/trainer/algo/itemitem"
	"github.com/recotem/recotem/trainer/artifact"
	"github.com/recotem/recotem/trainer/dataset"
	"github.com/recotem/recotem/trainer/eval"
	"github.com/recotem/recotem/trainer/lock"
	"github.com/recotem/recotem/trainer/membudget"
	"github.com/recotem/recotem/trainer/search"
	"github.com/recotem/recotem/trainer/search/sqlstore"
	"github.com/recotem/recotem/trainer/source"
	"github.com/recotem/recotem/trainer/source/blobsrc"   // s3/gs/az/abfs(s) paths; remote outputs
	_ "github.com/recotem/recotem/trainer/source/bqsrc"   // source type "bigquery"
	_ "github.com/recotem/recotem/trainer/source/httpsrc" // https/http paths of csv and parquet
	_ "github.com/recotem/recotem/trainer/source/sqlsrc"  // source type "sql"
	"github.com/recotem/recotem/trainer/sparse"
)

// Version is the product version written into artifacts.
var Version = "2.1.0-go"

// IrspackVersion is the upstream semantics the algorithms follow.
const IrspackVersion = "0.5.0"

// Options configures one train run. cmd/recotem fills it from flags and
// from the settings internal/envconfig read once at start-up; nothing here
// reads the environment.
type Options struct {
	RecipePath string
	EnvVars    map[string]string // --env-var, consulted before LookupEnv
	// LookupEnv reads the variables that are not settings: RECOTEM_RECIPE_*
	// values (recipe expansion, sql dsn_env) and ambient names read on a
	// driver's behalf (the trial store's MYSQL_USER/MYSQL_PWD, BigQuery's
	// GOOGLE_CLOUD_PROJECT); cmd/recotem passes envconfig.Config.External.
	// nil means an empty environment.
	LookupEnv func(string) (string, bool)
	RunID     string // "" → 12 random hex
	Quiet     bool   // no trial_done events
	Verbose   bool   // trial_done with params

	NoLock      bool
	FailOnBusy  bool
	LockTimeout time.Duration // 0 non-blocking, <0 forever
	LockDir     string        // RECOTEM_LOCK_DIR: locks of remote outputs

	// Ring signs the artifact with its first key. Nil → signing_key_missing.
	Ring         *format.KeyRing
	ArtifactRoot string // RECOTEM_ARTIFACT_ROOT; "" = no containment

	// Source holds the data-source settings (download cap, guards,
	// timeouts, row cap); the zero value is the defaults.
	Source source.Settings
	Logger *slog.Logger
	// Progress, when set, receives a live one-line status per trial (TTY).
	Progress func(line string)

	// MemoryLimit is RECOTEM_TRAIN_MEMORY_LIMIT (0: detect the cgroup's
	// limit or the host's available memory).
	MemoryLimit int64
	// MemoryBudget, when set, replaces the detection (tests).
	MemoryBudget func() (membudget.Budget, error)
	// SetGoMemoryLimit hands a limit from the environment or the cgroup to
	// the Go collector (debug.SetMemoryLimit); cmd/recotem sets it unless
	// GOMEMLIMIT is set.
	SetGoMemoryLimit bool
}

// Result is what a successful run produced.
type Result struct {
	Skipped   bool // lock contended without --fail-on-busy
	Artifact  string
	Pointer   string
	BestClass string
	BestScore float64
}

var runIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Run executes the pipeline. Every failure is returned as (or wrapping) a
// *failure.Error after exactly one train_error event was logged.
func Run(ctx context.Context, opt Options) (*Result, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := &state{opt: opt, log: log, trainedAt: time.Now().UTC().Format("2006-01-02T15:04:05Z")}
	res, err := st.run(ctx)
	if err != nil {
		st.trainError(err)
	}
	return res, err
}

type state struct {
	opt       Options
	log       *slog.Logger
	rlog      *slog.Logger // bound recipe + run_id
	trainedAt string
	name      string
	runID     string
	kid       string
	hash      string
	stats     *dataset.Interactions
	peaks     *membudget.Peaks
	peak      int64 // the run's resident-set peak so far (max over phases)
}

// phasePeak returns the resident-set peak since the last call (the
// phase that just ended) and folds it into s.peak; then it hands the
// memory the phase freed back to the kernel (debug.FreeOSMemory: one
// collection and a release) so the next phase starts from what is live,
// and starts that phase's peak.
func (s *state) phasePeak() int64 {
	p := s.peaks.Take()
	s.peak = max(s.peak, p)
	debug.FreeOSMemory()
	s.peaks.Restart()
	return p
}

func (s *state) trainError(err error) {
	var fe *failure.Error
	code := failure.CodeOf(err)
	attrs := []any{"name", s.name, "run_id", s.runID, "error", err.Error(), "code", code,
		"exit_code", failure.ExitCode(err), "trained_at", s.trainedAt}
	if s.kid != "" {
		attrs = append(attrs, "kid", s.kid)
	}
	if s.hash != "" {
		attrs = append(attrs, "recipe_hash", s.hash)
	}
	if s.stats != nil {
		attrs = append(attrs, "n_rows", len(s.stats.User), "n_users", len(s.stats.UserIDs), "n_items", len(s.stats.ItemIDs))
	}
	if errors.As(err, &fe) {
		for _, k := range sortedKeys(fe.Fields) {
			if !slices.Contains(attrs, any(k)) {
				attrs = append(attrs, k, fe.Fields[k])
			}
		}
	}
	s.log.Error("train_error", attrs...)
}

func (s *state) run(ctx context.Context) (*Result, error) {
	opt := s.opt
	if opt.Ring == nil {
		// A missing key ring outranks recipe errors (§1.2 priority).
		s.name = strings.TrimSuffix(filepath.Base(opt.RecipePath), filepath.Ext(opt.RecipePath))
		return nil, failure.New(failure.Config, "signing_key_missing",
			"RECOTEM_SIGNING_KEYS is not set: generate a key with 'recotem keygen' and export RECOTEM_SIGNING_KEYS=<kid>:<hex>, or use --dev-allow-unsigned in development")
	}
	rec, err := recipe.Load(opt.RecipePath, recipe.Options{EnvVars: opt.EnvVars, LookupEnv: opt.LookupEnv, ArtifactRoot: opt.ArtifactRoot, Logger: s.log})
	if err != nil {
		s.name = strings.TrimSuffix(filepath.Base(opt.RecipePath), filepath.Ext(opt.RecipePath))
		return nil, ensureClass(err, failure.Recipe, "recipe_error")
	}
	s.name = rec.Name
	s.hash = rec.Hash()
	s.runID = opt.RunID
	if s.runID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		s.runID = hex.EncodeToString(b[:])
	} else if !runIDRE.MatchString(s.runID) {
		return nil, failure.New(failure.Recipe, "recipe_error", "invalid --run-id: must match ^[A-Za-z0-9_.-]{1,64}$")
	}
	key := opt.Ring.Signer()
	s.kid = key.ID
	s.rlog = s.log.With("recipe", rec.Name, "run_id", s.runID)

	if !opt.NoLock {
		release, skipped, err := s.lock(ctx, rec)
		if err != nil {
			return nil, err
		}
		if skipped {
			return &Result{Skipped: true}, nil
		}
		defer release()
	}
	return s.pipeline(ctx, rec, key)
}

func (s *state) lock(ctx context.Context, rec *recipe.Recipe) (func(), bool, error) {
	path, local := lock.PathFor(rec.Output.Path, s.opt.LockDir)
	if !local {
		scheme, _, _ := strings.Cut(rec.Output.Path, "://")
		s.rlog.Warn("recipe_lock_local_only", "scheme", scheme, "output_path", rec.Output.Path, "lock_path", path,
			"advice", "the lock only serialises trainers on this host; use your scheduler's mutex across hosts")
	}
	start := time.Now()
	l, err := lock.Acquire(ctx, path, s.opt.LockTimeout)
	switch {
	case err == nil:
		return func() { _ = l.Release() }, false, nil
	case errors.Is(err, lock.ErrContended) && !s.opt.FailOnBusy && s.opt.LockTimeout == 0:
		s.rlog.Info("recipe_lock_contended_skipping", "lock_path", path)
		return nil, true, nil
	case errors.Is(err, lock.ErrContended):
		return nil, false, failure.New(failure.LockContest, "lock_contested", "lock %s is held by another trainer", path)
	case errors.Is(err, lock.ErrTimeout):
		s.rlog.Warn("recipe_lock_timeout", "lock_path", path, "waited_seconds", time.Since(start).Seconds(), "timeout", s.opt.LockTimeout.Seconds())
		return nil, false, failure.New(failure.LockContest, "lock_timeout", "lock %s still held after %s", path, s.opt.LockTimeout)
	case errors.Is(err, lock.ErrSymlink):
		s.rlog.Error("recipe_lock_unsafe_symlink", "lock_path", path)
	}
	return nil, false, ensureClass(err, failure.Unknown, "internal_error")
}

func (s *state) pipeline(ctx context.Context, rec *recipe.Recipe, key format.Key) (*Result, error) {
	log := s.rlog
	log.Info("training_started")
	// Each phase's event carries peak_rss_bytes: its own resident-set peak.
	s.peaks = membudget.StartPeaks(50 * time.Millisecond)
	defer s.peaks.Stop()
	// Ingest logs fetching_data, the source events, data_fetched and data_cleansed.
	data, err := dataset.Ingest(ctx, rec, source.Options{Settings: s.opt.Source, Logger: log, LookupEnv: s.lookupEnv()})
	if err != nil {
		return nil, ensureClass(err, failure.DataSource, "datasource_error")
	}
	s.stats = data

	log.Info("splitting_data")
	split, err := dataset.SplitData(data, rec.Training.Split, rec.Schema.TimeColumn != nil)
	if err != nil {
		return nil, ensureClass(err, failure.Training, "split_error")
	}
	log.Info("split_done", "val_offset", split.Offset, "peak_rss_bytes", s.phasePeak())
	if err := s.checkMemory(rec, data, split); err != nil {
		return nil, err
	}

	best, tuning, err := s.search(ctx, rec, split)
	if err != nil {
		return nil, err
	}

	// Final refit on all cleansed rows.
	spec := specFor(best.Class)
	log.Info("training_final_model", "recommender", spec.Class)
	params, dropped := acceptedParams(spec, best.Params)
	if len(dropped) > 0 {
		log.Warn("final_training_dropped_params", "recommender", spec.Class, "params", dropped)
	}
	X := data.Matrix()
	model, err := fit(ctx, spec, params, rec.Training.Split.Seed, X)
	if err != nil {
		return nil, failure.Wrap(failure.Training, "final_training_error", err)
	}
	log.Info("final_model_trained", "recommender", spec.Class, "peak_rss_bytes", s.phasePeak())

	// Factor models also carry an int8 copy of the item factors: serving
	// scans it first and re-ranks the best candidates exactly (scoring).
	builder, modelFields, err := artifact.Build(model, data.UserIDs, data.ItemIDs, X, artifact.Options{Q8: model.Kind == algo.KindFactor})
	if err != nil {
		return nil, failure.Wrap(failure.Artifact, "internal_error", err)
	}
	fields := map[string]any{
		"recipe_name":     rec.Name,
		"recipe_hash":     s.hash,
		"config_digest":   "sha256:" + s.hash,
		"recotem_version": Version,
		"irspack_version": IrspackVersion,
		"trained_at":      s.trainedAt,
		"best_class":      spec.Class,
		"best_params":     best.Params,
		"best_score":      best.Value,
		"metric":          rec.Training.Metric,
		"cutoff":          rec.Training.Cutoff,
		"algorithms":      rec.Training.Algorithms,
		"tuning":          tuning,
		"data_stats": map[string]any{
			"n_rows": len(data.User), "n_users": len(data.UserIDs), "n_items": len(data.ItemIDs),
			"drop_count": data.DropCount, "dedup_policy": rec.Cleansing.Dedup,
		},
		"recipe": rec.Canonical(),
	}
	for k, v := range modelFields {
		fields[k] = v
	}
	wopt := format.WriteOptions{Versioning: rec.Output.Versioning}
	if root := s.opt.ArtifactRoot; root != "" {
		wopt.BeforeRename = func(final string) error { return recheckContainment(root, final) }
	}
	var wr format.WriteResult
	if blob.IsRemote(rec.Output.Path) {
		// Object stores: plain puts, the sha object before the pointer (§3.10).
		wr, err = blobsrc.Store().WriteArtifact(ctx, rec.Output.Path, rec.Output.Versioning, func(w io.Writer) error {
			return format.Encode(w, key, fields, builder)
		})
	} else {
		wr, err = format.WriteArtifactWith(localPath(rec.Output.Path), wopt, key, fields, builder)
	}
	if err != nil {
		return nil, failure.Wrap(failure.Artifact, "internal_error", err)
	}
	attrs := []any{"versioning", rec.Output.Versioning, "artifact", wr.Artifact, "kid", key.ID, "peak_rss_bytes", s.phasePeak()}
	if wr.Pointer != "" {
		attrs = append(attrs, "pointer", wr.Pointer)
	}
	log.Info("artifact_written", attrs...)
	s.log.Info("train_done", "name", rec.Name, "run_id", s.runID, "exit_code", 0, "artifact", wr.Artifact,
		"best_class", spec.Class, "best_score", best.Value, "trials", tuning["n_completed"], "n_orphaned", tuning["n_orphaned"],
		"trained_at", s.trainedAt, "kid", key.ID, "recipe_hash", s.hash,
		"n_rows", len(data.User), "n_users", len(data.UserIDs), "n_items", len(data.ItemIDs), "peak_rss_bytes", s.peak)
	return &Result{Artifact: wr.Artifact, Pointer: wr.Pointer, BestClass: spec.Class, BestScore: best.Value}, nil
}

// lookupEnv layers --env-var values over the environment, so a sql
// dsn_env given with --env-var is found like any RECOTEM_RECIPE_* value.
func (s *state) lookupEnv() func(string) (string, bool) {
	base := s.opt.LookupEnv
	return func(k string) (string, bool) {
		if v, ok := s.opt.EnvVars[k]; ok {
			return v, true
		}
		if base == nil {
			return "", false
		}
		return base(k)
	}
}

func (s *state) search(ctx context.Context, rec *recipe.Recipe, split *dataset.Split) (search.Trial, map[string]any, error) {
	tr := rec.Training
	var classes []string
	spaces := map[string][]algo.ParamSpec{}
	for _, a := range tr.Algorithms {
		spec := specFor(a)
		if spec == nil {
			return search.Trial{}, nil, failure.New(failure.Recipe, "recipe_error", "training.algorithms: unknown algorithm %q", a)
		}
		classes = append(classes, spec.Class)
		spaces[spec.Class] = spec.Space
	}
	var per map[string]int
	if tr.PerAlgorithmTrials != nil {
		per = map[string]int{}
		for a, n := range tr.PerAlgorithmTrials {
			per[specFor(a).Class] = n
		}
	}
	budgets := search.Budgets(classes, tr.NTrials, per)
	store, err := sqlstore.Open(tr.StoragePath, sqlstore.Options{Lookup: s.opt.LookupEnv})
	if err != nil {
		return search.Trial{}, nil, ensureClass(err, failure.Training, "search_error")
	}
	defer store.Close()
	parallel := tr.Parallelism
	if max := store.MaxParallelism(); max > 0 && parallel > max {
		s.rlog.Warn("env_var_clamped", "var", "parallelism", "requested", parallel, "clamped", max, "lo", 1, "hi", max)
		parallel = max
	}
	var active []string
	for i, c := range classes {
		if budgets[i] > 0 {
			active = append(active, c)
		}
	}
	if len(active) == 0 {
		return search.Trial{}, nil, failure.New(failure.Training, "no_active_algorithms", "every algorithm has a trial budget of 0")
	}
	s.rlog.Info("search_started", "algorithms", active, "n_trials", tr.NTrials)
	cfg := search.Config{
		Study: "recotem_" + rec.Name + "_" + s.runID, Classes: classes, Spaces: spaces, Budgets: budgets,
		NTrials: tr.NTrials, Parallelism: parallel, Seed: tr.Split.Seed, Store: store, Logger: s.rlog,
	}
	if tr.TimeoutSeconds != nil {
		cfg.Timeout = time.Duration(*tr.TimeoutSeconds) * time.Second
	}
	if tr.PerTrialTimeoutSeconds != nil {
		cfg.PerTrialTimeout = time.Duration(*tr.PerTrialTimeoutSeconds) * time.Second
	}
	started := time.Now()
	total := tr.NTrials
	bestSoFar := math.Inf(-1)
	cfg.OnTrial = func(t search.Trial) {
		if t.State == search.Complete && t.Value > bestSoFar {
			bestSoFar = t.Value
		}
		if !s.opt.Quiet {
			attrs := []any{"trial", t.Number, "score", t.Value, "algorithm", t.Class, "state", string(t.State)}
			if s.opt.Verbose {
				attrs = append(attrs, "params", t.Params)
			}
			s.rlog.Info("trial_done", attrs...)
		}
		if s.opt.Progress != nil {
			done := t.Number + 1
			eta := time.Duration(float64(time.Since(started)) / float64(done) * float64(total-done))
			s.opt.Progress(fmt.Sprintf("trial %d/%d  %-24s best %s@%d=%.4f  eta %s", done, total, t.Class, tr.Metric, tr.Cutoff, bestSoFar, eta.Round(time.Second)))
		}
	}
	obj := func(ctx context.Context, t search.TrialContext) (float64, error) {
		spec := specFor(t.Class())
		p := algo.Params{}
		for _, ps := range spec.Space {
			p[ps.Name] = t.Suggest(ps)
		}
		evalFn := func(m *algo.Model) (float64, error) {
			sc, err := eval.Evaluate(ctx, m, split.Search, split.Heldout, split.Offset, tr.Cutoff)
			if err != nil {
				return 0, err
			}
			return sc.Get(tr.Metric), nil
		}
		r, err := spec.New(p, tr.Split.Seed)
		if err != nil {
			return 0, err
		}
		if it, ok := r.(algo.Iterative); ok && spec.Iterative {
			if err := it.Init(split.Search); err != nil {
				return 0, err
			}
			best, epochs, err := search.EarlyStop(ctx, t, it, func() (float64, error) { return evalFn(it.Model()) })
			if err != nil {
				return 0, err
			}
			t.SetAttr("train_epochs", epochs)
			return best, nil
		}
		if err := r.Fit(ctx, split.Search); err != nil {
			return 0, err
		}
		return evalFn(r.Model())
	}
	res, err := search.Run(ctx, cfg, obj)
	if err != nil {
		s.rlog.Warn("tuning_aborted", "trials_done", countDone(res))
		return search.Trial{}, nil, ensureClass(err, failure.Training, "search_error")
	}
	zeroHit, err := res.Check(tr.Metric)
	if err != nil {
		return search.Trial{}, nil, ensureClass(err, failure.Training, "search_error")
	}
	best := res.Best
	s.rlog.Info("tuning_complete", "n_completed", res.NCompleted, "best_score", best.Value, "best_algorithm", best.Class)
	if zeroHit {
		s.rlog.Warn("zero_score_hit_metric", "best_score", 0)
	}
	s.rlog.Info("search_done", "best_class", best.Class, "best_score", best.Value, "n_completed", res.NCompleted, "peak_rss_bytes", s.phasePeak())
	best.Params = best.BestParams()
	tried := active
	tuning := map[string]any{
		"tried_algorithms": tried, "n_trials": tr.NTrials, "n_completed": res.NCompleted,
		"n_orphaned": res.NOrphaned, "n_timed_out": res.NTimedOut, "best_trial_number": best.Number, "search_seed": tr.Split.Seed,
	}
	return best, tuning, nil
}

func countDone(r *search.Result) int {
	if r == nil {
		return 0
	}
	return len(r.Trials)
}

// fit trains spec with params on X; iterative models run train_epochs.
func fit(ctx context.Context, spec *algo.Spec, p algo.Params, seed int64, X *sparse.CSR) (*algo.Model, error) {
	r, err := spec.New(p, seed)
	if err != nil {
		return nil, err
	}
	if err := r.Fit(ctx, X); err != nil {
		return nil, err
	}
	return r.Model(), nil
}

func acceptedParams(spec *algo.Spec, p algo.Params) (algo.Params, []string) {
	out := algo.Params{}
	var dropped []string
	for _, k := range sortedKeys(p) {
		if slices.Contains(spec.Accepts, k) {
			out[k] = p[k]
		} else {
			dropped = append(dropped, k)
		}
	}
	return out, dropped
}

var allSpecs = func() []algo.Spec {
	return append(factor.Specs(), itemitem.Specs()...)
}()

// specFor finds a spec by alias or class name (case-insensitive).
func specFor(name string) *algo.Spec {
	alias, _, ok := recipe.Resolve(name)
	if !ok {
		return nil
	}
	for i := range allSpecs {
		if allSpecs[i].Alias == alias {
			return &allSpecs[i]
		}
	}
	return nil
}

func ensureClass(err error, c failure.Class, code string) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	return failure.Wrap(c, code, err)
}

func localPath(p string) string {
	if strings.HasPrefix(p, "file://") {
		p = strings.TrimPrefix(p, "file://")
		p = strings.TrimPrefix(p, "localhost")
	}
	return p
}

func recheckContainment(root, final string) error {
	if err := recipe.CheckContainment(root, final); err != nil {
		return failure.New(failure.Artifact, "internal_error", "output %s: %v", final, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
