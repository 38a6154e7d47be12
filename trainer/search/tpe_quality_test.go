package search

import (
	"context"
	"testing"

	"github.com/recotem/recotem/trainer/search/tpe"
)

// bestOf runs one 40-trial study on the synthetic objective and returns
// its best value.
func bestOf(tb testing.TB, seed int64, random bool) float64 {
	res, err := Run(context.Background(), Config{
		Study: "q", Classes: []string{"A"}, NTrials: 40, Seed: seed, RandomSearch: random,
	}, synthetic)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Best.Value
}

func meanBest(tb testing.TB, seeds int, random bool) float64 {
	s := 0.0
	for seed := range seeds {
		s += bestOf(tb, int64(seed), random)
	}
	return s / float64(seeds)
}

// TPE beats pure random search on average at equal trials (issue 5).
func TestTPEBeatsRandom(t *testing.T) {
	tpe, rnd := meanBest(t, 10, false), meanBest(t, 10, true)
	t.Logf("mean best over 10 seeds, 40 trials: TPE %.4f, random %.4f (optimum 0.5)", tpe, rnd)
	if tpe <= rnd {
		t.Fatalf("TPE %.4f does not beat random %.4f", tpe, rnd)
	}
}

// BenchmarkTPEVsRandom reports the mean best value (optimum 0.5) of TPE and
// of random search over 20 seeds at 40 trials each, plus the time of one
// 40-trial TPE study.
//
//	go test ./trainer/search -run '^$' -bench TPEVsRandom -benchtime 3x
func BenchmarkTPEVsRandom(b *testing.B) {
	b.ReportAllocs()
	var tpe, rnd float64
	for b.Loop() {
		tpe = meanBest(b, 20, false)
		rnd = meanBest(b, 20, true)
	}
	b.ReportMetric(tpe, "tpe_best")
	b.ReportMetric(rnd, "random_best")
	b.ReportMetric(tpe-rnd, "tpe_gain")
}

// BenchmarkSuggest is the cost of one TPE suggestion with 200 trials of
// history (4 parameters).
//
//	go test ./trainer/search -run '^$' -bench Suggest -benchtime 200x
func BenchmarkSuggest(b *testing.B) {
	res, err := Run(context.Background(), Config{Study: "h", Classes: []string{"A"}, NTrials: 200, Seed: 1}, synthetic)
	if err != nil {
		b.Fatal(err)
	}
	hist := history(res.Trials)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s := tpe.New(1, 200+n, hist, false)
		for _, spec := range testSpace {
			_ = s.Suggest(spec)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n)/float64(len(testSpace)), "µs/param")
}
