package bench

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/recotem/recotem/bench/workload"
	"github.com/recotem/recotem/internal/testenv"
)

// startServer serves h on 127.0.0.1:0 until the test ends and returns its
// base URL.
func startServer(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true, NoDefaultDate: true}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func okHandler(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"items":[]}`)
}

// repoRoot walks up from the working directory to the directory with go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// movieLensColumn returns the distinct values of column col of the shared
// MovieLens ratings, in first-seen order, or skips the test if the data is
// absent.
func movieLensColumn(t testing.TB, col int) [][]byte {
	t.Helper()
	path := filepath.Join(repoRoot(t), "..", "shared", "data", "movielens", "ratings.csv")
	f, err := os.Open(path)
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data not available: %v", err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := map[string]bool{}
	var out [][]byte
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		fields := strings.Split(sc.Text(), ",")
		if len(fields) <= col {
			t.Fatalf("short line %q", sc.Text())
		}
		if v := fields[col]; !seen[v] {
			seen[v] = true
			out = append(out, []byte(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustIDs(t testing.TB, ids ...string) *workload.IDs {
	t.Helper()
	var b [][]byte
	for _, s := range ids {
		b = append(b, []byte(s))
	}
	x, err := workload.NewIDs(b)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// nullConn is a connection that answers every request at once without a
// network, so what remains of a request's cost is the generator's own.
type nullConn struct {
	pending bool // a request was written and its answer not yet read
}

var nullResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"items\":[]}")

// nullDial dials a nullConn.
func nullDial() (net.Conn, error) { return &nullConn{}, nil }

func (c *nullConn) Write(b []byte) (int, error) { c.pending = true; return len(b), nil }
func (c *nullConn) Read(b []byte) (int, error) {
	if !c.pending {
		return 0, io.EOF
	}
	c.pending = false
	return copy(b, nullResponse), nil
}
func (*nullConn) Close() error                     { return nil }
func (*nullConn) LocalAddr() net.Addr              { return nil }
func (*nullConn) RemoteAddr() net.Addr             { return nil }
func (*nullConn) SetDeadline(time.Time) error      { return nil }
func (*nullConn) SetReadDeadline(time.Time) error  { return nil }
func (*nullConn) SetWriteDeadline(time.Time) error { return nil }

// hotLoopRunner prepares a runner with one worker over a realistic mix.
func hotLoopRunner(t testing.TB, target Target) (*runner, *worker, *phase) {
	t.Helper()
	users, err := workload.NumericIDs(1, 10000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRunner(context.Background(), Config{
		Target: target, APIKey: "bench-key-0123456789abcdef0123456789", Connections: 1, Requests: 1,
		Workload: workload.Workload{Recipes: []string{"movies", "books"}, Endpoints: []workload.Endpoint{workload.Predict, workload.Recommend, workload.Related, workload.Batch},
			Users: users, Items: users, Dist: workload.Zipf, Seeds: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r, r.workers[0], &phase{start: time.Now()}
}

// inmemTarget serves okHandler over an in-memory listener and points the
// runner's client at it.
func inmemServer(t testing.TB, r *runner) {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: okHandler}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown() })
	r.targets[0].dial = ln.Dial
}
