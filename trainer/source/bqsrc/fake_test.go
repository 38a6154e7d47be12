package bqsrc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/recotem/recotem/trainer/failure"
	"github.com/recotem/recotem/trainer/recipe"
	"github.com/recotem/recotem/trainer/source"
	"github.com/recotem/recotem/trainer/source/internal/logtest"
)

// fakeBQ is a protocol-level fake of the BigQuery REST API v2: jobs.insert,
// jobs.get and jobs.getQueryResults with paging and polling. It is not
// BigQuery: it returns a fixed result for any query and fails queries
// containing "BAD".
type fakeBQ struct {
	t        *testing.T
	mu       sync.Mutex
	srv      *httptest.Server
	projects []string         // project of each jobs.insert path
	bodies   []map[string]any // jobs.insert bodies
	polls    int              // incomplete answers before the job completes
	rowPages int              // getQueryResults calls that returned rows
	jobGets  int
	fields   []field
	rows     [][]any
	pageSize int
}

func newFakeBQ(t *testing.T, credProject string) *fakeBQ {
	f := &fakeBQ{t: t, polls: 2, pageSize: 2,
		fields: []field{{"user_id", "STRING", "NULLABLE"}, {"item_id", "INTEGER", "NULLABLE"}, {"ts", "TIMESTAMP", "NULLABLE"}, {"score", "FLOAT", "NULLABLE"}, {"flag", "BOOLEAN", "NULLABLE"}, {"day", "DATE", "NULLABLE"}},
		rows: [][]any{
			{"u1", "10", "1700000000000000", "1.5", "true", "2024-01-02"},
			{"u2", "20", "1700000001500000", "2", "false", nil},
			{"u1", "30", nil, nil, nil, "2024-01-03"},
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	orig := connect
	connect = func(context.Context) (*http.Client, string, string, error) {
		return f.srv.Client(), f.srv.URL + "/bigquery/v2", credProject, nil
	}
	t.Cleanup(func() { connect = orig; Storage = nil })
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, code int, status, reason, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status, "errors": []any{map[string]any{"reason": reason, "message": msg}}}})
}

func (f *fakeBQ) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/bigquery/v2/"), "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "projects" && parts[2] == "jobs":
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			apiErr(w, 400, "INVALID_ARGUMENT", "invalid", err.Error())
			return
		}
		f.projects = append(f.projects, parts[1])
		f.bodies = append(f.bodies, body)
		conf := body["configuration"].(map[string]any)
		q := conf["query"].(map[string]any)
		if strings.Contains(q["query"].(string), "BAD") {
			apiErr(w, 400, "INVALID_ARGUMENT", "invalidQuery", "Syntax error: Unexpected identifier BAD at [1:8]")
			return
		}
		ref := body["jobReference"].(map[string]any)
		ref["location"] = "EU"
		if dry, _ := conf["dryRun"].(bool); dry {
			writeJSON(w, 200, map[string]any{"jobReference": ref, "status": map[string]any{"state": "DONE"}})
			return
		}
		writeJSON(w, 200, map[string]any{"jobReference": ref, "status": map[string]any{"state": "RUNNING"}})
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "jobs":
		f.jobGets++
		writeJSON(w, 200, map[string]any{
			"jobReference":  map[string]any{"projectId": parts[1], "jobId": parts[3], "location": "EU"},
			"configuration": map[string]any{"query": map[string]any{"destinationTable": map[string]any{"projectId": parts[1], "datasetId": "_anon", "tableId": "anon_" + parts[3]}}},
			"status":        map[string]any{"state": "DONE"},
		})
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "queries":
		q := r.URL.Query()
		if q.Get("location") != "EU" || q.Get("formatOptions.useInt64Timestamp") != "true" {
			apiErr(w, 400, "INVALID_ARGUMENT", "invalid", "location and useInt64Timestamp expected")
			return
		}
		ref := map[string]any{"projectId": parts[1], "jobId": parts[3], "location": "EU"}
		if f.polls > 0 {
			f.polls--
			writeJSON(w, 200, map[string]any{"jobReference": ref, "jobComplete": false})
			return
		}
		resp := map[string]any{"jobReference": ref, "jobComplete": true, "totalRows": strconv.Itoa(len(f.rows)),
			"schema": map[string]any{"fields": f.fields}}
		if q.Get("maxResults") == "0" {
			writeJSON(w, 200, resp)
			return
		}
		f.rowPages++
		off, _ := strconv.Atoi(q.Get("pageToken"))
		end := min(off+f.pageSize, len(f.rows))
		var rows []any
		for _, row := range f.rows[off:end] {
			var cells []any
			for _, c := range row {
				cells = append(cells, map[string]any{"v": c})
			}
			rows = append(rows, map[string]any{"f": cells})
		}
		resp["rows"] = rows
		if end < len(f.rows) {
			resp["pageToken"] = strconv.Itoa(end)
		}
		writeJSON(w, 200, resp)
	default:
		apiErr(w, 404, "NOT_FOUND", "notFound", "no route "+r.Method+" "+r.URL.Path)
	}
}

// fakeStorage is a StorageReader answering with fixed rows or an error.
type fakeStorage struct {
	err       error
	afterRows int // rows delivered before err
	tables    []TableRef
}

func (s *fakeStorage) Read(_ context.Context, t TableRef, cols []string, emit func([]source.Value) error) error {
	s.tables = append(s.tables, t)
	vals := make([]source.Value, len(cols))
	n := 3
	if s.err != nil {
		n = s.afterRows
	}
	for i := 0; i < n; i++ {
		for j := range vals {
			vals[j] = source.Value{Kind: source.String, Str: []byte(fmt.Sprintf("s%d", i))}
		}
		if err := emit(vals); err != nil {
			return err
		}
	}
	return s.err
}

func newLog() (*slog.Logger, *logtest.LogBuf) { return logtest.New() }

var env = logtest.Env

func bqRecipe(query string, params map[string]any, project *string) *recipe.Recipe {
	return &recipe.Recipe{
		Name:   "t",
		Source: recipe.Source{Type: recipe.TypeBigQuery, BigQuery: &recipe.BigQuerySource{Type: "bigquery", Query: query, QueryParameters: params, Project: project}},
		Schema: recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id"},
	}
}

var render = logtest.Render

func fetch(r *recipe.Recipe, opt source.Options) ([]string, error) {
	src, err := source.New(r, opt)
	if err != nil {
		return nil, err
	}
	var rows []string
	err = src.Fetch(context.Background(), source.SinkFunc(func(v []source.Value) error {
		rows = append(rows, render(v))
		return nil
	}))
	return rows, err
}

func str(s string) *string { return &s }

func TestFakeRESTFallbackMissingExtra(t *testing.T) {
	f := newFakeBQ(t, "cred-project")
	log, lb := newLog()
	before := FallbackTotal(ReasonMissingExtra)
	r := bqRecipe("SELECT * FROM ds.events WHERE item_id > @lo AND user_id != @who AND flag = @on AND score < @hi",
		map[string]any{"lo": 5, "who": "x", "on": true, "hi": 9.5}, str("recipe-project"))
	opt := source.Options{Logger: log, Columns: []string{"user_id", "item_id", "ts", "score", "flag", "day"}}
	rows, err := fetch(r, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"S:u1 I:10 T:1700000000000000000 F:1.5 B:1 T:1704153600000000000",
		"S:u2 I:20 T:1700000001500000000 F:2 B:0 N",
		"S:u1 I:30 N N N T:1704240000000000000",
	}
	if strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Fatalf("rows\n got %q\nwant %q", rows, want)
	}
	if f.rowPages != 2 {
		t.Errorf("%d row pages, want 2 (page size 2, 3 rows)", f.rowPages)
	}
	if got := FallbackTotal(ReasonMissingExtra) - before; got != 1 {
		t.Errorf("missing_extra counter +%d, want +1", got)
	}
	ev := lb.Events(t, "bigquery_storage_fallback")
	if len(ev) != 1 || ev[0]["reason"] != ReasonMissingExtra || ev[0]["level"] != "WARN" {
		t.Fatalf("fallback events %v", ev)
	}
	if done := lb.Events(t, "bigquery_source_fetch_done"); len(done) != 1 || done[0]["n_rows"] != float64(3) || done[0]["via"] != "rest" {
		t.Fatalf("fetch_done %v", done)
	}
	// The job: standard SQL, named parameters with BigQuery types.
	if f.projects[0] != "recipe-project" {
		t.Errorf("project %s, want the recipe's", f.projects[0])
	}
	q := f.bodies[0]["configuration"].(map[string]any)["query"].(map[string]any)
	if q["useLegacySql"] != false || q["parameterMode"] != "NAMED" {
		t.Errorf("query config %v", q)
	}
	got := map[string]string{}
	for _, p := range q["queryParameters"].([]any) {
		m := p.(map[string]any)
		got[m["name"].(string)] = m["parameterType"].(map[string]any)["type"].(string) + "=" + m["parameterValue"].(map[string]any)["value"].(string)
	}
	if fmt.Sprint(got) != "map[hi:FLOAT64=9.5 lo:INT64=5 on:BOOL=true who:STRING=x]" {
		t.Errorf("parameters %v", got)
	}
	// The counter is exposed in Prometheus text.
	var b bytes.Buffer
	Metrics.WritePrometheus(&b)
	if !strings.Contains(b.String(), `recotem_bigquery_storage_fallback_total{reason="missing_extra"}`) {
		t.Errorf("metrics text lacks the counter:\n%s", b.String())
	}
}

func TestFakeRequireStorageAPI(t *testing.T) {
	f := newFakeBQ(t, "p")
	_, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{LookupEnv: env("RECOTEM_BQ_REQUIRE_STORAGE_API", "1")})
	if failure.ExitCode(err) != 3 || !errors.Is(err, ErrStorageUnavailable) || !strings.Contains(err.Error(), "RECOTEM_BQ_REQUIRE_STORAGE_API") {
		t.Fatalf("required storage unavailable: %v", err)
	}
	if f.rowPages != 0 {
		t.Fatal("REST rows were read despite RECOTEM_BQ_REQUIRE_STORAGE_API")
	}
	Storage = &fakeStorage{err: &APIError{HTTPStatus: 403, Status: "PERMISSION_DENIED", Message: "bigquery.readsessions.create denied"}}
	_, err = fetch(bqRecipe("SELECT 1", nil, nil), source.Options{LookupEnv: env("RECOTEM_BQ_REQUIRE_STORAGE_API", "true")})
	if failure.ExitCode(err) != 3 || f.rowPages != 0 {
		t.Fatalf("required storage, permission error: %v (%d REST pages)", err, f.rowPages)
	}
}

func TestFakeStoragePermissionFallback(t *testing.T) {
	for _, serr := range []error{
		&APIError{HTTPStatus: 403, Status: "PERMISSION_DENIED", Message: "denied"},
		errors.New("rpc error: code = PermissionDenied desc = caller lacks bigquery.readsessions.create"),
		errors.New("googleapi: Error 403: Forbidden"),
		errors.New("Permission denied on resource project x"),
	} {
		f := newFakeBQ(t, "p")
		st := &fakeStorage{err: serr}
		Storage = st
		log, lb := newLog()
		before := FallbackTotal(ReasonAPIError)
		rows, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{Logger: log})
		if err != nil || len(rows) != 3 || rows[0] != "S:u1 I:10" {
			t.Fatalf("%v: rows %q, %v", serr, rows, err)
		}
		if FallbackTotal(ReasonAPIError)-before != 1 || len(lb.Events(t, "bigquery_storage_fallback")) != 1 || f.rowPages == 0 {
			t.Fatalf("%v: no api_error fallback", serr)
		}
		if len(st.tables) != 1 || st.tables[0].DatasetID != "_anon" {
			t.Fatalf("storage read table %v, want the job's destination table", st.tables)
		}
	}
}

func TestFakeStorageOtherErrorNoFallback(t *testing.T) {
	f := newFakeBQ(t, "p")
	Storage = &fakeStorage{err: errors.New("rpc error: code = Unavailable desc = connection reset")}
	before := FallbackTotal(ReasonNoFallback)
	_, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{})
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "no REST fallback") || f.rowPages != 0 {
		t.Fatalf("non-IAM storage error: %v (%d REST pages)", err, f.rowPages)
	}
	if FallbackTotal(ReasonNoFallback)-before != 1 {
		t.Fatal("non_iam_error_no_fallback not counted")
	}
	// A permission error after rows were delivered is not retried either.
	Storage = &fakeStorage{err: errors.New("permission denied"), afterRows: 2}
	n := 0
	src, _ := source.New(bqRecipe("SELECT 1", nil, nil), source.Options{})
	err = src.Fetch(context.Background(), source.SinkFunc(func([]source.Value) error { n++; return nil }))
	if failure.ExitCode(err) != 3 || n != 2 || f.rowPages != 0 {
		t.Fatalf("mid-stream storage failure: %v after %d rows (%d REST pages)", err, n, f.rowPages)
	}
}

func TestFakeStorageSuccess(t *testing.T) {
	f := newFakeBQ(t, "p")
	Storage = &fakeStorage{}
	log, lb := newLog()
	rows, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{Logger: log})
	if err != nil || strings.Join(rows, "|") != "S:s0 S:s0|S:s1 S:s1|S:s2 S:s2" {
		t.Fatalf("storage rows %q %v", rows, err)
	}
	if f.rowPages != 0 || len(lb.Events(t, "bigquery_storage_fallback")) != 0 {
		t.Fatal("REST used although the storage read succeeded")
	}
	if done := lb.Events(t, "bigquery_source_fetch_done"); len(done) != 1 || done[0]["via"] != "storage" {
		t.Fatalf("fetch_done %v", done)
	}
}

func TestFakeProjectFallback(t *testing.T) {
	f := func(credProject string, recipeProject *string, lookup func(string) (string, bool), want string) {
		t.Helper()
		fk := newFakeBQ(t, credProject)
		_, err := fetch(bqRecipe("SELECT 1", nil, recipeProject), source.Options{LookupEnv: lookup})
		if want == "" {
			if failure.ExitCode(err) != 3 || !errors.Is(err, ErrNoProject) {
				t.Fatalf("no project: %v", err)
			}
			return
		}
		if err != nil || len(fk.projects) == 0 || fk.projects[0] != want {
			t.Fatalf("project %v (%v), want %s", fk.projects, err, want)
		}
	}
	f("cred", str("recipe"), env("GOOGLE_CLOUD_PROJECT", "envp"), "recipe")
	f("cred", nil, env("GOOGLE_CLOUD_PROJECT", "envp"), "envp")
	f("cred", str(" "), env("GCLOUD_PROJECT", "gcloudp"), "gcloudp")
	f("cred", nil, nil, "cred")
	f("", nil, nil, "")
}

func TestFakeErrors(t *testing.T) {
	newFakeBQ(t, "p")
	f := func(r *recipe.Recipe, want string) {
		t.Helper()
		_, err := fetch(r, source.Options{})
		if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: %v, want exit 3 containing %q", r.Source.BigQuery.Query, err, want)
		}
	}
	f(bqRecipe("SELECT BAD", nil, nil), "HTTP 400 INVALID_ARGUMENT (invalidQuery): Syntax error")
	f(bqRecipe("SELECT 1", map[string]any{"l": []any{1}}, nil), "must be a bool, integer, float or string")
	f(bqRecipe("SELECT 1", map[string]any{"n": nil}, nil), "parameter n")
	r := bqRecipe("SELECT 1", nil, nil)
	r.Schema.ItemColumn = "movie"
	f(r, `column "movie" not found in source; available columns: user_id, item_id, ts, score, flag, day`)
	var ae *APIError
	_, err := fetch(bqRecipe("SELECT BAD", nil, nil), source.Options{})
	if !errors.As(err, &ae) || ae.HTTPStatus != 400 || ae.Reason != "invalidQuery" {
		t.Fatalf("APIError not reachable: %v", err)
	}
	orig := connect
	connect = func(context.Context) (*http.Client, string, string, error) {
		return nil, "", "", errors.New("google: could not find default credentials")
	}
	f(bqRecipe("SELECT 1", nil, nil), "bigquery credentials")
	connect = orig
}

func TestFakeProbeDryRun(t *testing.T) {
	f := newFakeBQ(t, "p")
	src, _ := source.New(bqRecipe("SELECT 1", map[string]any{"a": "b"}, nil), source.Options{})
	if err := src.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	conf := f.bodies[0]["configuration"].(map[string]any)
	if conf["dryRun"] != true || f.rowPages != 0 {
		t.Fatalf("probe was not a dry run: %v", conf)
	}
	src, _ = source.New(bqRecipe("SELECT BAD", nil, nil), source.Options{})
	if err := src.Probe(context.Background()); failure.ExitCode(err) != 3 {
		t.Fatalf("probe of a bad query: %v", err)
	}
}

func TestIsPermission(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if IsPermission(err) != want {
			t.Fatalf("%v: %v", err, !want)
		}
	}
	f(&APIError{HTTPStatus: 403}, true)
	f(&APIError{HTTPStatus: 400, Status: "PERMISSION_DENIED"}, true)
	f(errors.New("code = PermissionDenied"), true)
	f(errors.New("403 Forbidden"), true)
	f(&APIError{HTTPStatus: 500, Status: "INTERNAL", Message: "backend error"}, false)
	f(errors.New("code = Unavailable desc = reset"), false)
	f(ErrStorageUnavailable, false)
}
