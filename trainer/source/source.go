package source

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
)

// DefaultMaxDownloadBytes is RECOTEM_MAX_DOWNLOAD_BYTES's default (256 MiB).
const DefaultMaxDownloadBytes = 256 << 20

// Kind is the type of one Value.
type Kind uint8

const (
	Null   Kind = iota
	String      // Str holds the text (ids, timestamps as text)
	Int         // Int holds the value
	Float       // Float holds the value
	Time        // Int holds unix nanoseconds (UTC), from a typed timestamp/date
	Bool        // Int holds 0 or 1
)

// Value is one cell. Str aliases the source's buffer: it is valid only
// during the Sink.Row call that received it.
type Value struct {
	Kind  Kind
	Str   []byte
	Int   int64
	Float float64
}

// Sink receives the requested columns of each row, in source row order.
type Sink interface {
	// Row receives one row; vals[i] is column i of Options.Columns. vals and
	// the bytes inside are reused after Row returns.
	Row(vals []Value) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(vals []Value) error

// Row calls f.
func (f SinkFunc) Row(vals []Value) error { return f(vals) }

// Source reads one recipe's interactions.
type Source interface {
	// Probe is validate's cheap check (existence, size cap, guards); it
	// reads no rows.
	Probe(ctx context.Context) error
	// Fetch streams every row to sink. A missing column is a DataSource
	// error naming it and at most ten available columns.
	Fetch(ctx context.Context, sink Sink) error
}

// Settings are the RECOTEM_* values of recotem-behavior.md §2 a source
// obeys. cmd/recotem reads them once, with internal/envconfig (defaults,
// clamps, env_var_* events), and passes them down; no source reads the
// environment for them. The zero value is the defaults.
type Settings struct {
	// MaxDownloadBytes caps the raw bytes of one source read
	// (RECOTEM_MAX_DOWNLOAD_BYTES); 0 means DefaultMaxDownloadBytes.
	MaxDownloadBytes int64
	// HTTPTimeout bounds one http(s) download (RECOTEM_HTTP_TIMEOUT_SECONDS);
	// 0 means 30 s.
	HTTPTimeout time.Duration
	// HTTPAllowPrivate turns the http(s) address guard off
	// (RECOTEM_HTTP_ALLOW_PRIVATE).
	HTTPAllowPrivate bool
	// SQLAllowPrivate turns the SQL host guard off (RECOTEM_SQL_ALLOW_PRIVATE).
	SQLAllowPrivate bool
	// MaxSQLRows caps the rows of a SQL result (RECOTEM_MAX_SQL_ROWS); 0
	// means 50,000,000.
	MaxSQLRows int64
	// BQRequireStorageAPI makes any BigQuery Storage Read API failure a
	// DataSource error instead of a REST fallback
	// (RECOTEM_BQ_REQUIRE_STORAGE_API).
	BQRequireStorageAPI bool
}

// Options configure a source. The zero value uses the defaults.
type Options struct {
	Settings
	// Logger receives <type>_source_* events; nil logs nothing.
	Logger *slog.Logger
	// LookupEnv reads the variables that are not settings: the one a recipe
	// names (sql dsn_env, a RECOTEM_RECIPE_* name) and the ambient project
	// of BigQuery (GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT); cmd/recotem passes
	// envconfig.Config.External, which never returns a RECOTEM_* setting.
	// nil means empty.
	LookupEnv func(string) (string, bool)
	// Columns to read, in order; nil means the recipe's user, item and (if
	// set) time columns.
	Columns []string
}

func (o Options) cap() int64 {
	if o.MaxDownloadBytes <= 0 {
		return DefaultMaxDownloadBytes
	}
	return o.MaxDownloadBytes
}

func (o Options) log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Columns returns the columns a recipe's interactions need: user, item and,
// if configured, time.
func Columns(r *recipe.Recipe) []string {
	c := []string{r.Schema.UserColumn, r.Schema.ItemColumn}
	if r.Schema.TimeColumn != nil {
		c = append(c, *r.Schema.TimeColumn)
	}
	return c
}

// Factory builds a Source for a recipe.
type Factory func(r *recipe.Recipe, opt Options) (Source, error)

// Opener returns the raw (possibly compressed) bytes behind a non-local
// path, e.g. an http(s) or object-store URI. It must enforce the download
// cap and return classified *failure.Error values.
type Opener func(ctx context.Context, path string, opt Options) (io.ReadCloser, error)

// Prober is validate's check of a non-local path of a URI scheme, without
// reading the data (e.g. the http(s) address guard). It returns classified
// *failure.Error values.
type Prober func(ctx context.Context, path string, opt Options) error

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
	openers   = map[string]Opener{}
	probers   = map[string]Prober{}
)

// Register makes a source type available to New; a later call for the same
// type replaces the earlier one.
func Register(typ string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	factories[typ] = f
}

// RegisterOpener makes csv and parquet sources able to read paths of a URI
// scheme (lower case, e.g. "https", "s3").
func RegisterOpener(scheme string, o Opener) {
	mu.Lock()
	defer mu.Unlock()
	openers[strings.ToLower(scheme)] = o
}

// RegisterProber makes csv and parquet Probe run p for paths of a URI
// scheme (lower case); schemes without one only need an opener.
func RegisterProber(scheme string, p Prober) {
	mu.Lock()
	defer mu.Unlock()
	probers[strings.ToLower(scheme)] = p
}

func prober(scheme string) Prober {
	mu.RLock()
	defer mu.RUnlock()
	return probers[scheme]
}

func opener(scheme string) Opener {
	mu.RLock()
	defer mu.RUnlock()
	return openers[scheme]
}

// Registered lists the registered source types.
func Registered() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for k := range factories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds the recipe's source. A type nobody registered is a DataSource
// error (exit 3).
func New(r *recipe.Recipe, opt Options) (Source, error) {
	mu.RLock()
	f := factories[r.Source.Type]
	mu.RUnlock()
	if f == nil {
		return nil, failure.New(failure.DataSource, "datasource_error", "source type %s is not available in this build", r.Source.Type)
	}
	if opt.Columns == nil {
		opt.Columns = Columns(r)
	}
	return f(r, opt)
}

// dsErr is a DataSource error (exit 3).
func dsErr(format string, args ...any) *failure.Error {
	return failure.New(failure.DataSource, "datasource_error", format, args...)
}

// missingColumn names the absent column and at most ten available ones.
func missingColumn(col string, have []string) *failure.Error {
	shown := have
	more := ""
	if len(shown) > 10 {
		shown = shown[:10]
		more = fmt.Sprintf(", … (%d more)", len(have)-10)
	}
	return dsErr("column %q not found in source; available columns: %s%s", col, strings.Join(shown, ", "), more)
}

// ColumnIndex maps the wanted columns to their positions in have; a missing
// one is a DataSource error naming it and at most ten available columns.
// Every source type uses it so the wording is the same everywhere.
func ColumnIndex(want, have []string) ([]int, error) {
	idx := make([]int, len(want))
	for i, w := range want {
		idx[i] = -1
		for j, h := range have {
			if h == w {
				idx[i] = j
				break
			}
		}
		if idx[i] < 0 {
			return nil, missingColumn(w, have)
		}
	}
	return idx, nil
}
