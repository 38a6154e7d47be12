package dataset

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/tools/synth"
	"github.com/recotem/recotem/trainer/source"
)

var ingestRows = flag.Int("ingest.rows", 10_000_000, "rows of the synthetic ingest benchmark")

// BenchmarkIngest reports rows/s and the process's peak RSS. Peak RSS is
// process-wide, so run one case per process:
//
//	go test -run '^$' -bench 'Ingest/movielens$' -benchtime 1x ./trainer/dataset
//	go test -run '^$' -bench 'Ingest/synth_plain$' -benchtime 1x ./trainer/dataset
//	go test -run '^$' -bench 'Ingest/synth_gzip$' -benchtime 1x ./trainer/dataset
func BenchmarkIngest(b *testing.B) {
	b.Run("movielens", func(b *testing.B) { benchIngest(b, movielens(b)) })
	for _, gz := range []bool{false, true} {
		name := "synth_plain"
		if gz {
			name = "synth_gzip"
		}
		b.Run(name, func(b *testing.B) {
			if testing.Short() {
				b.Skip("synthetic ingest benchmark skipped in -short mode")
			}
			p := filepath.Join(b.TempDir(), "synth.csv")
			if gz {
				p += ".gz"
			}
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := synth.Write(f, synth.Config{Users: 200_000, Items: 50_000, Rows: *ingestRows, Exponent: 1.0, Seed: 1, Gzip: gz}); err != nil {
				b.Fatal(err)
			}
			f.Close()
			tc, unit := "timestamp", "s"
			r := &recipe.Recipe{
				Name:      "synth",
				Source:    recipe.Source{Type: recipe.TypeCSV, CSV: &recipe.CSVSource{Type: "csv", Path: p, Delimiter: ",", Encoding: "utf-8"}},
				Schema:    recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id", TimeColumn: &tc, TimeUnit: &unit},
				Cleansing: recipe.Cleansing{DropNullIDs: true, Dedup: recipe.DedupKeepLast},
			}
			benchIngest(b, r)
		})
	}
}

func benchIngest(b *testing.B, r *recipe.Recipe) {
	b.ReportAllocs()
	var d *Interactions
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		var err error
		d, err = Ingest(context.Background(), r, source.Options{Settings: source.Settings{MaxDownloadBytes: 16 << 30}})
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	if d.NRows() == 0 {
		b.Fatal("no rows")
	}
	b.ReportMetric(float64(d.NRowsFetched)*float64(b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(d.NRows()), "rows_kept")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak_rss_MiB")
	}
}
