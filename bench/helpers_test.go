package bench

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
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
	if err != nil {
		t.Skipf("MovieLens data not available at ../shared/data/movielens/ratings.csv: %v", err)
	}
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

func mustIDs(t testing.TB, ids ...string) *IDs {
	t.Helper()
	var b [][]byte
	for _, s := range ids {
		b = append(b, []byte(s))
	}
	x, err := NewIDs(b)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

var _ = bytes.Equal
