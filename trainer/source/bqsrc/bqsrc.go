package bqsrc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/recotem/recotem/tools/envconfig"
	"github.com/recotem/recotem/trainer/failure"
	"github.com/recotem/recotem/trainer/recipe"
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
	// ErrStorageUnavailable is what an absent Storage reader reports.
	ErrStorageUnavailable = errors.New("bigquery storage read client is not available in this build")
	// ErrParam marks a query parameter of an unsupported type (exit 3).
	ErrParam = errors.New("bigquery query parameter")
	// ErrNoProject marks a missing project (exit 3).
	ErrNoProject = errors.New("bigquery project not configured")
)

// APIError is an error answer of the BigQuery REST API.
type APIError struct {
	HTTPStatus int
	Status     string // e.g. PERMISSION_DENIED
	Reason     string // first errors[].reason, e.g. accessDenied
	Message    string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("bigquery: HTTP %d", e.HTTPStatus)
	if e.Status != "" {
		s += " " + e.Status
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// TableRef names a table.
type TableRef struct {
	ProjectID string `json:"projectId"`
	DatasetID string `json:"datasetId"`
	TableID   string `json:"tableId"`
}

// StorageReader reads a finished query's destination table through the
// BigQuery Storage Read API, calling emit once per row with the values of
// columns in order (the source.Value contract applies). A permission
// failure must be recognisable by IsPermission.
type StorageReader interface {
	Read(ctx context.Context, table TableRef, columns []string, emit func([]source.Value) error) error
}

// Storage is the Storage Read API reader; nil (this build) means
// unavailable, reason missing_extra.
var Storage StorageReader

// IsPermission reports whether a storage error is a permission failure
// (§5.4: HTTP 403, PermissionDenied/Forbidden, "permission denied").
func IsPermission(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) && (ae.HTTPStatus == http.StatusForbidden || ae.Status == "PERMISSION_DENIED") {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "permissiondenied") || strings.Contains(s, "permission_denied") ||
		strings.Contains(s, "forbidden") || strings.Contains(s, "permission denied")
}

// Endpoint is the REST base URL.
const Endpoint = "https://bigquery.googleapis.com/bigquery/v2"

const scope = "https://www.googleapis.com/auth/bigquery"

// connect returns the HTTP client, the REST base and the credentials'
// default project. Tests replace it with a fake server's.
var connect = func(ctx context.Context) (*http.Client, string, string, error) {
	creds, err := google.FindDefaultCredentials(ctx, scope)
	if err != nil {
		return nil, "", "", err
	}
	return oauth2.NewClient(ctx, creds.TokenSource), Endpoint, creds.ProjectID, nil
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

// api is one connected REST client.
type api struct {
	hc      *http.Client
	base    string
	project string
}

func (s *Source) connect(ctx context.Context) (*api, error) {
	hc, base, credProject, err := connect(ctx)
	if err != nil {
		return nil, dsErr(err, "bigquery credentials")
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
		project = credProject
	}
	if project == "" {
		return nil, dsErr(ErrNoProject, "bigquery project: set source.project or GOOGLE_CLOUD_PROJECT (the credentials name none)")
	}
	return &api{hc: hc, base: strings.TrimRight(base, "/"), project: project}, nil
}

// queryParameters maps query_parameters to BigQuery's named parameters.
func queryParameters(params map[string]any) ([]any, error) {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, k := range names {
		var typ, val string
		switch x := params[k].(type) {
		case bool:
			typ, val = "BOOL", strconv.FormatBool(x)
		case int:
			typ, val = "INT64", strconv.Itoa(x)
		case int64:
			typ, val = "INT64", strconv.FormatInt(x, 10)
		case int32:
			typ, val = "INT64", strconv.FormatInt(int64(x), 10)
		case float64:
			typ, val = "FLOAT64", strconv.FormatFloat(x, 'g', -1, 64)
		case float32:
			typ, val = "FLOAT64", strconv.FormatFloat(float64(x), 'g', -1, 32)
		case string:
			typ, val = "STRING", x
		default:
			return nil, dsErr(ErrParam, "bigquery query parameter %s must be a bool, integer, float or string (BOOL, INT64, FLOAT64, STRING), not %T", k, params[k])
		}
		out = append(out, map[string]any{
			"name":           k,
			"parameterType":  map[string]string{"type": typ},
			"parameterValue": map[string]string{"value": val},
		})
	}
	return out, nil
}

type jobRef struct {
	ProjectID string `json:"projectId"`
	JobID     string `json:"jobId"`
	Location  string `json:"location,omitempty"`
}

type job struct {
	JobReference  jobRef `json:"jobReference"`
	Configuration struct {
		Query struct {
			DestinationTable *TableRef `json:"destinationTable"`
		} `json:"query"`
	} `json:"configuration"`
	Status struct {
		State       string `json:"state"`
		ErrorResult *struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errorResult"`
	} `json:"status"`
}

// insert starts the query job (or a dry run).
func (a *api) insert(ctx context.Context, query string, params []any, dryRun bool) (*job, error) {
	id := make([]byte, 12)
	rand.Read(id)
	q := map[string]any{"query": query, "useLegacySql": false}
	if len(params) > 0 {
		q["parameterMode"] = "NAMED"
		q["queryParameters"] = params
	}
	body := map[string]any{
		"jobReference":  map[string]string{"projectId": a.project, "jobId": "recotem_" + hex.EncodeToString(id)},
		"configuration": map[string]any{"query": q, "dryRun": dryRun},
	}
	var j job
	if err := a.do(ctx, http.MethodPost, "/projects/"+url.PathEscape(a.project)+"/jobs", nil, body, &j); err != nil {
		return nil, err
	}
	if j.Status.ErrorResult != nil {
		return nil, &APIError{HTTPStatus: http.StatusOK, Reason: j.Status.ErrorResult.Reason, Message: j.Status.ErrorResult.Message}
	}
	if j.JobReference.JobID == "" {
		j.JobReference = jobRef{ProjectID: a.project, JobID: "recotem_" + hex.EncodeToString(id)}
	}
	return &j, nil
}

func (a *api) get(ctx context.Context, ref jobRef) (*job, error) {
	v := url.Values{}
	if ref.Location != "" {
		v.Set("location", ref.Location)
	}
	var j job
	err := a.do(ctx, http.MethodGet, "/projects/"+url.PathEscape(ref.ProjectID)+"/jobs/"+url.PathEscape(ref.JobID), v, nil, &j)
	return &j, err
}

type field struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Mode string `json:"mode"`
}

type page struct {
	JobComplete bool `json:"jobComplete"`
	Schema      *struct {
		Fields []field `json:"fields"`
	} `json:"schema"`
	Rows []struct {
		F []struct {
			V json.RawMessage `json:"v"`
		} `json:"f"`
	} `json:"rows"`
	PageToken string `json:"pageToken"`
	TotalRows string `json:"totalRows"`
}

// results fetches one getQueryResults page.
func (a *api) results(ctx context.Context, ref jobRef, token string, maxResults int) (*page, error) {
	v := url.Values{}
	if ref.Location != "" {
		v.Set("location", ref.Location)
	}
	if token != "" {
		v.Set("pageToken", token)
	}
	if maxResults >= 0 {
		v.Set("maxResults", strconv.Itoa(maxResults))
	}
	v.Set("timeoutMs", "10000")
	v.Set("formatOptions.useInt64Timestamp", "true")
	var p page
	err := a.do(ctx, http.MethodGet, "/projects/"+url.PathEscape(ref.ProjectID)+"/queries/"+url.PathEscape(ref.JobID), v, nil, &p)
	return &p, err
}

// do sends one JSON request; an error answer becomes an *APIError.
func (a *api) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := a.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "recotem/2")
	resp, err := a.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Status  string `json:"status"`
				Errors  []struct {
					Reason string `json:"reason"`
				} `json:"errors"`
			} `json:"error"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		ae := &APIError{HTTPStatus: resp.StatusCode}
		if json.Unmarshal(raw, &e) == nil {
			ae.Status, ae.Message = e.Error.Status, e.Error.Message
			if len(e.Error.Errors) > 0 {
				ae.Reason = e.Error.Errors[0].Reason
			}
		}
		return ae
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("bigquery: decode response: %w", err)
	}
	return nil
}

// Probe is validate's check: a dry-run job.
func (s *Source) Probe(ctx context.Context) error {
	params, err := queryParameters(s.rec.QueryParameters)
	if err != nil {
		return err
	}
	a, err := s.connect(ctx)
	if err != nil {
		return err
	}
	if _, err := a.insert(ctx, s.rec.Query, params, true); err != nil {
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
	requireStorage := envconfig.Truthy(s.lookup(envconfig.BQRequireStorageAPI))
	a, err := s.connect(ctx)
	if err != nil {
		return err
	}
	log.Info("bigquery_source_fetch_start", "project", a.project)
	j, err := a.insert(ctx, s.rec.Query, params, false)
	if err != nil {
		return dsErr(err, "bigquery query")
	}
	ref := j.JobReference
	// Wait for the job without fetching rows.
	first, err := a.results(ctx, ref, "", 0)
	for err == nil && !first.JobComplete {
		if err = ctx.Err(); err == nil {
			first, err = a.results(ctx, ref, "", 0)
		}
	}
	if err != nil {
		return dsErr(err, "bigquery query")
	}

	// Storage Read API first.
	var serr error
	rows := 0
	if Storage == nil {
		serr = ErrStorageUnavailable
	} else {
		var info *job
		if info, serr = a.get(ctx, ref); serr == nil {
			if t := info.Configuration.Query.DestinationTable; t == nil {
				serr = errors.New("bigquery job has no destination table")
			} else {
				serr = Storage.Read(ctx, *t, s.columns, func(v []source.Value) error {
					rows++
					return sink.Row(v)
				})
			}
		}
		if serr == nil {
			log.Info("bigquery_source_fetch_done", "n_rows", rows, "via", "storage", "seconds", time.Since(start).Seconds())
			return nil
		}
	}
	reason := ReasonNoFallback
	switch {
	case errors.Is(serr, ErrStorageUnavailable):
		reason = ReasonMissingExtra
	case rows == 0 && IsPermission(serr):
		reason = ReasonAPIError
	}
	fallbackCounters[reason].Inc()
	var fe *failure.Error
	switch {
	case errors.As(serr, &fe) && rows > 0:
		return serr // the sink's own error
	case rows > 0:
		return dsErr(serr, "bigquery storage read failed after %d rows", rows)
	case requireStorage:
		return dsErr(serr, "bigquery storage read failed and RECOTEM_BQ_REQUIRE_STORAGE_API is set")
	case reason == ReasonNoFallback:
		return dsErr(serr, "bigquery storage read failed (not a permission error; no REST fallback)")
	}
	log.Warn("bigquery_storage_fallback", "reason", reason, "error", serr.Error())

	n, err := s.readREST(ctx, a, ref, sink)
	if err != nil {
		return err
	}
	log.Info("bigquery_source_fetch_done", "n_rows", n, "via", "rest", "seconds", time.Since(start).Seconds())
	return nil
}

// readREST pages through getQueryResults.
func (s *Source) readREST(ctx context.Context, a *api, ref jobRef, sink source.Sink) (int, error) {
	var (
		idx   []int
		conv  []func(json.RawMessage, *source.Value) error
		vals  []source.Value
		n     int
		token string
	)
	for {
		p, err := a.results(ctx, ref, token, -1)
		if err != nil {
			return n, dsErr(err, "bigquery read results")
		}
		if !p.JobComplete {
			continue
		}
		if idx == nil {
			if p.Schema == nil {
				return n, dsErr(nil, "bigquery result has no schema")
			}
			names := make([]string, len(p.Schema.Fields))
			for i, f := range p.Schema.Fields {
				names[i] = f.Name
			}
			if idx, err = source.ColumnIndex(s.columns, names); err != nil {
				return n, err
			}
			conv = make([]func(json.RawMessage, *source.Value) error, len(idx))
			for i, j := range idx {
				conv[i] = converter(p.Schema.Fields[j])
			}
			vals = make([]source.Value, len(idx))
		}
		for _, r := range p.Rows {
			for i, j := range idx {
				if j >= len(r.F) {
					vals[i] = source.Value{Kind: source.Null}
					continue
				}
				if err := conv[i](r.F[j].V, &vals[i]); err != nil {
					return n, dsErr(nil, "bigquery row %d column %q: %v", n+1, s.columns[i], err)
				}
			}
			if err := sink.Row(vals); err != nil {
				return n, err
			}
			n++
		}
		if p.PageToken == "" {
			break
		}
		token = p.PageToken
	}
	if n == 0 {
		return 0, dsErr(nil, "bigquery query returned no rows")
	}
	return n, nil
}

// converter decodes one REST cell ("v") of a field's type.
func converter(f field) func(json.RawMessage, *source.Value) error {
	typ := strings.ToUpper(f.Type)
	return func(raw json.RawMessage, v *source.Value) error {
		if len(raw) == 0 || string(raw) == "null" {
			*v = source.Value{Kind: source.Null}
			return nil
		}
		var s string
		if raw[0] != '"' {
			// RECORD/REPEATED cells: keep their JSON text.
			*v = source.Value{Kind: source.String, Str: raw}
			return nil
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		switch typ {
		case "INTEGER", "INT64":
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return err
			}
			*v = source.Value{Kind: source.Int, Int: i}
		case "FLOAT", "FLOAT64":
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return err
			}
			*v = source.Value{Kind: source.Float, Float: x}
		case "BOOLEAN", "BOOL":
			b, err := strconv.ParseBool(s)
			if err != nil {
				return err
			}
			*v = source.Value{Kind: source.Bool}
			if b {
				v.Int = 1
			}
		case "TIMESTAMP":
			// useInt64Timestamp: microseconds since the epoch.
			us, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(s, 64) // seconds, older form
				if ferr != nil {
					return err
				}
				us = int64(math.Round(f * 1e6))
			}
			*v = source.Value{Kind: source.Time, Int: us * 1000}
		case "DATE":
			t, err := time.Parse("2006-01-02", s)
			if err != nil {
				return err
			}
			*v = source.Value{Kind: source.Time, Int: t.UnixNano()}
		case "DATETIME":
			t, err := time.Parse("2006-01-02T15:04:05.999999999", s)
			if err != nil {
				return err
			}
			*v = source.Value{Kind: source.Time, Int: t.UnixNano()}
		default:
			*v = source.Value{Kind: source.String, Str: []byte(s)}
		}
		return nil
	}
}

// dsErr is a DataSource error (exit 3) wrapping cause.
func dsErr(cause error, format string, args ...any) *failure.Error {
	return &failure.Error{Class: failure.DataSource, Code: "datasource_error", Msg: fmt.Sprintf(format, args...), Err: cause}
}
