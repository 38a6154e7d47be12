package bqsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
)

// counters snapshots the fallback counters.
func counters() map[string]uint64 {
	return map[string]uint64{
		ReasonMissingExtra: FallbackTotal(ReasonMissingExtra),
		ReasonAPIError:     FallbackTotal(ReasonAPIError),
		ReasonNoFallback:   FallbackTotal(ReasonNoFallback),
	}
}

// grown returns the counters that changed since before, as reason=+n.
func grown(before map[string]uint64) string {
	var out []string
	for _, r := range []string{ReasonMissingExtra, ReasonAPIError, ReasonNoFallback} {
		if d := FallbackTotal(r) - before[r]; d != 0 {
			out = append(out, fmt.Sprintf("%s=+%d", r, d))
		}
	}
	return strings.Join(out, ",")
}

func TestFakeBigQueryStorageRows(t *testing.T) {
	f := newFakeBQ(t, "cred-project")
	log, lb := newLog()
	before := counters()
	r := bqRecipe("SELECT * FROM ds.events WHERE item_id > @lo AND user_id != @who AND flag = @on AND score < @hi",
		map[string]any{"lo": 5, "who": "x", "on": true, "hi": 9.5}, str("recipe-project"))
	rows, err := fetch(r, source.Options{Logger: log, Columns: allColumns})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows, "\n") != strings.Join(wantAll, "\n") {
		t.Fatalf("rows\n got %q\nwant %q", rows, wantAll)
	}
	if f.rowPages != 0 || grown(before) != "" || len(lb.Events(t, "bigquery_storage_fallback")) != 0 {
		t.Fatalf("REST used (%d pages) or fallback counted (%s) although the storage read succeeded", f.rowPages, grown(before))
	}
	if done := lb.Events(t, "bigquery_source_fetch_done"); len(done) != 1 || done[0]["via"] != "storage" || done[0]["n_rows"] != float64(3) {
		t.Fatalf("fetch_done %v", done)
	}
	if start := lb.Events(t, "bigquery_source_fetch_start"); len(start) != 1 || start[0]["project"] != "recipe-project" {
		t.Fatalf("fetch_start %v", start)
	}
	// The read session: the job's destination table, billed to the job's
	// project, only the requested columns, one ordered Arrow stream.
	s := f.sessions[0]
	jobID := f.bodies[0]["jobReference"].(map[string]any)["jobId"].(string)
	if s.GetParent() != "projects/recipe-project" ||
		s.GetReadSession().GetTable() != "projects/recipe-project/datasets/_anon/tables/anon_"+jobID ||
		s.GetReadSession().GetDataFormat().String() != "ARROW" || s.GetMaxStreamCount() != 1 ||
		fmt.Sprint(s.GetReadSession().GetReadOptions().GetSelectedFields()) != fmt.Sprint(allColumns) {
		t.Fatalf("read session request %v", s)
	}
	if !strings.HasPrefix(jobID, "recotem-") {
		t.Errorf("job id %q, want the recotem- prefix", jobID)
	}
	// The job: standard SQL, named parameters with their BigQuery types.
	if f.projects[0] != "recipe-project" {
		t.Errorf("job project %s, want the recipe's", f.projects[0])
	}
	q := f.bodies[0]["configuration"].(map[string]any)["query"].(map[string]any)
	if q["useLegacySql"] != false {
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
}

func TestFakeBigQueryStorageResumesDroppedStream(t *testing.T) {
	f := newFakeBQ(t, "p")
	f.set(func(f *fakeBQ) { f.dropOnce = true })
	rows, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{Columns: allColumns})
	if err != nil || strings.Join(rows, "\n") != strings.Join(wantAll, "\n") {
		t.Fatalf("rows after a dropped stream\n got %q (%v)\nwant %q", rows, err, wantAll)
	}
	if len(f.reads) != 2 || f.reads[1].GetOffset() != int64(f.batchRows) || f.rowPages != 0 {
		t.Fatalf("ReadRows calls %v (%d REST pages), want a second one at offset %d", f.reads, f.rowPages, f.batchRows)
	}
}

func TestFakeBigQueryPermissionFallback(t *testing.T) {
	for _, serr := range []error{
		status.Error(codes.PermissionDenied, "caller lacks bigquery.readsessions.create"),
		status.Error(codes.Unknown, "googleapi: Error 403: Forbidden"),
	} {
		f := newFakeBQ(t, "p")
		f.set(func(f *fakeBQ) { f.sessionErr = serr })
		log, lb := newLog()
		before := counters()
		rows, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{Logger: log, Columns: allColumns})
		if err != nil || strings.Join(rows, "\n") != strings.Join(wantAll, "\n") {
			t.Fatalf("%v: REST rows\n got %q (%v)\nwant the storage rows %q", serr, rows, err, wantAll)
		}
		if grown(before) != "api_error=+1" || f.rowPages != 2 {
			t.Fatalf("%v: counters %q, %d REST pages", serr, grown(before), f.rowPages)
		}
		ev := lb.Events(t, "bigquery_storage_fallback")
		if len(ev) != 1 || ev[0]["reason"] != ReasonAPIError || ev[0]["level"] != "WARN" || !strings.Contains(ev[0]["error"].(string), "rbidden") && !strings.Contains(ev[0]["error"].(string), "PermissionDenied") {
			t.Fatalf("%v: fallback events %v", serr, ev)
		}
		if done := lb.Events(t, "bigquery_source_fetch_done"); len(done) != 1 || done[0]["via"] != "rest" || done[0]["n_rows"] != float64(3) {
			t.Fatalf("fetch_done %v", done)
		}
	}
}

func TestFakeBigQueryStorageUnavailable(t *testing.T) {
	f := newFakeBQ(t, "p")
	// A gRPC client cannot be built on an HTTP client: the real constructor fails.
	f.set(func(f *fakeBQ) { f.storageOpts = []option.ClientOption{option.WithHTTPClient(http.DefaultClient)} })
	log, lb := newLog()
	before := counters()
	rows, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{Logger: log})
	if err != nil || strings.Join(rows, "|") != "S:u1 I:10|S:u2 I:20|S:u1 I:30" {
		t.Fatalf("rows %q %v", rows, err)
	}
	if grown(before) != "missing_extra=+1" || len(f.sessions) != 0 {
		t.Fatalf("counters %q, %d sessions", grown(before), len(f.sessions))
	}
	if ev := lb.Events(t, "bigquery_storage_fallback"); len(ev) != 1 || ev[0]["reason"] != ReasonMissingExtra {
		t.Fatalf("fallback events %v", ev)
	}
	var b bytes.Buffer
	Metrics.WritePrometheus(&b)
	if !strings.Contains(b.String(), `recotem_bigquery_storage_fallback_total{reason="missing_extra"}`) {
		t.Errorf("metrics text lacks the counter:\n%s", b.String())
	}
}

func TestFakeBigQueryRequireStorageAPI(t *testing.T) {
	f := newFakeBQ(t, "p")
	f.set(func(f *fakeBQ) {
		f.sessionErr = status.Error(codes.PermissionDenied, "bigquery.readsessions.create denied")
	})
	_, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{Settings: source.Settings{BQRequireStorageAPI: true}})
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "RECOTEM_BQ_REQUIRE_STORAGE_API") || status.Code(errors.Unwrap(err)) != codes.PermissionDenied {
		t.Fatalf("required storage, permission error: %v", err)
	}
	f.set(func(f *fakeBQ) { f.storageOpts = []option.ClientOption{option.WithHTTPClient(http.DefaultClient)} })
	_, err = fetch(bqRecipe("SELECT 1", nil, nil), source.Options{Settings: source.Settings{BQRequireStorageAPI: true}})
	if failure.ExitCode(err) != 3 || !errors.Is(err, ErrStorageUnavailable) {
		t.Fatalf("required storage unavailable: %v", err)
	}
	if f.rowPages != 0 {
		t.Fatal("REST rows were read despite RECOTEM_BQ_REQUIRE_STORAGE_API")
	}
}

func TestFakeBigQueryStorageOtherErrorNoFallback(t *testing.T) {
	f := newFakeBQ(t, "p")
	f.set(func(f *fakeBQ) { f.sessionErr = status.Error(codes.FailedPrecondition, "table anon_x has expired") })
	before := counters()
	_, err := fetch(bqRecipe("SELECT 1", nil, nil), source.Options{})
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "no REST fallback") || f.rowPages != 0 || grown(before) != "non_iam_error_no_fallback=+1" {
		t.Fatalf("non-IAM storage error: %v (%d REST pages, counters %q)", err, f.rowPages, grown(before))
	}
	// A permission error after rows were delivered is not retried over REST.
	f.set(func(f *fakeBQ) {
		f.sessionErr = nil
		f.failAfter = status.Error(codes.PermissionDenied, "permission denied")
	})
	n := 0
	src, _ := source.New(bqRecipe("SELECT 1", nil, nil), source.Options{})
	err = src.Fetch(context.Background(), source.SinkFunc(func([]source.Value) error { n++; return nil }))
	if failure.ExitCode(err) != 3 || n != f.batchRows || f.rowPages != 0 || !strings.Contains(err.Error(), "after 2 rows") {
		t.Fatalf("mid-stream storage failure: %v after %d rows (%d REST pages)", err, n, f.rowPages)
	}
	// A job without a destination table (e.g. a script) cannot be read.
	f.set(func(f *fakeBQ) { f.failAfter, f.noDst = nil, true })
	_, err = fetch(bqRecipe("SELECT 1", nil, nil), source.Options{})
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "no destination table") {
		t.Fatalf("no destination table: %v", err)
	}
}

func TestFakeBigQueryProjectFallback(t *testing.T) {
	f := func(credProject string, recipeProject *string, lookup func(string) (string, bool), want string) {
		t.Helper()
		fk := newFakeBQ(t, credProject)
		_, err := fetch(bqRecipe("SELECT 1", nil, recipeProject), source.Options{LookupEnv: lookup})
		if want == "" {
			if failure.ExitCode(err) != 3 || !errors.Is(err, ErrNoProject) || len(fk.projects) != 0 {
				t.Fatalf("no project: %v", err)
			}
			return
		}
		if err != nil || len(fk.projects) == 0 || fk.projects[0] != want || fk.sessions[0].GetParent() != "projects/"+want {
			t.Fatalf("project %v (%v), want %s", fk.projects, err, want)
		}
	}
	f("cred", str("recipe"), env("GOOGLE_CLOUD_PROJECT", "envp"), "recipe")
	f("cred", nil, env("GOOGLE_CLOUD_PROJECT", "envp", "GCLOUD_PROJECT", "gcloudp"), "envp")
	f("cred", str(" "), env("GCLOUD_PROJECT", "gcloudp"), "gcloudp")
	f("cred", nil, nil, "cred")
	f("", nil, nil, "")
}

func TestFakeBigQueryErrors(t *testing.T) {
	fk := newFakeBQ(t, "p")
	f := func(r *recipe.Recipe, want string) error {
		t.Helper()
		_, err := fetch(r, source.Options{})
		if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: %v, want exit 3 containing %q", r.Source.BigQuery.Query, err, want)
		}
		return err
	}
	err := f(bqRecipe("SELECT BAD", nil, nil), "Syntax error: Unexpected identifier BAD")
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 400 || len(ge.Errors) == 0 || ge.Errors[0].Reason != "invalidQuery" {
		t.Fatalf("the API error is not reachable: %v", err)
	}
	f(bqRecipe("SELECT 1 / 0 -- FAIL", nil, nil), "Division by zero")
	f(bqRecipe("SELECT 1", map[string]any{"l": []any{1}}, nil), "must be a bool, integer, float or string")
	f(bqRecipe("SELECT 1", map[string]any{"n": nil}, nil), "parameter n")
	f(bqRecipe("SELECT EMPTY", nil, nil), "returned no rows")
	r := bqRecipe("SELECT 1", nil, nil)
	r.Schema.ItemColumn = "movie"
	f(r, `column "movie" not found in source; available columns: user_id, item_id, ts, score, flag, day, at, clock, amount, raw, … (1 more)`)
	r.Schema.ItemColumn = "meta"
	f(r, `bigquery column "meta" is RECORD`)
	if len(fk.sessions) != 0 {
		t.Fatalf("%d read sessions for failed queries", len(fk.sessions))
	}
	orig := dial
	dial = func(context.Context) (endpoints, error) {
		return endpoints{}, errors.New("credentials: could not find default credentials")
	}
	f(bqRecipe("SELECT 1", nil, nil), "bigquery credentials")
	dial = orig
}

func TestFakeBigQueryProbeDryRun(t *testing.T) {
	f := newFakeBQ(t, "p")
	src, _ := source.New(bqRecipe("SELECT 1", map[string]any{"a": "b"}, nil), source.Options{})
	if err := src.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	conf := f.bodies[0]["configuration"].(map[string]any)
	if conf["dryRun"] != true || f.rowPages != 0 || len(f.sessions) != 0 {
		t.Fatalf("probe was not a dry run: %v", conf)
	}
	src, _ = source.New(bqRecipe("SELECT BAD", nil, nil), source.Options{})
	if err := src.Probe(context.Background()); failure.ExitCode(err) != 3 {
		t.Fatalf("probe of a bad query: %v", err)
	}
}

func TestFakeBigQueryCancel(t *testing.T) {
	f := newFakeBQ(t, "p")
	before := counters()
	// While the job runs: the wait stops and the job is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := fetchCtx(ctx, bqRecipe("SELECT HANG", nil, nil), source.Options{})
	if !errors.Is(err, context.DeadlineExceeded) || failure.ExitCode(err) != 3 || f.cancels != 1 {
		t.Fatalf("cancelled wait: %v (exit %d, %d jobs.cancel)", err, failure.ExitCode(err), f.cancels)
	}
	// While rows stream: no fallback, no REST.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	src, _ := source.New(bqRecipe("SELECT 1", nil, nil), source.Options{})
	n := 0
	err = src.Fetch(ctx, source.SinkFunc(func([]source.Value) error {
		if n++; n == 1 {
			cancel()
		}
		return nil
	}))
	// (the batch in hand is finished: the fake sends batches of 2 rows)
	if !errors.Is(err, context.Canceled) || n != f.batchRows || f.rowPages != 0 || grown(before) != "" {
		t.Fatalf("cancelled read: %v after %d rows (%d REST pages, counters %q)", err, n, f.rowPages, grown(before))
	}
	// While REST pages stream after a fallback.
	f.set(func(f *fakeBQ) { f.sessionErr = status.Error(codes.PermissionDenied, "denied") })
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	n = 0
	err = src.Fetch(ctx, source.SinkFunc(func([]source.Value) error {
		if n++; n == 1 {
			cancel()
		}
		return nil
	}))
	if !errors.Is(err, context.Canceled) || n != 1 || f.rowPages != 1 {
		t.Fatalf("cancelled REST read: %v after %d rows (%d REST pages)", err, n, f.rowPages)
	}
}

func TestIsPermission(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if IsPermission(err) != want {
			t.Fatalf("%v: %v", err, !want)
		}
	}
	f(status.Error(codes.PermissionDenied, "x"), true)
	f(&googleapi.Error{Code: 403}, true)
	f(errors.New("rpc error: code = PermissionDenied"), true)
	f(errors.New("403 Forbidden"), true)
	f(errors.New("Permission denied on resource project x"), true)
	f(&googleapi.Error{Code: 500, Message: "backend error"}, false)
	f(status.Error(codes.Unavailable, "reset"), false)
	f(ErrStorageUnavailable, false)
}

func TestFakeBigQuerySinkError(t *testing.T) {
	f := newFakeBQ(t, "p")
	before := counters()
	stop := failure.New(failure.Training, "x", "row 2 refused")
	src, _ := source.New(bqRecipe("SELECT 1", nil, nil), source.Options{})
	for _, via := range []string{"storage", "rest"} {
		n := 0
		err := src.Fetch(context.Background(), source.SinkFunc(func([]source.Value) error {
			if n++; n == 2 {
				return stop
			}
			return nil
		}))
		if err != stop || n != 2 {
			t.Fatalf("%s: sink error came back as %v after %d rows", via, err, n)
		}
		f.set(func(f *fakeBQ) { f.sessionErr = status.Error(codes.PermissionDenied, "denied") })
	}
	if grown(before) != "api_error=+1" || f.rowPages != 1 {
		t.Fatalf("counters %q, %d REST pages: a sink error is not a storage failure", grown(before), f.rowPages)
	}
}
