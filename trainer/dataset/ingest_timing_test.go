package dataset

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/tools/synth"
	"github.com/recotem/recotem/trainer/source"
)

var (
	ingestRows = flag.Int("ingest.rows", 10_000_000, "rows of the synthetic ingest benchmark")
	ingestFile = flag.String("ingest.file", "", "CSV (user_id,item_id,timestamp; any compression) or .parquet file for the Ingest/file case")
)

// BenchmarkIngest reports rows/s and the process's peak RSS. Peak RSS is
// process-wide, so run one case per process:
//
//	go test -run '^$' -bench 'Ingest/movielens$' -benchtime 1x ./trainer/dataset
//	go test -run '^$' -bench 'Ingest/synth_plain$' -benchtime 1x ./trainer/dataset
//	go test -run '^$' -bench 'Ingest/synth_gzip$' -benchtime 1x ./trainer/dataset
//	go test -run '^$' -bench 'Ingest/file$' -benchtime 1x ./trainer/dataset -args -ingest.file data.csv
//
// Ingest/file reads an existing file (e.g. one written by tools/synth/cmd/synth),
// so two builds can be timed alternately on the same bytes.
func BenchmarkIngest(b *testing.B) {
	b.Run("movielens", func(b *testing.B) { benchIngest(b, movielens(b)) })
	b.Run("file", func(b *testing.B) {
		if *ingestFile == "" {
			b.Skip("no -ingest.file")
		}
		benchIngest(b, synthRecipe(*ingestFile))
	})
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
			benchIngest(b, synthRecipe(p))
		})
	}
}

// synthRecipe reads tools/synth's columns: user_id,item_id,timestamp (s),
// from CSV or, for a name ending in .parquet, parquet.
func synthRecipe(p string) *recipe.Recipe {
	tc, unit := "timestamp", "s"
	src := recipe.Source{Type: recipe.TypeCSV, CSV: &recipe.CSVSource{Type: "csv", Path: p, Delimiter: ",", Encoding: "utf-8"}}
	if strings.HasSuffix(p, ".parquet") {
		src = recipe.Source{Type: recipe.TypeParquet, Parquet: &recipe.ParquetSource{Type: "parquet", Path: p}}
	}
	return &recipe.Recipe{
		Name:      "synth",
		Source:    src,
		Schema:    recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id", TimeColumn: &tc, TimeUnit: &unit},
		Cleansing: recipe.Cleansing{DropNullIDs: true, Dedup: recipe.DedupKeepLast},
	}
}

func benchIngest(b *testing.B, r *recipe.Recipe) {
	b.ReportAllocs()
	var d *Interactions
	var elapsed time.Duration
	cpu0 := cpuTime()
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
	// CPU seconds per ingest (user + system, all threads): on a shared
	// machine wall time also counts the neighbours' load, CPU time does not.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu_s/op")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak_rss_MiB")
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
