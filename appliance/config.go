package appliance

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
)

// The recipe facts serve is given; see package registry.
type (
	MetadataSpec  = registry.MetadataSpec
	RecipeInfo    = registry.RecipeInfo
	RecipeProblem = registry.RecipeProblem
	RecipeLoader  = registry.RecipeLoader
)

// Config is everything Run needs. The zero value of each field means the
// documented default; cmd/recotem fills it from flags and the environment.
type Config struct {
	RecipesDir string       // required
	Loader     RecipeLoader // required
	Logger     *slog.Logger // nil → discard

	Host string // "" → 127.0.0.1
	Port int    // 0 → ephemeral
	UDS  string // also listen on this Unix socket when set

	APIKeys          []apikey.Key // empty → anonymous, host forced to loopback
	InsecureNoAuth   bool         // --insecure-no-auth
	DevAllowUnsigned bool         // --dev-allow-unsigned
	IUnderstand      bool         // --i-understand-this-loads-arbitrary-code
	Env              string       // RECOTEM_ENV

	// KeyRing verifies artifacts. Nil with KeyRingErr == nil means the
	// signing keys are missing (exit 8) unless DevAllowUnsigned.
	KeyRing    *format.KeyRing
	KeyRingErr error // RECOTEM_SIGNING_KEYS was malformed

	AllowedHosts   []string // empty → 127.0.0.1, localhost
	AllowedOrigins []string // empty → no CORS

	WatchInterval      time.Duration // clamped to [1s, 30s]; 0 → 5s
	DrainSeconds       int           // clamped to [1, 300]; 0 → 30
	MetricsEnabled     bool
	MetadataDeny       []string // column names dropped, case-insensitive
	StartupParallelism int      // 0 → min(#recipes, 8)
	Limits             format.Limits
	MaxDownloadBytes   int64         // metadata source cap; 0 → 256 MiB
	HTTPTimeout        time.Duration // metadata http(s) fetch timeout; 0 → 30 s
	HTTPAllowPrivate   bool          // RECOTEM_HTTP_ALLOW_PRIVATE for metadata fetches
	// ResultCacheBytes bounds each loaded model's result cache
	// (RECOTEM_RESULT_CACHE_BYTES); 0 turns caching off.
	ResultCacheBytes int64
	// CopyArtifacts serves every artifact from a private copy instead of a
	// leased mapping (RECOTEM_ARTIFACT_LOAD=copy; see guard.go).
	CopyArtifacts bool

	// Ready, when set, is called once every listener is bound with the TCP
	// address (tests use it with Port 0).
	Ready func(addr net.Addr)

	// unguardedForTest serves plain, unleased mappings: only for testing
	// the last line (request fault recovery) that the lease makes moot.
	unguardedForTest bool

	// watchIntervalRaw disables the clamp (tests only).
	watchIntervalRaw time.Duration
}

// ErrConfig marks configuration errors (exit 8).
var ErrConfig = errors.New("configuration error")

// ConfigError is a configuration problem found by Run before serving.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }
func (e *ConfigError) Unwrap() error { return ErrConfig }

// BindError is a listener that could not be bound (exit 8).
type BindError struct {
	Host  string
	Port  int
	Errno string
	Err   error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("bind %s: %v", net.JoinHostPort(e.Host, fmt.Sprint(e.Port)), e.Err)
}
func (e *BindError) Unwrap() error { return ErrConfig }

// IsDevEnv reports whether env allows --insecure-no-auth and the API docs.
func IsDevEnv(env string) bool {
	switch env {
	case "development", "dev", "test":
		return true
	}
	return false
}

func (c *Config) watchInterval() time.Duration {
	if c.watchIntervalRaw > 0 {
		return c.watchIntervalRaw
	}
	d := c.WatchInterval
	if d == 0 {
		d = 5 * time.Second
	}
	return min(max(d, time.Second), 30*time.Second)
}

// residency is where served artifacts' bytes live: a leased mapping
// (falling back to a private copy where the lease is refused) unless the
// configuration asks for private copies.
func (c *Config) residency() format.Residency {
	switch {
	case c.CopyArtifacts:
		return format.Private
	case c.unguardedForTest:
		return format.Mapped
	}
	return format.Leased
}

func (c *Config) drain() int {
	d := c.DrainSeconds
	if d == 0 {
		d = 30
	}
	return min(max(d, 1), 300)
}
