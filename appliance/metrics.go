package appliance

import (
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// Metric handles are created when a recipe is registered (or at start for
// the global ones) and kept as pointers; handlers never look names up.

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10}
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}

// legacy statuses
const (
	pOK = iota
	pUserNotFound
	pUnavailable
	pError
	nPredictStatus
)

var predictStatusNames = [...]string{"ok", "user_not_found", "unavailable", "error"}

// v1 verbs
const (
	vRecommend = iota
	vRelated
	vBatch
	vBatchRelated
	nVerbs
)

var verbNames = [...]string{"recommend", "recommend-related", "batch-recommend", "batch-recommend-related"}

// v1 statuses
const (
	sOK = iota
	sUnknownUser
	sUnknownSeeds
	sNoCandidates
	sUnavailable
	sRecipeNotFound
	sValidation
	sError
	nV1Status
)

var v1StatusNames = [...]string{"ok", "unknown_user", "unknown_seed_items", "no_candidates", "unavailable", "recipe_not_found", "validation_error", "error"}

// batch element error codes
const (
	eValidation = iota
	eUnknownUser
	eUnknownSeeds
	eNoCandidates
	eInternal
	nElemCodes
)

var elemCodeNames = [...]string{"VALIDATION_ERROR", "UNKNOWN_USER", "UNKNOWN_SEED_ITEMS", "NO_CANDIDATES", "INTERNAL_ERROR"}

var loadReasons = [...]string{"read", "parse", "hmac", "header_json", "deserialize", "metadata", "yaml", "unexpected", "dir_scan", "timeout", "version_skew"}

func reasonIndex(r string) int {
	for i, n := range loadReasons {
		if n == r {
			return i
		}
	}
	return 7 // unexpected
}

type recipeMetrics struct {
	predict       [nPredictStatus]*metrics.Counter
	predictLat    *metrics.PrometheusHistogram
	metaLookupErr *metrics.Counter
	cacheHit      *metrics.Counter
	cacheMiss     *metrics.Counter

	v1          [nVerbs][nV1Status]*metrics.Counter
	v1Lat       [nVerbs]*metrics.PrometheusHistogram
	batchSize   [nVerbs]*metrics.PrometheusHistogram // only batch verbs
	elemErr     [nVerbs][nElemCodes]*metrics.Counter // only batch verbs
	degraded    [nVerbs][2]*metrics.Counter          // fallback, dropped
	metaSerErr  [nVerbs]*metrics.Counter
	modelLoaded *metrics.Gauge
	loadFail    [len(loadReasons)]*metrics.Counter
	swapOK      *metrics.Counter
	swapErr     *metrics.Counter
	statFail    *metrics.Counter
	rescanErr   *metrics.Counter
	metaIndex   *metrics.Counter
	layoutUnexp *metrics.Counter
	// file guard (guard.go)
	fileChanged *metrics.Counter // the served artifact's file was written, truncated or changed in place
	rehome      [2]*metrics.Counter
	residencyG  [3]*metrics.Gauge // 1 on the served model's residency (mapped, leased, private)
}

type metricSet struct {
	set *metrics.Set

	mu      sync.Mutex
	recipes map[string]*recipeMetrics

	unknownRecipe     *recipeMetrics // recipe="" label for names not registered
	validationOutside *metrics.Counter
	watcherUnhandled  *metrics.Counter
	watcherDivergence *metrics.Counter
	requestFaults     *metrics.Counter
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

func newMetricSet(active func() float64) *metricSet {
	s := &metricSet{set: metrics.NewSet(), recipes: map[string]*recipeMetrics{}, dirScan: map[string]*metrics.Counter{}}
	s.validationOutside = s.set.NewCounter("recotem_v1_validation_errors_outside_verb_total")
	s.watcherUnhandled = s.set.NewCounter("recotem_watcher_unhandled_errors_total")
	s.watcherDivergence = s.set.NewCounter("recotem_watcher_state_divergence_total")
	s.requestFaults = s.set.NewCounter("recotem_request_memory_faults_total")
	s.set.NewGauge("recotem_active_recipes", active)
	for _, r := range []string{"missing_extra", "api_error", "non_iam_error_no_fallback"} {
		s.set.NewCounter(`recotem_bigquery_storage_fallback_total{reason="` + r + `"}`)
	}
	s.unknownRecipe = s.forRecipe("")
	return s
}

// forRecipe returns (creating once) the handles of one recipe.
func (s *metricSet) forRecipe(name string) *recipeMetrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.recipes[name]; ok {
		return m
	}
	set := s.set
	rl := `recipe="` + escLabel(name) + `"`
	m := &recipeMetrics{}
	for i, st := range predictStatusNames {
		m.predict[i] = set.GetOrCreateCounter(`recotem_predict_total{` + rl + `,status="` + st + `"}`)
	}
	m.predictLat = set.GetOrCreatePrometheusHistogramExt(`recotem_predict_latency_seconds{`+rl+`}`, latencyBuckets)
	m.metaLookupErr = set.GetOrCreateCounter(`recotem_metadata_lookup_errors_total{` + rl + `}`)
	for v, vn := range verbNames {
		vl := rl + `,verb="` + vn + `"`
		for i, st := range v1StatusNames {
			m.v1[v][i] = set.GetOrCreateCounter(`recotem_v1_requests_total{` + vl + `,status="` + st + `"}`)
		}
		m.v1Lat[v] = set.GetOrCreatePrometheusHistogramExt(`recotem_v1_request_latency_seconds{`+vl+`}`, latencyBuckets)
		if v == vBatch || v == vBatchRelated {
			m.batchSize[v] = set.GetOrCreatePrometheusHistogramExt(`recotem_v1_batch_size{`+vl+`}`, batchBuckets)
			for c, cn := range elemCodeNames {
				m.elemErr[v][c] = set.GetOrCreateCounter(`recotem_v1_batch_element_errors_total{` + vl + `,code="` + cn + `"}`)
			}
		}
		m.degraded[v][0] = set.GetOrCreateCounter(`recotem_v1_metadata_degraded_items_total{` + vl + `,kind="fallback"}`)
		m.degraded[v][1] = set.GetOrCreateCounter(`recotem_v1_metadata_degraded_items_total{` + vl + `,kind="dropped"}`)
		m.metaSerErr[v] = set.GetOrCreateCounter(`recotem_metadata_serialization_errors_total{` + vl + `}`)
	}
	if name != "" {
		m.modelLoaded = set.GetOrCreateGauge(`recotem_model_loaded{`+rl+`}`, nil)
		for i, r := range loadReasons {
			m.loadFail[i] = set.GetOrCreateCounter(`recotem_artifact_load_failures_total{` + rl + `,reason="` + r + `"}`)
		}
		m.swapOK = set.GetOrCreateCounter(`recotem_swap_total{` + rl + `,result="ok"}`)
		m.swapErr = set.GetOrCreateCounter(`recotem_swap_total{` + rl + `,result="error"}`)
		m.statFail = set.GetOrCreateCounter(`recotem_artifact_stat_failures_total{` + rl + `}`)
		m.rescanErr = set.GetOrCreateCounter(`recotem_recipe_rescan_errors_total{` + rl + `}`)
		m.metaIndex = set.GetOrCreateCounter(`recotem_metadata_index_build_errors_total{` + rl + `}`)
		m.fileChanged = set.GetOrCreateCounter(`recotem_artifact_file_changes_total{` + rl + `}`)
		m.rehome[0] = set.GetOrCreateCounter(`recotem_artifact_private_copies_total{` + rl + `,result="ok"}`)
		m.rehome[1] = set.GetOrCreateCounter(`recotem_artifact_private_copies_total{` + rl + `,result="error"}`)
		for i, r := range [...]string{"mapped", "leased", "private"} {
			m.residencyG[i] = set.GetOrCreateGauge(`recotem_artifact_residency{`+rl+`,residency="`+r+`"}`, nil)
		}
		m.layoutUnexp = set.GetOrCreateCounter(`recotem_recommender_layout_unexpected_total{` + rl + `}`)
		m.cacheHit = set.GetOrCreateCounter(`recotem_result_cache_lookups_total{` + rl + `,result="hit"}`)
		m.cacheMiss = set.GetOrCreateCounter(`recotem_result_cache_lookups_total{` + rl + `,result="miss"}`)
	}
	s.recipes[name] = m
	return m
}

func (s *metricSet) dirScanFailure(class string) {
	s.dirScanMu.Lock()
	c, ok := s.dirScan[class]
	if !ok {
		c = s.set.GetOrCreateCounter(`recotem_recipes_dir_scan_failures_total{error_class="` + escLabel(class) + `"}`)
		s.dirScan[class] = c
	}
	s.dirScanMu.Unlock()
	c.Inc()
}
