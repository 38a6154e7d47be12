//go:build !recotem_nocloud

package bqsrc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/bigquery"
	bqstorage "cloud.google.com/go/bigquery/storage/apiv1"
	"github.com/VictoriaMetrics/metrics"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
)

func init() { source.Register(recipe.TypeBigQuery, New) }

// Fallback reasons (the counter's label values).
const (
	ReasonMissingExtra = "missing_extra"
	ReasonAPIError     = "api_error"
	ReasonNoFallback   = "non_iam_error_no_fallback"
)

// Metrics holds recotem_bigquery_storage_fallback_total{reason}, one
// counter per reason, created at load.
var Metrics = metrics.NewSet()

var fallbackCounters = map[string]*metrics.Counter{
	ReasonMissingExtra: Metrics.NewCounter(`recotem_bigquery_storage_fallback_total{reason="missing_extra"}`),
	ReasonAPIError:     Metrics.NewCounter(`recotem_bigquery_storage_fallback_total{reason="api_error"}`),
	ReasonNoFallback:   Metrics.NewCounter(`recotem_bigquery_storage_fallback_total{reason="non_iam_error_no_fallback"}`),
}

// FallbackTotal returns the counter value for a reason.
func FallbackTotal(reason string) uint64 {
	if c := fallbackCounters[reason]; c != nil {
		return c.Get()
	}
	return 0
}

// Sentinels.
var (
	// ErrStorageUnavailable marks a Storage Read API client that could not
	// be created (reason missing_extra).
	ErrStorageUnavailable = errors.New("bigquery storage read client is not available")
	// ErrParam marks a query parameter of an unsupported type (exit 3).
	ErrParam = errors.New("bigquery query parameter")
	// ErrNoProject marks a missing project (exit 3).
	ErrNoProject = errors.New("bigquery project not configured")
)

// IsPermission reports whether a storage error is a permission failure
// (§5.4: HTTP 403, PermissionDenied/Forbidden, "permission denied").
func IsPermission(err error) bool {
	if status.Code(err) == codes.PermissionDenied {
		return true
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusForbidden {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "permissiondenied") || strings.Contains(s, "permission_denied") ||
		strings.Contains(s, "forbidden") || strings.Contains(s, "permission denied")
}

// endpoints is how a Source reaches BigQuery: client options for the REST
// API and for the Storage Read API (gRPC), and the credentials' project.
type endpoints struct {
	rest, storage []option.ClientOption
	project       string
}

// dial finds Application Default Credentials and uses Google's public
// endpoints. Tests replace it with their fake servers'.
var dial = func(ctx context.Context) (endpoints, error) {
	creds, err := credentials.DetectDefault(&credentials.DetectOptions{Scopes: bqstorage.DefaultAuthScopes()})
	if err != nil {
		return endpoints{}, err
	}
	project, _ := creds.ProjectID(ctx) // none is fine: the recipe or env may name one
	o := []option.ClientOption{option.WithAuthCredentials(creds), option.WithUserAgent("recotem")}
	return endpoints{rest: o, storage: o, project: project}, nil
}

// Source is one recipe's BigQuery source.
type Source struct {
	rec     *recipe.BigQuerySource
	columns []string
	opt     source.Options
}

// New is the source.Factory of type bigquery.
func New(r *recipe.Recipe, opt source.Options) (source.Source, error) {
	if r.Source.BigQuery == nil {
		return nil, dsErr(nil, "recipe source is not bigquery")
	}
	cols := opt.Columns
	if cols == nil {
		cols = source.Columns(r)
	}
	return &Source{rec: r.Source.BigQuery, columns: cols, opt: opt}, nil
}

func (s *Source) log() *slog.Logger {
	if s.opt.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.opt.Logger
}

func (s *Source) lookup(name string) string {
	if s.opt.LookupEnv == nil {
		return ""
	}
	v, _ := s.opt.LookupEnv(name)
	return strings.TrimSpace(v)
}

// connect builds the REST client for the job project: the recipe's
// project, else GOOGLE_CLOUD_PROJECT, else GCLOUD_PROJECT, else the
// credentials'.
func (s *Source) connect(ctx context.Context) (*bigquery.Client, endpoints, error) {
	ep, err := dial(ctx)
	if err != nil {
		return nil, ep, dsErr(err, "bigquery credentials")
	}
	project := ""
	switch {
	case s.rec.Project != nil && strings.TrimSpace(*s.rec.Project) != "":
		project = strings.TrimSpace(*s.rec.Project)
	case s.lookup("GOOGLE_CLOUD_PROJECT") != "":
		project = s.lookup("GOOGLE_CLOUD_PROJECT")
	case s.lookup("GCLOUD_PROJECT") != "":
		project = s.lookup("GCLOUD_PROJECT")
	default:
		project = ep.project
	}
	if project == "" {
		return nil, ep, dsErr(ErrNoProject, "bigquery project: set source.project or GOOGLE_CLOUD_PROJECT (the credentials name none)")
	}
	c, err := bigquery.NewClient(ctx, project, ep.rest...)
	if err != nil {
		return nil, ep, dsErr(err, "bigquery client")
	}
	return c, ep, nil
}

// queryParameters maps query_parameters to BigQuery's named parameters
// (BOOL, INT64, FLOAT64, STRING), sorted by name.
func queryParameters(params map[string]any) ([]bigquery.QueryParameter, error) {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]bigquery.QueryParameter, 0, len(names))
	for _, k := range names {
		var v any
		switch x := params[k].(type) {
		case bool, string, int64, float64:
			v = x
		case int:
			v = int64(x)
		case int32:
			v = int64(x)
		case float32:
			v = float64(x)
		default:
			return nil, dsErr(ErrParam, "bigquery query parameter %s must be a bool, integer, float or string (BOOL, INT64, FLOAT64, STRING), not %T", k, params[k])
		}
		out = append(out, bigquery.QueryParameter{Name: k, Value: v})
	}
	return out, nil
}

// query is the recipe's standard-SQL query as a job named recotem-….
func (s *Source) query(c *bigquery.Client, params []bigquery.QueryParameter) *bigquery.Query {
	q := c.Query(s.rec.Query)
	q.Parameters = params
	q.JobIDConfig = bigquery.JobIDConfig{JobID: "recotem", AddJobIDSuffix: true}
	return q
}

// Probe is validate's check: a dry-run job.
func (s *Source) Probe(ctx context.Context) error {
	params, err := queryParameters(s.rec.QueryParameters)
	if err != nil {
		return err
	}
	c, _, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	q := s.query(c, params)
	q.DryRun = true
	job, err := q.Run(ctx)
	if err == nil {
		err = job.LastStatus().Err()
	}
	if err != nil {
		return dsErr(err, "bigquery dry run")
	}
	return nil
}

// Fetch runs the query and streams its rows, Storage Read API first.
func (s *Source) Fetch(ctx context.Context, sink source.Sink) error {
	start := time.Now()
	log := s.log()
	params, err := queryParameters(s.rec.QueryParameters)
	if err != nil {
		return err
	}
	requireStorage := s.opt.BQRequireStorageAPI
	c, ep, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	log.Info("bigquery_source_fetch_start", "project", c.Project())
	job, err := s.query(c, params).Run(ctx)
	if err != nil {
		return dsErr(ctxErr(ctx, err), "bigquery query")
	}
	// Read waits for the job and returns the schema; REST rows are
	// fetched only when the iterator is advanced.
	it, err := job.Read(ctx)
	if err != nil {
		cancelJob(ctx, job)
		return dsErr(ctxErr(ctx, err), "bigquery query")
	}
	cols, err := s.resultColumns(it.Schema)
	if err != nil {
		return err
	}
	if it.TotalRows == 0 {
		return dsErr(nil, "bigquery query returned no rows")
	}

	// Storage Read API first.
	rows, sinkErr, serr := s.readStorage(ctx, c, ep, job, cols, sink)
	switch {
	case sinkErr != nil:
		return sinkErr
	case serr == nil && rows == 0:
		return dsErr(nil, "bigquery query returned no rows")
	case serr == nil:
		log.Info("bigquery_source_fetch_done", "n_rows", rows, "via", "storage", "seconds", time.Since(start).Seconds())
		return nil
	case ctx.Err() != nil:
		return dsErr(ctx.Err(), "bigquery storage read")
	}
	reason := ReasonNoFallback
	switch {
	case errors.Is(serr, ErrStorageUnavailable):
		reason = ReasonMissingExtra
	case rows == 0 && IsPermission(serr):
		reason = ReasonAPIError
	}
	fallbackCounters[reason].Inc()
	switch {
	case rows > 0:
		return dsErr(serr, "bigquery storage read failed after %d rows", rows)
	case requireStorage:
		return dsErr(serr, "bigquery storage read failed and RECOTEM_BQ_REQUIRE_STORAGE_API is set")
	case reason == ReasonNoFallback:
		return dsErr(serr, "bigquery storage read failed (not a permission error; no REST fallback)")
	}
	log.Warn("bigquery_storage_fallback", "reason", reason, "error", serr.Error())

	n, err := s.readREST(ctx, it, cols, sink)
	if err != nil {
		return err
	}
	if n == 0 {
		return dsErr(nil, "bigquery query returned no rows")
	}
	log.Info("bigquery_source_fetch_done", "n_rows", n, "via", "rest", "seconds", time.Since(start).Seconds())
	return nil
}

// ctxErr is the context's error once it is done (the client may report a
// cancellation in its own words), else err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// cancelJob asks BigQuery to stop a job whose wait was interrupted, so a
// cancelled train stops the query's billing too.
func cancelJob(ctx context.Context, job *bigquery.Job) {
	if ctx.Err() == nil {
		return
	}
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	job.Cancel(cctx) // best effort: the job's own error is what is reported
}

// column is one requested result column.
type column struct {
	name  string
	index int // position in the result schema
	typ   bigquery.FieldType
}

// resultColumns finds the requested columns in the result schema; each
// must be a scalar of a type resultValue reads.
func (s *Source) resultColumns(schema bigquery.Schema) ([]column, error) {
	names := make([]string, len(schema))
	for i, f := range schema {
		names[i] = f.Name
	}
	idx, err := source.ColumnIndex(s.columns, names)
	if err != nil {
		return nil, err
	}
	cols := make([]column, len(idx))
	for i, j := range idx {
		f := schema[j]
		if f.Repeated || !scalarTypes[f.Type] {
			kind := string(f.Type)
			if f.Repeated {
				kind = "REPEATED " + kind
			}
			return nil, dsErr(nil, "bigquery column %q is %s; recotem reads STRING, BYTES, INT64, FLOAT64, BOOL, NUMERIC, BIGNUMERIC, TIMESTAMP, DATE, DATETIME, TIME, GEOGRAPHY or JSON columns", f.Name, kind)
		}
		cols[i] = column{name: f.Name, index: j, typ: f.Type}
	}
	return cols, nil
}

var scalarTypes = map[bigquery.FieldType]bool{
	bigquery.StringFieldType: true, bigquery.BytesFieldType: true, bigquery.IntegerFieldType: true,
	bigquery.FloatFieldType: true, bigquery.BooleanFieldType: true, bigquery.NumericFieldType: true,
	bigquery.BigNumericFieldType: true, bigquery.TimestampFieldType: true, bigquery.DateFieldType: true,
	bigquery.DateTimeFieldType: true, bigquery.TimeFieldType: true, bigquery.GeographyFieldType: true,
	bigquery.JSONFieldType: true,
}

// readREST pages through the job's results (jobs.getQueryResults).
func (s *Source) readREST(ctx context.Context, it *bigquery.RowIterator, cols []column, sink source.Sink) (int, error) {
	vals := make([]source.Value, len(cols))
	var row []bigquery.Value
	n := 0
	for {
		err := ctx.Err() // a page's rows are buffered
		if err == nil {
			err = it.Next(&row)
		}
		if err == iterator.Done {
			return n, nil
		}
		if err != nil {
			return n, dsErr(ctxErr(ctx, err), "bigquery read results")
		}
		for i, c := range cols {
			if err := restValue(row[c.index], c.typ, &vals[i]); err != nil {
				return n, dsErr(nil, "bigquery row %d column %q: %v", n+1, c.name, err)
			}
		}
		if err := sink.Row(vals); err != nil {
			return n, err
		}
		n++
	}
}

// dsErr is a DataSource error (exit 3) wrapping cause.
func dsErr(cause error, format string, args ...any) *failure.Error {
	return &failure.Error{Class: failure.DataSource, Code: "datasource_error", Msg: fmt.Sprintf(format, args...), Err: cause}
}
