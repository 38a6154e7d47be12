package envconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
	"github.com/recotem/recotem/internal/logx"
)

// Variable names.
const (
	SigningKeys         = "RECOTEM_SIGNING_KEYS"
	APIKeys             = "RECOTEM_API_KEYS"
	Host                = "RECOTEM_HOST"
	Port                = "RECOTEM_PORT"
	WatchInterval       = "RECOTEM_WATCH_INTERVAL"
	LogFormat           = "RECOTEM_LOG_FORMAT"
	MaxArtifactBytes    = "RECOTEM_MAX_ARTIFACT_BYTES"
	MaxPayloadBytes     = "RECOTEM_MAX_PAYLOAD_BYTES"
	MaxDownloadBytes    = "RECOTEM_MAX_DOWNLOAD_BYTES"
	HTTPTimeoutSeconds  = "RECOTEM_HTTP_TIMEOUT_SECONDS"
	HTTPAllowPrivate    = "RECOTEM_HTTP_ALLOW_PRIVATE"
	SQLAllowPrivate     = "RECOTEM_SQL_ALLOW_PRIVATE"
	MaxSQLRows          = "RECOTEM_MAX_SQL_ROWS"
	BQRequireStorageAPI = "RECOTEM_BQ_REQUIRE_STORAGE_API"
	AllowedHosts        = "RECOTEM_ALLOWED_HOSTS"
	AllowedOrigins      = "RECOTEM_ALLOWED_ORIGINS"
	Env                 = "RECOTEM_ENV"
	DrainSeconds        = "RECOTEM_DRAIN_SECONDS"
	MetadataFieldDeny   = "RECOTEM_METADATA_FIELD_DENY"
	MetricsEnabled      = "RECOTEM_METRICS_ENABLED"
	ArtifactRoot        = "RECOTEM_ARTIFACT_ROOT"
	LockDir             = "RECOTEM_LOCK_DIR"
	StartupParallelism  = "RECOTEM_STARTUP_PARALLELISM"
	APIPlaintext        = "RECOTEM_API_PLAINTEXT"
	ResultCacheBytes    = "RECOTEM_RESULT_CACHE_BYTES"
	ArtifactLoad        = "RECOTEM_ARTIFACT_LOAD"
	TrainMemoryLimit    = "RECOTEM_TRAIN_MEMORY_LIMIT"
	// RecipePrefix starts the recipe expansion variables (§3.4).
	RecipePrefix = "RECOTEM_RECIPE_"
)

// Sizes.
const (
	KiB = int64(1) << 10
	MiB = int64(1) << 20
	GiB = int64(1) << 30
)

// Commands whose rules differ (§2 "by" column, §1.2).
const (
	CmdTrain    = "train"
	CmdServe    = "serve"
	CmdInspect  = "inspect"
	CmdValidate = "validate"
	CmdSchema   = "schema"
	CmdKeygen   = "keygen"
	CmdBench    = "bench"
)

// ErrConfig is the sentinel every *Error wraps: a ConfigError, exit code 8.
var ErrConfig = errors.New("configuration error")

// Error is a ConfigError about one variable. Its message names the variable
// and never contains a secret value.
type Error struct {
	Var string
	Msg string
	Err error // underlying cause, if any (e.g. *format.KeyError)
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// Unwrap returns ErrConfig and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrConfig, e.Err}
	}
	return []error{ErrConfig}
}

// Lookup reads one environment variable (os.LookupEnv in production).
type Lookup func(name string) (string, bool)

// Options of Load.
type Options struct {
	// Command selects which variables are validated strictly (§1.2): bad
	// RECOTEM_PORT, RECOTEM_WATCH_INTERVAL and RECOTEM_API_KEYS fail serve;
	// a bad RECOTEM_LOG_FORMAT fails serve and inspect (elsewhere it falls
	// back to auto); payload cap > artifact cap fails serve and inspect.
	// Empty means every check applies.
	Command string
	// Logger receives env_var_unparseable and env_var_clamped; nil discards.
	Logger *slog.Logger
}

// Config holds every RECOTEM_* value after defaults and clamps.
type Config struct {
	// Signing keys: see KeyRing. Set reports whether the variable held a
	// non-blank value.
	SigningKeysSet bool
	signingKeys    string

	APIKeys []apikey.Key // parsed RECOTEM_API_KEYS; empty = anonymous + loopback

	Host string // RECOTEM_HOST, default 127.0.0.1
	Port int    // RECOTEM_PORT, default 8080, 1..65535

	WatchInterval time.Duration // RECOTEM_WATCH_INTERVAL, default 5 s, silently clamped to [1 s, 30 s]
	LogFormat     string        // auto, json or console

	MaxArtifactBytes int64 // default 2 GiB, [1 MiB, 16 GiB]
	MaxPayloadBytes  int64 // default 512 MiB, [1 MiB, 16 GiB], ≤ MaxArtifactBytes for serve/inspect
	MaxDownloadBytes int64 // default 256 MiB, [1 MiB, 16 GiB]

	HTTPTimeout         time.Duration // RECOTEM_HTTP_TIMEOUT_SECONDS, default 30 s, [1, 600] s
	HTTPAllowPrivate    bool
	SQLAllowPrivate     bool
	MaxSQLRows          int64 // default 50,000,000, [1,000, 500,000,000]
	BQRequireStorageAPI bool

	AllowedHosts   []string // default 127.0.0.1, localhost
	AllowedOrigins []string // default none (no CORS)

	Env string // RECOTEM_ENV, trimmed and lower-cased

	Drain             time.Duration // RECOTEM_DRAIN_SECONDS, default 30 s, [1, 300] s
	MetadataFieldDeny []string      // lower-cased
	MetricsEnabled    bool
	ArtifactRoot      string // empty = no containment
	LockDir           string // default <tmp>/recotem-locks

	// StartupParallelism is the configured value in [1, 32], or 0 when unset
	// (then Parallelism picks min(#recipes, 8)).
	StartupParallelism int

	// ResultCacheBytes bounds each loaded model's result cache
	// (RECOTEM_RESULT_CACHE_BYTES, an extension of this implementation):
	// default 32 MiB, [0, 16 GiB], 0 turns caching off.
	ResultCacheBytes int64

	// ArtifactLoad is where serve keeps verified artifact bytes
	// (RECOTEM_ARTIFACT_LOAD, an extension of this implementation): "auto"
	// (default) maps each file under a read lease, falling back to a
	// private copy where the file system refuses the lease; "copy" always
	// serves from a private copy. Anything else is a configuration error
	// for serve.
	ArtifactLoad string

	// TrainMemoryLimit is the memory a train run may hold in total
	// (RECOTEM_TRAIN_MEMORY_LIMIT, a size such as 12GiB; an extension of
	// this implementation): 0 (unset) means the cgroup's limit or the
	// host's available memory. A value that is not a size is a
	// configuration error for train; below 64 MiB is clamped.
	TrainMemoryLimit int64

	apiPlaintext string
	lookup       Lookup
}

// Limits returns the artifact caps for format.Open.
func (c *Config) Limits() format.Limits {
	return format.Limits{MaxArtifactBytes: c.MaxArtifactBytes, MaxPayloadBytes: c.MaxPayloadBytes}
}

// KeyRing parses RECOTEM_SIGNING_KEYS. It returns (nil, nil) when the
// variable is unset or blank (callers decide: train and serve exit 8,
// inspect names the kid and both remedies) and a *Error naming the entry
// position, never its bytes, when it is malformed.
func (c *Config) KeyRing() (*format.KeyRing, error) {
	if !c.SigningKeysSet {
		return nil, nil
	}
	r, err := format.ParseKeyRing(c.signingKeys)
	if err != nil {
		msg := "malformed"
		var ke *format.KeyError
		if errors.As(err, &ke) {
			msg = ke.Msg
			if ke.Entry > 0 {
				msg = fmt.Sprintf("entry %d: %s", ke.Entry, ke.Msg)
			}
		}
		return nil, &Error{Var: SigningKeys, Msg: msg, Err: err}
	}
	return r, nil
}

// APIPlaintext is RECOTEM_API_PLAINTEXT (bench's API key); keep it out of logs.
func (c *Config) APIPlaintext() string { return c.apiPlaintext }

// RecipeVar returns a RECOTEM_RECIPE_* variable for recipe expansion (§3.4);
// any other name reports false.
func (c *Config) RecipeVar(name string) (string, bool) {
	if !strings.HasPrefix(name, RecipePrefix) || c.lookup == nil {
		return "", false
	}
	return c.lookup(name)
}

// External reads a variable that is not one of Load's settings: a
// RECOTEM_RECIPE_* value (recipe expansion, sql dsn_env) or an ambient name
// a library reads on the SDK's behalf (MYSQL_USER, MYSQL_PWD,
// GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT). Every other RECOTEM_* name reports
// false: those are read once, by Load, into typed fields.
func (c *Config) External(name string) (string, bool) {
	if c.lookup == nil || (strings.HasPrefix(name, "RECOTEM_") && !strings.HasPrefix(name, RecipePrefix)) {
		return "", false
	}
	return c.lookup(name)
}

// DevAllowed reports RECOTEM_ENV == development (--dev-allow-unsigned).
func (c *Config) DevAllowed() bool { return c.Env == "development" }

// InsecureAllowed reports RECOTEM_ENV ∈ {development, dev, test}
// (--insecure-no-auth, and the /docs, /redoc, /openapi.json routes).
func (c *Config) InsecureAllowed() bool {
	return c.Env == "development" || c.Env == "dev" || c.Env == "test"
}

// BannerInterval is how often serve repeats the unsafe-mode banner.
func (c *Config) BannerInterval() time.Duration {
	if c.Env == "test" {
		return 60 * time.Second
	}
	return 300 * time.Second
}

// Parallelism is the startup load parallelism for nRecipes recipes:
// RECOTEM_STARTUP_PARALLELISM if set, else min(nRecipes, 8), at least 1.
func (c *Config) Parallelism(nRecipes int) int {
	if c.StartupParallelism > 0 {
		return c.StartupParallelism
	}
	return max(1, min(nRecipes, 8))
}

// Truthy reports whether s is 1, true, yes or on (trimmed, any case).
func Truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// List splits s at commas, trims each element and drops empty ones.
func List(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

type loader struct {
	get    Lookup
	logger *slog.Logger
}

func (l *loader) str(name string) (string, bool) {
	v, ok := l.get(name)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

// int64 reads an integer (or a size with a KiB/MiB/GiB/TiB suffix when size
// is true) with the §2 default, clamp and events.
func (l *loader) int64(name string, def, lo, hi int64, size bool) int64 {
	raw, ok := l.str(name)
	if !ok {
		return def
	}
	v, err := parseInt(raw, size)
	if err != nil {
		l.logger.Warn("env_var_unparseable", "name", name, "raw", raw, "fallback", def)
		return def
	}
	if v < lo || v > hi {
		c := min(max(v, lo), hi)
		l.logger.Warn("env_var_clamped", "name", name, "requested", v, "clamped", c, "lo", lo, "hi", hi)
		return c
	}
	return v
}

var sizeSuffixes = []struct {
	s string
	m int64
}{{"kib", KiB}, {"mib", MiB}, {"gib", GiB}, {"tib", 1 << 40}, {"b", 1}}

func parseInt(raw string, size bool) (int64, error) {
	if v, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return v, nil
	} else if !size {
		return 0, err
	}
	lower := strings.ToLower(raw)
	for _, s := range sizeSuffixes {
		if num, ok := strings.CutSuffix(lower, s.s); ok {
			v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil {
				return 0, err
			}
			if v > math.MaxInt64/s.m || v < math.MinInt64/s.m {
				return 0, strconv.ErrRange
			}
			return v * s.m, nil
		}
	}
	return 0, strconv.ErrSyntax
}

func (l *loader) bool(name string) bool {
	v, _ := l.get(name)
	return Truthy(v)
}

func (l *loader) list(name string, def []string) []string {
	v, _ := l.get(name)
	if out := List(v); len(out) > 0 {
		return out
	}
	return def
}

// quote renders a non-secret raw value for an error message, bounded.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

// LogFormatFor is the format a command's logger is built with before Load
// runs, so that Load's own events (env_var_unparseable, env_var_clamped)
// come out in it: RECOTEM_LOG_FORMAT trimmed and lower-cased when it is
// auto, json or console, else auto. Load reports a bad value (a
// ConfigError for serve and inspect) and sets Config.LogFormat the same way.
func LogFormatFor(lookup Lookup) string {
	f, _ := logFormat(lookup)
	return f
}

// logFormat reads RECOTEM_LOG_FORMAT; ok is false for a set, invalid value.
func logFormat(lookup Lookup) (format string, ok bool) {
	v, set := lookup(LogFormat)
	if v = strings.ToLower(strings.TrimSpace(v)); !set || v == "" {
		return logx.FormatAuto, true
	}
	if logx.ValidFormat(v) {
		return v, true
	}
	return logx.FormatAuto, false
}

// Load reads every variable of §2 through lookup. It returns the first
// ConfigError that applies to opts.Command, in the order: RECOTEM_PORT,
// RECOTEM_WATCH_INTERVAL, RECOTEM_LOG_FORMAT, RECOTEM_API_KEYS, payload cap >
// artifact cap. Malformed signing keys are reported by Config.KeyRing, so
// that each command can place that check where its order of checks says.
func Load(lookup Lookup, opts Options) (*Config, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &loader{get: lookup, logger: logger}
	cmd := opts.Command
	strict := func(cmds ...string) bool {
		if cmd == "" {
			return true
		}
		for _, c := range cmds {
			if c == cmd {
				return true
			}
		}
		return false
	}
	c := &Config{lookup: lookup}
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}

	if v, ok := l.str(SigningKeys); ok {
		c.SigningKeysSet, c.signingKeys = true, v
	}

	c.Host = "127.0.0.1"
	if v, ok := l.str(Host); ok {
		c.Host = v
	}
	c.Port = 8080
	if v, ok := l.str(Port); ok {
		p, err := strconv.Atoi(v)
		switch {
		case err != nil:
			if strict(CmdServe) {
				fail(&Error{Var: Port, Msg: "not an integer: " + quote(v)})
			}
		case p < 1 || p > 65535:
			if strict(CmdServe) {
				fail(&Error{Var: Port, Msg: fmt.Sprintf("%d is outside 1..65535", p)})
			}
		default:
			c.Port = p
		}
	}

	c.WatchInterval = 5 * time.Second
	if v, ok := l.str(WatchInterval); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			if strict(CmdServe) {
				fail(&Error{Var: WatchInterval, Msg: "not a number of seconds: " + quote(v)})
			}
		} else {
			f = min(max(f, 1), 30) // silently clamped (§2)
			c.WatchInterval = time.Duration(f * float64(time.Second))
		}
	}

	var logOK bool
	c.LogFormat, logOK = logFormat(lookup)
	if v, _ := l.str(LogFormat); !logOK && strict(CmdServe, CmdInspect) {
		fail(&Error{Var: LogFormat, Msg: "must be auto, json or console, not " + quote(v)})
	}

	if v, ok := l.str(APIKeys); ok {
		keys, err := apikey.ParseKeys(v)
		if err != nil {
			if strict(CmdServe) {
				var pe *apikey.ParseError
				msg := "malformed"
				if errors.As(err, &pe) {
					msg = fmt.Sprintf("entry %d: %s", pe.Entry, pe.Msg)
				}
				fail(&Error{Var: APIKeys, Msg: msg, Err: err})
			}
		} else {
			c.APIKeys = keys
		}
	}

	c.MaxArtifactBytes = l.int64(MaxArtifactBytes, 2*GiB, MiB, 16*GiB, true)
	c.MaxPayloadBytes = l.int64(MaxPayloadBytes, 512*MiB, MiB, 16*GiB, true)
	c.MaxDownloadBytes = l.int64(MaxDownloadBytes, 256*MiB, MiB, 16*GiB, true)
	if c.MaxPayloadBytes > c.MaxArtifactBytes && strict(CmdServe, CmdInspect) {
		fail(&Error{Var: MaxPayloadBytes, Msg: fmt.Sprintf("%d exceeds %s (%d)", c.MaxPayloadBytes, MaxArtifactBytes, c.MaxArtifactBytes)})
	}

	c.HTTPTimeout = time.Duration(l.int64(HTTPTimeoutSeconds, 30, 1, 600, false)) * time.Second
	c.HTTPAllowPrivate = l.bool(HTTPAllowPrivate)
	c.SQLAllowPrivate = l.bool(SQLAllowPrivate)
	c.MaxSQLRows = l.int64(MaxSQLRows, 50_000_000, 1_000, 500_000_000, false)
	c.BQRequireStorageAPI = l.bool(BQRequireStorageAPI)

	c.AllowedHosts = l.list(AllowedHosts, []string{"127.0.0.1", "localhost"})
	c.AllowedOrigins = l.list(AllowedOrigins, nil)

	if v, ok := l.str(Env); ok {
		c.Env = strings.ToLower(v)
	}
	c.Drain = time.Duration(l.int64(DrainSeconds, 30, 1, 300, false)) * time.Second
	c.ResultCacheBytes = l.int64(ResultCacheBytes, 32*MiB, 0, 16*GiB, true)
	c.ArtifactLoad = "auto"
	if v, ok := l.str(ArtifactLoad); ok {
		if lv := strings.ToLower(v); lv == "auto" || lv == "copy" {
			c.ArtifactLoad = lv
		} else if strict(CmdServe) {
			fail(&Error{Var: ArtifactLoad, Msg: "must be auto or copy, not " + quote(v)})
		}
	}
	if raw, ok := l.str(TrainMemoryLimit); ok {
		if v, err := parseInt(raw, true); err != nil || v <= 0 {
			if strict(CmdTrain) {
				fail(&Error{Var: TrainMemoryLimit, Msg: "want a positive size such as 12GiB, not " + quote(raw)})
			}
		} else {
			c.TrainMemoryLimit = l.int64(TrainMemoryLimit, 0, 64*MiB, 1<<50, true)
		}
	}
	for _, f := range l.list(MetadataFieldDeny, nil) {
		c.MetadataFieldDeny = append(c.MetadataFieldDeny, strings.ToLower(f))
	}
	c.MetricsEnabled = l.bool(MetricsEnabled)
	if v, ok := l.str(ArtifactRoot); ok {
		c.ArtifactRoot = v
	}
	if v, ok := l.str(LockDir); ok {
		c.LockDir = v
	} else {
		tmp, ok := l.str("TMPDIR")
		if !ok {
			tmp = "/tmp"
		}
		c.LockDir = filepath.Join(tmp, "recotem-locks")
	}
	if _, ok := l.str(StartupParallelism); ok {
		c.StartupParallelism = int(l.int64(StartupParallelism, 0, 1, 32, false))
	}
	if v, ok := lookup(APIPlaintext); ok {
		c.apiPlaintext = strings.TrimSpace(v)
	}
	if first != nil {
		return nil, first
	}
	return c, nil
}

// String renders the configuration without secrets (fmt would otherwise
// print the unexported key fields).
func (c *Config) String() string {
	return fmt.Sprintf("envconfig.Config{signing_keys_set:%v api_keys:%d host:%s port:%d watch:%s log_format:%s max_artifact:%d max_payload:%d env:%q}",
		c.SigningKeysSet, len(c.APIKeys), c.Host, c.Port, c.WatchInterval, c.LogFormat, c.MaxArtifactBytes, c.MaxPayloadBytes, c.Env)
}
