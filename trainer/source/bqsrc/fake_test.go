package bqsrc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
	"github.com/recotem/recotem/trainer/source/internal/logtest"
)

// fakeBQ is a protocol-level fake of BigQuery on 127.0.0.1: an HTTP server
// speaking the REST v2 JSON the official client sends (jobs.insert,
// jobs.get, jobs.getQueryResults with polling and paging, jobs.cancel)
// and a gRPC server implementing the Storage Read API (CreateReadSession
// with an Arrow schema, ReadRows with Arrow IPC record batches). It is not
// BigQuery: every query returns the same result table; a query containing
// BAD is rejected at insert, FAIL fails while running, HANG never finishes
// and EMPTY returns no rows.
type fakeBQ struct {
	t    *testing.T
	rest *httptest.Server
	addr string // gRPC

	mu       sync.Mutex
	projects []string         // project of each jobs.insert path
	bodies   []map[string]any // jobs.insert bodies
	queries  map[string]string
	cancels  int
	polls    int // incomplete answers before a job completes
	rowPages int // getQueryResults calls that returned rows
	noDst    bool

	sessions    []*storagepb.CreateReadSessionRequest
	reads       []*storagepb.ReadRowsRequest
	sessionErr  error // CreateReadSession answer
	dropOnce    bool  // ReadRows: Unavailable after the first batch, once
	failAfter   error // ReadRows: this error after the first batch
	batchRows   int
	storageOpts []option.ClientOption // replaces the gRPC options when set
}

// The result table: fields as the REST schema names them, rows in REST's
// cell encoding (formatOptions.useInt64Timestamp), nil for NULL. The
// Arrow batches are built from the same cells.
var (
	fakeFields = [][2]string{
		{"user_id", "STRING"}, {"item_id", "INTEGER"}, {"ts", "TIMESTAMP"}, {"score", "FLOAT"},
		{"flag", "BOOLEAN"}, {"day", "DATE"}, {"at", "DATETIME"}, {"clock", "TIME"},
		{"amount", "NUMERIC"}, {"raw", "BYTES"}, {"meta", "RECORD"},
	}
	fakeRows = [][]any{
		{"u1", "10", "1700000000000000", "1.5", "true", "2024-01-02", "2024-01-02T03:04:05.123456", "12:34:56.789", "1.5", "aGk=", nil},
		{"u2", "20", "1700000001500000", "2", "false", nil, "2024-02-29T00:00:00", "00:00:00", "-0.000000001", "", nil},
		{"u1", "30", nil, nil, nil, "2024-01-03", nil, nil, nil, nil, nil},
	}
	allColumns = []string{"user_id", "item_id", "ts", "score", "flag", "day", "at", "clock", "amount", "raw"}
	// The rows of allColumns as source values (logtest.Render).
	wantAll = []string{
		"S:u1 I:10 T:1700000000000000000 F:1.5 B:1 T:1704153600000000000 T:1704164645123456000 S:12:34:56.789000000 S:1.500000000 S:hi",
		"S:u2 I:20 T:1700000001500000000 F:2 B:0 N T:1709164800000000000 S:00:00:00 S:-0.000000001 S:",
		"S:u1 I:30 N N N T:1704240000000000000 N N N N",
	}
)

func newFakeBQ(t *testing.T, credProject string) *fakeBQ {
	f := &fakeBQ{t: t, polls: 2, batchRows: 2, queries: map[string]string{}}
	f.rest = httptest.NewServer(http.HandlerFunc(f.serveREST))
	t.Cleanup(f.rest.Close)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	storagepb.RegisterBigQueryReadServer(gs, &fakeRead{f: f})
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	f.addr = lis.Addr().String()

	orig := dial
	dial = func(context.Context) (endpoints, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		st := f.storageOpts
		if st == nil {
			st = []option.ClientOption{option.WithEndpoint(f.addr), option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
		}
		return endpoints{
			rest:    []option.ClientOption{option.WithEndpoint(f.rest.URL + "/bigquery/v2/"), option.WithoutAuthentication(), option.WithHTTPClient(f.rest.Client())},
			storage: st,
			project: credProject,
		}, nil
	}
	t.Cleanup(func() { dial = orig })
	return f
}

func (f *fakeBQ) set(fn func(f *fakeBQ)) { f.mu.Lock(); defer f.mu.Unlock(); fn(f) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, code int, status, reason, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status, "errors": []any{map[string]any{"reason": reason, "message": msg}}}})
}

func restSchema() map[string]any {
	var fields []any
	for _, fd := range fakeFields {
		m := map[string]any{"name": fd[0], "type": fd[1], "mode": "NULLABLE"}
		if fd[1] == "RECORD" {
			m["fields"] = []any{map[string]any{"name": "k", "type": "STRING", "mode": "NULLABLE"}}
		}
		fields = append(fields, m)
	}
	return map[string]any{"fields": fields}
}

func (f *fakeBQ) serveREST(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/bigquery/v2/"), "/")
	if len(parts) < 3 || parts[0] != "projects" {
		apiErr(w, 404, "NOT_FOUND", "notFound", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	project := parts[1]
	job := func(id string) map[string]any {
		return map[string]any{
			"jobReference": map[string]any{"projectId": project, "jobId": id, "location": "EU"},
			"configuration": map[string]any{"query": map[string]any{"query": f.queries[id],
				"destinationTable": map[string]any{"projectId": project, "datasetId": "_anon", "tableId": "anon_" + id}}},
			"status": map[string]any{"state": "DONE"},
		}
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "jobs": // jobs.insert
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			apiErr(w, 400, "INVALID_ARGUMENT", "invalid", err.Error())
			return
		}
		f.projects = append(f.projects, project)
		f.bodies = append(f.bodies, body)
		conf := body["configuration"].(map[string]any)
		q := conf["query"].(map[string]any)["query"].(string)
		if strings.Contains(q, "BAD") {
			apiErr(w, 400, "INVALID_ARGUMENT", "invalidQuery", "Syntax error: Unexpected identifier BAD at [1:8]")
			return
		}
		ref := body["jobReference"].(map[string]any)
		ref["location"] = "EU"
		id := ref["jobId"].(string)
		f.queries[id] = q
		state := "RUNNING"
		if dry, _ := conf["dryRun"].(bool); dry {
			state = "DONE"
		}
		writeJSON(w, 200, map[string]any{"jobReference": ref, "configuration": conf, "status": map[string]any{"state": state}})
	case r.Method == http.MethodPost && len(parts) == 5 && parts[2] == "jobs" && parts[4] == "cancel":
		f.cancels++
		writeJSON(w, 200, map[string]any{"job": job(parts[3])})
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "jobs": // jobs.get
		j := job(parts[3])
		if f.noDst {
			delete(j["configuration"].(map[string]any)["query"].(map[string]any), "destinationTable")
		}
		writeJSON(w, 200, j)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "queries": // jobs.getQueryResults
		q := r.URL.Query()
		if q.Get("location") != "EU" || q.Get("formatOptions.useInt64Timestamp") != "true" {
			apiErr(w, 400, "INVALID_ARGUMENT", "invalid", "location and useInt64Timestamp expected")
			return
		}
		query := f.queries[parts[3]]
		if strings.Contains(query, "FAIL") {
			apiErr(w, 400, "INVALID_ARGUMENT", "invalidQuery", "Division by zero: 1 / 0")
			return
		}
		ref := map[string]any{"projectId": project, "jobId": parts[3], "location": "EU"}
		if f.polls > 0 || strings.Contains(query, "HANG") {
			f.polls--
			writeJSON(w, 200, map[string]any{"jobReference": ref, "jobComplete": false})
			return
		}
		rows := fakeRows
		if strings.Contains(query, "EMPTY") {
			rows = nil
		}
		resp := map[string]any{"jobReference": ref, "jobComplete": true, "totalRows": strconv.Itoa(len(rows)), "schema": restSchema()}
		if q.Get("maxResults") == "0" {
			writeJSON(w, 200, resp)
			return
		}
		f.rowPages++
		off, _ := strconv.Atoi(q.Get("pageToken"))
		end := min(off+2, len(rows))
		var out []any
		for _, row := range rows[off:end] {
			var cells []any
			for _, c := range row {
				cells = append(cells, map[string]any{"v": c})
			}
			out = append(out, map[string]any{"f": cells})
		}
		resp["rows"] = out
		if end < len(rows) {
			resp["pageToken"] = strconv.Itoa(end)
		}
		writeJSON(w, 200, resp)
	default:
		apiErr(w, 404, "NOT_FOUND", "notFound", "no route "+r.Method+" "+r.URL.Path)
	}
}

// fakeRead is the Storage Read API half of fakeBQ.
type fakeRead struct {
	storagepb.UnimplementedBigQueryReadServer
	f *fakeBQ
}

// arrowType is the Arrow type BigQuery's Storage Read API uses for a type.
func arrowType(bqType string) arrow.DataType {
	switch bqType {
	case "STRING":
		return arrow.BinaryTypes.String
	case "INTEGER":
		return arrow.PrimitiveTypes.Int64
	case "FLOAT":
		return arrow.PrimitiveTypes.Float64
	case "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case "TIMESTAMP":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case "DATE":
		return arrow.FixedWidthTypes.Date32
	case "DATETIME":
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case "TIME":
		return arrow.FixedWidthTypes.Time64us
	case "NUMERIC":
		return &arrow.Decimal128Type{Precision: 38, Scale: 9}
	case "BYTES":
		return arrow.BinaryTypes.Binary
	}
	panic("no Arrow type for " + bqType)
}

// selected returns the table's fields (in table order, as BigQuery does)
// that the session selected, with their positions in fakeFields.
func selected(names []string) (*arrow.Schema, []int, error) {
	var fields []arrow.Field
	var pos []int
	for i, fd := range fakeFields {
		for _, n := range names {
			if n == fd[0] {
				fields = append(fields, arrow.Field{Name: fd[0], Type: arrowType(fd[1]), Nullable: true})
				pos = append(pos, i)
			}
		}
	}
	if len(fields) != len(names) {
		return nil, nil, status.Errorf(codes.InvalidArgument, "unknown selected fields %v", names)
	}
	return arrow.NewSchema(fields, nil), pos, nil
}

// appendCell appends one REST-encoded cell to an Arrow builder.
func appendCell(t *testing.T, b array.Builder, bqType string, cell any) {
	if cell == nil {
		b.AppendNull()
		return
	}
	s := cell.(string)
	must := func(err error) {
		if err != nil {
			t.Errorf("fake cell %q (%s): %v", s, bqType, err)
		}
	}
	switch bqType {
	case "STRING":
		b.(*array.StringBuilder).Append(s)
	case "INTEGER":
		v, err := strconv.ParseInt(s, 10, 64)
		must(err)
		b.(*array.Int64Builder).Append(v)
	case "FLOAT":
		v, err := strconv.ParseFloat(s, 64)
		must(err)
		b.(*array.Float64Builder).Append(v)
	case "BOOLEAN":
		v, err := strconv.ParseBool(s)
		must(err)
		b.(*array.BooleanBuilder).Append(v)
	case "TIMESTAMP":
		v, err := strconv.ParseInt(s, 10, 64)
		must(err)
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v))
	case "DATE":
		d, err := time.Parse("2006-01-02", s)
		must(err)
		b.(*array.Date32Builder).Append(arrow.Date32FromTime(d))
	case "DATETIME":
		d, err := time.Parse("2006-01-02T15:04:05.999999", s)
		must(err)
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(d.UnixMicro()))
	case "TIME":
		c, err := civil.ParseTime(s)
		must(err)
		us := (int64(c.Hour)*3600+int64(c.Minute)*60+int64(c.Second))*1e6 + int64(c.Nanosecond)/1e3
		b.(*array.Time64Builder).Append(arrow.Time64(us))
	case "NUMERIC":
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Errorf("fake numeric %q", s)
			return
		}
		r.Mul(r, new(big.Rat).SetInt64(1e9))
		b.(*array.Decimal128Builder).Append(decimal128.FromBigInt(r.Num()))
	case "BYTES":
		v, err := base64.StdEncoding.DecodeString(s)
		must(err)
		b.(*array.BinaryBuilder).Append(v)
	}
}

// ipcMessages returns the encapsulated IPC schema message and one record
// batch message per batch of rows, as the Storage Read API sends them.
func (f *fakeBQ) ipcMessages(schema *arrow.Schema, pos []int, rows [][]any) ([]byte, [][]byte) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	w.Close()
	head := bytes.Clone(buf.Bytes()[:buf.Len()-8]) // without the end-of-stream marker
	var batches [][]byte
	for off := 0; off < len(rows); off += f.batchRows {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for _, row := range rows[off:min(off+f.batchRows, len(rows))] {
			for i, p := range pos {
				appendCell(f.t, rb.Field(i), fakeFields[p][1], row[p])
			}
		}
		rec := rb.NewRecord()
		buf.Reset()
		w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
		if err := w.Write(rec); err != nil {
			f.t.Errorf("fake batch: %v", err)
		}
		batches = append(batches, bytes.Clone(buf.Bytes()[len(head):]))
		rec.Release()
		rb.Release()
	}
	return head, batches
}

func (s *fakeRead) CreateReadSession(_ context.Context, req *storagepb.CreateReadSessionRequest) (*storagepb.ReadSession, error) {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions = append(f.sessions, req)
	if f.sessionErr != nil {
		return nil, f.sessionErr
	}
	schema, pos, err := selected(req.GetReadSession().GetReadOptions().GetSelectedFields())
	if err != nil {
		return nil, err
	}
	head, _ := f.ipcMessages(schema, pos, nil)
	return &storagepb.ReadSession{
		Name:       "projects/x/locations/eu/sessions/s1",
		Table:      req.GetReadSession().GetTable(),
		DataFormat: storagepb.DataFormat_ARROW,
		Schema:     &storagepb.ReadSession_ArrowSchema{ArrowSchema: &storagepb.ArrowSchema{SerializedSchema: head}},
		Streams:    []*storagepb.ReadStream{{Name: "projects/x/locations/eu/sessions/s1/streams/0"}},
		ReadOptions: &storagepb.ReadSession_TableReadOptions{
			SelectedFields: req.GetReadSession().GetReadOptions().GetSelectedFields()},
	}, nil
}

func (s *fakeRead) ReadRows(req *storagepb.ReadRowsRequest, st storagepb.BigQueryRead_ReadRowsServer) error {
	f := s.f
	f.mu.Lock()
	f.reads = append(f.reads, req)
	sess := f.sessions[len(f.sessions)-1]
	schema, pos, err := selected(sess.GetReadSession().GetReadOptions().GetSelectedFields())
	if err != nil {
		f.mu.Unlock()
		return err
	}
	_, batches := f.ipcMessages(schema, pos, fakeRows[req.GetOffset():])
	drop, failAfter := f.dropOnce, f.failAfter
	f.dropOnce = false
	f.mu.Unlock()
	off := req.GetOffset()
	for i, b := range batches {
		n := min(int64(f.batchRows), int64(len(fakeRows))-off)
		off += n
		err := st.Send(&storagepb.ReadRowsResponse{RowCount: n,
			Rows: &storagepb.ReadRowsResponse_ArrowRecordBatch{ArrowRecordBatch: &storagepb.ArrowRecordBatch{SerializedRecordBatch: b}}})
		if err != nil {
			return err
		}
		if i == 0 && drop {
			return status.Error(codes.Unavailable, "connection reset by peer")
		}
		if i == 0 && failAfter != nil {
			return failAfter
		}
	}
	return nil
}

func newLog() (*slog.Logger, *logtest.LogBuf) { return logtest.New() }

var (
	env    = logtest.Env
	render = logtest.Render
)

func bqRecipe(query string, params map[string]any, project *string) *recipe.Recipe {
	return &recipe.Recipe{
		Name:   "t",
		Source: recipe.Source{Type: recipe.TypeBigQuery, BigQuery: &recipe.BigQuerySource{Type: "bigquery", Query: query, QueryParameters: params, Project: project}},
		Schema: recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id"},
	}
}

func fetchCtx(ctx context.Context, r *recipe.Recipe, opt source.Options) ([]string, error) {
	src, err := source.New(r, opt)
	if err != nil {
		return nil, err
	}
	var rows []string
	err = src.Fetch(ctx, source.SinkFunc(func(v []source.Value) error {
		rows = append(rows, render(v))
		return nil
	}))
	return rows, err
}

func fetch(r *recipe.Recipe, opt source.Options) ([]string, error) {
	return fetchCtx(context.Background(), r, opt)
}

func str(s string) *string { return &s }
