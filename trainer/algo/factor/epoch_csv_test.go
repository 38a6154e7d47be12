package factor

// IALS per-epoch time on an interaction CSV (BENCHMARKS.md §Training at
// scale, the comparison with implicit):
//
//	go test -run '^$' -bench IALSEpochCSV -benchtime 1x -timeout 60m ./trainer/algo/factor \
//	    -args -ials.csv=10m.csv -ials.k=64 -ials.epochs=3
//
// The CSV's first two columns are user and item ids (header skipped,
// duplicates kept as a count, as implicit's coo→csr build does).

import (
	"bufio"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/trainer/sparse"
)

var (
	ialsCSV    = flag.String("ials.csv", "", "interaction CSV for BenchmarkIALSEpochCSV (user,item,…; header)")
	ialsK      = flag.Int("ials.k", 64, "n_components for BenchmarkIALSEpochCSV")
	ialsEpochs = flag.Int("ials.epochs", 3, "epochs timed by BenchmarkIALSEpochCSV")
)

func readPairsCSV(tb testing.TB, path string) *sparse.CSR {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	users, items := map[string]int32{}, map[string]int32{}
	var r, c []int32
	var v []float64
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		u, rest, _ := strings.Cut(sc.Text(), ",")
		it, _, _ := strings.Cut(rest, ",")
		ui, ok := users[u]
		if !ok {
			ui = int32(len(users))
			users[u] = ui
		}
		ii, ok := items[it]
		if !ok {
			ii = int32(len(items))
			items[it] = ii
		}
		r, c, v = append(r, ui), append(c, ii), append(v, 1)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	x, err := sparse.FromTriplets(len(users), len(items), r, c, v)
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

func BenchmarkIALSEpochCSV(b *testing.B) {
	if *ialsCSV == "" {
		b.Skip("set -ials.csv")
	}
	x := readPairsCSV(b, *ialsCSV)
	b.Logf("%d users × %d items, nnz %d, k %d", x.Rows, x.Cols, x.NNZ(), *ialsK)
	for b.Loop() {
		c := DefaultIALSConfig()
		c.NComponents, c.Alpha0, c.Reg = *ialsK, 0.1, 0.01
		m, err := NewIALS(c)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Init(x); err != nil {
			b.Fatal(err)
		}
		for e := range *ialsEpochs {
			t0 := time.Now()
			if err := m.Epoch(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "s/epoch")
			b.Logf("epoch %d: %.2f s", e, time.Since(t0).Seconds())
		}
	}
}
