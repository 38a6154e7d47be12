package registry

import (
	"log/slog"
	"time"

	"github.com/recotem/recotem/appliance/metadata"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/recotem/recotem/format"
)

// MetadataSpec is a recipe's item_metadata block (recotem-behavior.md §3.9).
type MetadataSpec = metadata.Spec

// RecipeInfo is what serve needs from one loaded recipe.
type RecipeInfo struct {
	Name       string
	File       string // the recipe YAML path
	OutputPath string // output.path: the pointer (append_sha) or the artifact
	Metadata   *MetadataSpec
}

// RecipeProblem is one recipe file that failed to load or was a duplicate.
type RecipeProblem struct {
	File      string
	Stem      string // file name without ".yaml"
	Err       error
	Security  bool   // a path-policy (security category) error
	Duplicate bool   // a later file reusing Name
	Name      string // the recipe name when known (duplicates)
	Msg       string // the stub's error text; "" means "YAML parse failed: " + Err
}

// RecipeLoader loads every direct *.yaml child of dir leniently
// (recotem-behavior.md §3.6). A non-nil error means the directory itself
// could not be read.
type RecipeLoader interface {
	LoadDir(dir string) ([]RecipeInfo, []RecipeProblem, error)
}

// Options configure a Registry. The zero value of a field means its
// documented default.
type Options struct {
	RecipesDir string          // required
	Loader     RecipeLoader    // required
	Metrics    *telemetry.Set  // required
	Logger     *slog.Logger    // nil → discard
	Ring       *format.KeyRing // verifies artifacts; nil skips the HMAC check (--dev-allow-unsigned)
	Limits     format.Limits   // artifact and payload caps; 0 → format's defaults

	// Residency is where served bytes live. The zero value, format.Mapped,
	// is an unguarded mapping that only tests of the last line use; serve
	// passes format.Leased, or format.Private for RECOTEM_ARTIFACT_LOAD=copy.
	Residency format.Residency

	// WatchInterval is the watcher's period (±10 % jitter), used as given;
	// each stat is bounded by max(1 s, min(WatchInterval, 30 s)). 0 → 5 s.
	WatchInterval      time.Duration
	StartupParallelism int // initial loads at once; 0 → min(#recipes, 8); at most 32

	MetadataDeny     []string      // metadata column names dropped, case-insensitive
	MaxDownloadBytes int64         // metadata source cap; 0 → 256 MiB
	HTTPTimeout      time.Duration // metadata http(s) fetch timeout; 0 → 30 s
	HTTPAllowPrivate bool          // RECOTEM_HTTP_ALLOW_PRIVATE for metadata fetches
	// ResultCacheBytes bounds each loaded model's result cache
	// (RECOTEM_RESULT_CACHE_BYTES); 0 turns caching off.
	ResultCacheBytes int64
}

func (o *Options) watchInterval() time.Duration {
	if o.WatchInterval <= 0 {
		return 5 * time.Second
	}
	return o.WatchInterval
}

// statTimeout is §7's per-stat bound, max(1, min(I, 30)) s; initial
// loads use it too, so an unresponsive store cannot stall startup.
func (o *Options) statTimeout() time.Duration {
	return max(time.Second, min(o.watchInterval(), 30*time.Second))
}
