// Package telemetry owns the Prometheus metric set of `recotem serve`: every
// metric name and label the spec lists, the label values (legacy statuses,
// v1 verbs and statuses, batch element codes, load-failure reasons) as
// small integer enums, and the handles of one recipe.
//
// Handles are created when a recipe is registered (or at start for the
// global ones) and kept as pointers; request handlers and the registry
// index arrays of them and never look a name up. A Set is safe for
// concurrent use; so are the handles.
package telemetry

import (
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10}
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}

// Legacy /predict statuses (recotem_predict_total's status label).
const (
	PredictOK = iota
	PredictUserNotFound
	PredictUnavailable
	PredictError
	nPredictStatus
)

var predictStatusNames = [...]string{"ok", "user_not_found", "unavailable", "error"}

// V1 verbs (the verb label).
const (
	VerbRecommend = iota
	VerbRelated
	VerbBatch
	VerbBatchRelated
	NVerbs
)

// VerbNames are the verbs as they appear in paths and labels.
var VerbNames = [...]string{"recommend", "recommend-related", "batch-recommend", "batch-recommend-related"}

// V1 statuses (recotem_v1_requests_total's status label).
const (
	StatusOK = iota
	StatusUnknownUser
	StatusUnknownSeeds
	StatusNoCandidates
	StatusUnavailable
	StatusRecipeNotFound
	StatusValidation
	StatusError
	nV1Status
)

var v1StatusNames = [...]string{"ok", "unknown_user", "unknown_seed_items", "no_candidates", "unavailable", "recipe_not_found", "validation_error", "error"}

// Batch element error codes (recotem_v1_batch_element_errors_total's code
// label, and the codes batch responses show).
const (
	ElemValidation = iota
	ElemUnknownUser
	ElemUnknownSeeds
	ElemNoCandidates
	ElemInternal
	nElemCodes
)

// ElemCodeNames are the batch element error codes.
var ElemCodeNames = [...]string{"VALIDATION_ERROR", "UNKNOWN_USER", "UNKNOWN_SEED_ITEMS", "NO_CANDIDATES", "INTERNAL_ERROR"}

// ElemCodeIndex returns the index of code in ElemCodeNames (ElemInternal
// when it is none of them).
func ElemCodeIndex(code string) int {
	for i, c := range ElemCodeNames {
		if c == code {
			return i
		}
	}
	return ElemInternal
}

var loadReasons = [...]string{"read", "parse", "hmac", "header_json", "deserialize", "metadata", "yaml", "unexpected", "dir_scan", "timeout", "version_skew"}

// ReasonIndex returns the index of a load-failure reason label (that of
// "unexpected" for an unknown one).
func ReasonIndex(r string) int {
	for i, n := range loadReasons {
		if n == r {
			return i
		}
	}
	return 7 // unexpected
}

// Recipe holds the handles of one recipe. The fields from LoadFail on exist
// only for registered names, not for the recipe="" set of unknown names.
type Recipe struct {
	Predict       [nPredictStatus]*metrics.Counter
	PredictLat    *metrics.PrometheusHistogram
	MetaLookupErr *metrics.Counter
	CacheHit      *metrics.Counter
	CacheMiss     *metrics.Counter

	V1         [NVerbs][nV1Status]*metrics.Counter
	V1Lat      [NVerbs]*metrics.PrometheusHistogram
	BatchSize  [NVerbs]*metrics.PrometheusHistogram // only batch verbs
	ElemErr    [NVerbs][nElemCodes]*metrics.Counter // only batch verbs
	Degraded   [NVerbs][2]*metrics.Counter          // fallback, dropped
	MetaSerErr [NVerbs]*metrics.Counter

	ModelLoaded *metrics.Gauge
	LoadFail    [len(loadReasons)]*metrics.Counter // by ReasonIndex
	SwapOK      *metrics.Counter
	SwapErr     *metrics.Counter
	StatFail    *metrics.Counter
	RescanErr   *metrics.Counter
	MetaIndex   *metrics.Counter
	layoutUnexp *metrics.Counter
	// file guard
	FileChanged *metrics.Counter    // the served artifact's file was written, truncated or changed in place
	Rehome      [2]*metrics.Counter // private copies: ok, error
	residencyG  [3]*metrics.Gauge   // 1 on the served model's residency (mapped, leased, private)
}

// SetResidency sets the residency gauges: 1 on r (a format.Residency), 0
// on the others; r < 0 sets them all to 0.
func (m *Recipe) SetResidency(r int) {
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

// Set is the serve process's metric set.
type Set struct {
	set *metrics.Set

	mu      sync.Mutex
	recipes map[string]*Recipe

	UnknownRecipe     *Recipe // recipe="" label for names not registered
	ValidationOutside *metrics.Counter
	WatcherUnhandled  *metrics.Counter
	watcherDivergence *metrics.Counter
	RequestFaults     *metrics.Counter
	dirScanMu         sync.Mutex
	dirScan           map[string]*metrics.Counter
}

func escLabel(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(v)
}

// New creates the global metrics; active reports recotem_active_recipes.
func New(active func() float64) *Set {
	s := &Set{set: metrics.NewSet(), recipes: map[string]*Recipe{}, dirScan: map[string]*metrics.Counter{}}
	s.ValidationOutside = s.set.NewCounter("recotem_v1_validation_errors_outside_verb_total")
	s.WatcherUnhandled = s.set.NewCounter("recotem_watcher_unhandled_errors_total")
	s.watcherDivergence = s.set.NewCounter("recotem_watcher_state_divergence_total")
	s.RequestFaults = s.set.NewCounter("recotem_request_memory_faults_total")
	s.set.NewGauge("recotem_active_recipes", active)
	for _, r := range []string{"missing_extra", "api_error", "non_iam_error_no_fallback"} {
		s.set.NewCounter(`recotem_bigquery_storage_fallback_total{reason="` + r + `"}`)
	}
	s.UnknownRecipe = s.ForRecipe("")
	return s
}

// Metrics returns the underlying set (for /metrics).
func (s *Set) Metrics() *metrics.Set { return s.set }

// ForRecipe returns (creating once) the handles of one recipe.
func (s *Set) ForRecipe(name string) *Recipe {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.recipes[name]; ok {
		return m
	}
	set := s.set
	rl := `recipe="` + escLabel(name) + `"`
	m := &Recipe{}
	for i, st := range predictStatusNames {
		m.Predict[i] = set.GetOrCreateCounter(`recotem_predict_total{` + rl + `,status="` + st + `"}`)
	}
	m.PredictLat = set.GetOrCreatePrometheusHistogramExt(`recotem_predict_latency_seconds{`+rl+`}`, latencyBuckets)
	m.MetaLookupErr = set.GetOrCreateCounter(`recotem_metadata_lookup_errors_total{` + rl + `}`)
	for v, vn := range VerbNames {
		vl := rl + `,verb="` + vn + `"`
		for i, st := range v1StatusNames {
			m.V1[v][i] = set.GetOrCreateCounter(`recotem_v1_requests_total{` + vl + `,status="` + st + `"}`)
		}
		m.V1Lat[v] = set.GetOrCreatePrometheusHistogramExt(`recotem_v1_request_latency_seconds{`+vl+`}`, latencyBuckets)
		if v == VerbBatch || v == VerbBatchRelated {
			m.BatchSize[v] = set.GetOrCreatePrometheusHistogramExt(`recotem_v1_batch_size{`+vl+`}`, batchBuckets)
			for c, cn := range ElemCodeNames {
				m.ElemErr[v][c] = set.GetOrCreateCounter(`recotem_v1_batch_element_errors_total{` + vl + `,code="` + cn + `"}`)
			}
		}
		m.Degraded[v][0] = set.GetOrCreateCounter(`recotem_v1_metadata_degraded_items_total{` + vl + `,kind="fallback"}`)
		m.Degraded[v][1] = set.GetOrCreateCounter(`recotem_v1_metadata_degraded_items_total{` + vl + `,kind="dropped"}`)
		m.MetaSerErr[v] = set.GetOrCreateCounter(`recotem_metadata_serialization_errors_total{` + vl + `}`)
	}
	if name != "" {
		m.ModelLoaded = set.GetOrCreateGauge(`recotem_model_loaded{`+rl+`}`, nil)
		for i, r := range loadReasons {
			m.LoadFail[i] = set.GetOrCreateCounter(`recotem_artifact_load_failures_total{` + rl + `,reason="` + r + `"}`)
		}
		m.SwapOK = set.GetOrCreateCounter(`recotem_swap_total{` + rl + `,result="ok"}`)
		m.SwapErr = set.GetOrCreateCounter(`recotem_swap_total{` + rl + `,result="error"}`)
		m.StatFail = set.GetOrCreateCounter(`recotem_artifact_stat_failures_total{` + rl + `}`)
		m.RescanErr = set.GetOrCreateCounter(`recotem_recipe_rescan_errors_total{` + rl + `}`)
		m.MetaIndex = set.GetOrCreateCounter(`recotem_metadata_index_build_errors_total{` + rl + `}`)
		m.FileChanged = set.GetOrCreateCounter(`recotem_artifact_file_changes_total{` + rl + `}`)
		m.Rehome[0] = set.GetOrCreateCounter(`recotem_artifact_private_copies_total{` + rl + `,result="ok"}`)
		m.Rehome[1] = set.GetOrCreateCounter(`recotem_artifact_private_copies_total{` + rl + `,result="error"}`)
		for i, r := range [...]string{"mapped", "leased", "private"} {
			m.residencyG[i] = set.GetOrCreateGauge(`recotem_artifact_residency{`+rl+`,residency="`+r+`"}`, nil)
		}
		m.layoutUnexp = set.GetOrCreateCounter(`recotem_recommender_layout_unexpected_total{` + rl + `}`)
		m.CacheHit = set.GetOrCreateCounter(`recotem_result_cache_lookups_total{` + rl + `,result="hit"}`)
		m.CacheMiss = set.GetOrCreateCounter(`recotem_result_cache_lookups_total{` + rl + `,result="miss"}`)
	}
	s.recipes[name] = m
	return m
}

// DirScanFailure counts one recipes-directory scan failure of class.
func (s *Set) DirScanFailure(class string) {
	s.dirScanMu.Lock()
	c, ok := s.dirScan[class]
	if !ok {
		c = s.set.GetOrCreateCounter(`recotem_recipes_dir_scan_failures_total{error_class="` + escLabel(class) + `"}`)
		s.dirScan[class] = c
	}
	s.dirScanMu.Unlock()
	c.Inc()
}
