package itemitem

import (
	"context"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/eval"
	"github.com/recotem/recotem/trainer/sparse"
)

// Parity with irspack on the shared MovieLens split (issue 4): train on
// train.csv with the parameters, recommend top-20 per test user with
// train items masked, and require nDCG@20 ≥ 0.97 × irspack's figure.
// Run without -race (the fits are sized for real data):
//
//	go test -run TestParity -v ./trainer/algo/itemitem/

func loadMovieLens(t *testing.T) (train, test *sparse.CSR) {
	t.Helper()
	if testing.Short() {
		t.Skip("parity fits real MovieLens data; skipped with -short")
	}
	if raceEnabled {
		t.Skip("parity fits real MovieLens data; run without -race")
	}
	dir, ok := eval.MovieLensSplitDir()
	testenv.Require(t, testenv.MovieLens, ok, "MovieLens split not found at %s relative to the repository root", eval.MovieLensSplitRel)
	// Numeric id order is the index order of irspack's reference run.
	train, test, err := eval.LoadMovieLensSplitNumeric(dir)
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

func parity(t *testing.T, alias string, p algo.Params, irspackNDCG, irspackRecall float64, irspackFit string) {
	train, test := loadMovieLens(t)
	r, ok, err := New(alias, p, 42)
	if !ok || err != nil {
		t.Fatalf("New(%s): ok=%v err=%v", alias, ok, err)
	}
	start := time.Now()
	if err := r.Fit(context.Background(), train); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	s, err := eval.Evaluate(context.Background(), r.Model(), train, test, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %v: nDCG@20 %.4f recall@20 %.4f (irspack %.4f / %.4f), fit %v (irspack %s), %d×%d, users %d/%d",
		alias, p, s.NDCG, s.Recall, irspackNDCG, irspackRecall, took.Round(time.Millisecond), irspackFit,
		train.Rows, train.Cols, s.ValidUsers, s.TotalUsers)
	if floor := 0.97 * irspackNDCG; s.NDCG < floor {
		t.Fatalf("%s nDCG@20 %.4f below the floor %.4f (0.97 × irspack %.4f)", alias, s.NDCG, floor, irspackNDCG)
	}
}

func TestParityTopPop(t *testing.T) {
	parity(t, "TopPop", nil, 0.1170, 0.1180, "<1 ms")
}

func TestParityCosineKNN(t *testing.T) {
	parity(t, "CosineKNN", algo.Params{"top_k": 359, "shrinkage": 280.9, "feature_weighting": "BM_25", "normalize": true},
		0.2162, 0.2264, "1.14 s")
}

func TestParityRP3beta(t *testing.T) {
	parity(t, "RP3beta", algo.Params{"top_k": 865, "beta": 8.64e-5, "normalize_weight": true, "alpha": 1.0},
		0.2233, 0.2457, "1.47 s")
}

func TestParityDenseSLIM(t *testing.T) {
	parity(t, "DenseSLIM", algo.Params{"reg": 253.8}, 0.2696, 0.2758, "9.4 s")
}
