package httpsrc

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/source"
)

// MovieLens ratings (2.2 MB, 100,004 rows) over loopback TLS through the
// csv source: download to the temp file, sha256 pin, parse, Values.
//
//	go test -run '^$' -bench HTTPS -benchtime 10x ./trainer/source/httpsrc
func BenchmarkHTTPSMovieLens(b *testing.B) {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			b.Fatal("no go.mod above the benchmark")
		}
		dir = filepath.Dir(dir)
	}
	body, err := os.ReadFile(filepath.Join(dir, "../shared/data/movielens/ratings.csv"))
	testenv.Require(b, testenv.MovieLens, err == nil, "MovieLens data absent: %v", err)
	srv := tlsServerTB(b, body)
	pin := sum(body)
	r := csvRecipe(srv.URL+"/data.csv", &pin)
	r.Schema.UserColumn, r.Schema.ItemColumn, r.Schema.TimeColumn = "userId", "movieId", nil
	src, err := source.New(r, source.Options{Settings: allow})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	sink := source.SinkFunc(func([]source.Value) error { n++; return nil })
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := src.Fetch(context.Background(), sink); err != nil {
			b.Fatal(err)
		}
	}
	if n != b.N*100004 {
		b.Fatalf("%d rows over %d runs", n, b.N)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
