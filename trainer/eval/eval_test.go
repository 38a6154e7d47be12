package eval

import (
	"context"
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

func csr(t *testing.T, rows, cols int, pairs ...[2]int32) *sparse.CSR {
	t.Helper()
	r := make([]int32, len(pairs))
	c := make([]int32, len(pairs))
	for k, p := range pairs {
		r[k], c[k] = p[0], p[1]
	}
	m, err := sparse.FromTriplets(rows, cols, r, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func popModel(p ...float64) *algo.Model {
	return &algo.Model{Kind: algo.KindPopularity, NItems: len(p), Popularity: p}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestEvaluateHandComputed(t *testing.T) {
	// 6 items ranked by popularity 0>1>2>3>4>5 (ties none).
	m := popModel(6, 5, 4, 3, 2, 1)
	// User 0 trained on item 0, held out {2, 5}. Ranking after mask: 1,2,3 (cutoff 3) → hit at rank 1.
	// User 1 has no held-out items (skipped).
	// User 2 trained on nothing, held out {0}: ranking 0,1,2 → hit at rank 0.
	train := csr(t, 3, 6, [2]int32{0, 0}, [2]int32{1, 3})
	held := csr(t, 3, 6, [2]int32{0, 2}, [2]int32{0, 5}, [2]int32{2, 0})
	s, err := Evaluate(context.Background(), m, train, held, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	d := func(j int) float64 { return 1 / math.Log2(float64(j)+2) }
	wantNDCG := (d(1)/(d(0)+d(1)) + 1) / 2
	wantMAP := ((1.0/2)/2 + 1) / 2
	wantRecall := (0.5 + 1) / 2
	wantPrec := (1.0/3 + 1.0/3) / 2
	if !near(s.NDCG, wantNDCG) || !near(s.MAP, wantMAP) || !near(s.Recall, wantRecall) || !near(s.Hit, 1) || !near(s.Precision, wantPrec) {
		t.Fatalf("got %+v, want ndcg %v map %v recall %v prec %v", s, wantNDCG, wantMAP, wantRecall, wantPrec)
	}
	if s.ValidUsers != 2 || s.TotalUsers != 3 {
		t.Fatalf("valid/total = %d/%d", s.ValidUsers, s.TotalUsers)
	}
	for _, name := range []string{NDCG, MAP, Recall, Hit, Precision} {
		if math.IsNaN(s.Get(name)) {
			t.Fatalf("Get(%q) NaN", name)
		}
	}
	if !math.IsNaN(s.Get("auc")) {
		t.Fatal("unknown metric should be NaN")
	}
}

func TestEvaluateTiesAndFewCandidates(t *testing.T) {
	// All scores tie: ranking is by index. 3 items, user trained on 0 and 1,
	// so C = {2}, n = 1 < cutoff.
	m := popModel(1, 1, 1)
	train := csr(t, 2, 3, [2]int32{0, 0}, [2]int32{0, 1})
	held := csr(t, 2, 3, [2]int32{0, 2}, [2]int32{1, 2})
	s, err := Evaluate(context.Background(), m, train, held, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	// User 0: n=1, hit at 0 → ndcg 1, precision 1. User 1: ranking 0,1,2, hit at rank 2.
	d := func(j int) float64 { return 1 / math.Log2(float64(j)+2) }
	if !near(s.NDCG, (1+d(2)/d(0))/2) || !near(s.Precision, (1+1.0/3)/2) {
		t.Fatalf("got %+v", s)
	}
	// Held-out item that is also trained is masked but still counted in g.
	train2 := csr(t, 1, 3, [2]int32{0, 0})
	held2 := csr(t, 1, 3, [2]int32{0, 0}, [2]int32{0, 1})
	s, err = Evaluate(context.Background(), m, train2, held2, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near(s.Recall, 0.5) || !near(s.MAP, 0.5) {
		t.Fatalf("masked held-out: %+v", s)
	}
}

func TestEvaluateOffsetAndNoValidUsers(t *testing.T) {
	m := popModel(3, 2, 1)
	train := csr(t, 3, 3, [2]int32{0, 0}, [2]int32{2, 1})
	// Held-out rows are train rows 2..2 (offset 2).
	held := csr(t, 1, 3, [2]int32{0, 0})
	s, err := Evaluate(context.Background(), m, train, held, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Hit != 1 || s.NDCG != 1 {
		t.Fatalf("offset: %+v", s)
	}
	empty := csr(t, 1, 3)
	s, err = Evaluate(context.Background(), m, train, empty, 0, 2)
	if err != nil || s != (Scores{TotalUsers: 1}) {
		t.Fatalf("no valid users: %+v, %v", s, err)
	}
}

func TestEvaluateErrors(t *testing.T) {
	m := popModel(1, 2)
	train := csr(t, 2, 2)
	held := csr(t, 2, 2, [2]int32{0, 1})
	f := func(m *algo.Model, train, held *sparse.CSR, offset, cutoff int, want error) {
		t.Helper()
		if _, err := Evaluate(context.Background(), m, train, held, offset, cutoff); !errors.Is(err, want) {
			t.Errorf("err %v, want %v", err, want)
		}
	}
	f(m, train, held, 0, 3, ErrCutoff)
	f(m, train, held, 0, 0, ErrCutoff)
	f(m, train, held, 1, 1, ErrShape)
	f(popModel(1, 2, 3), train, held, 0, 1, ErrShape)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, m, train, held, 0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestTopPopParity checks loader + evaluator against irspack's TopPop row of
// issue 4 (nDCG@20 0.1170, recall@20 0.1180; TopPop has many score ties, so
// this pins the tie-break and index order) and that the result does not
// depend on GOMAXPROCS.
func TestTopPopParity(t *testing.T) {
	dir, ok := MovieLensSplitDir()
	testenv.Require(t, testenv.MovieLens, ok, "MovieLens split not found at %s relative to the repository root", MovieLensSplitRel)
	t.Run("numeric", func(t *testing.T) { testTopPop(t, dir, LoadMovieLensSplitNumeric, 0.1170, 0.1180, 0.00006) })
	// String order breaks popularity ties differently (0.1166 / 0.1173).
	t.Run("string", func(t *testing.T) { testTopPop(t, dir, LoadMovieLensSplit, 0.1170, 0.1180, 0.001) })
}

func testTopPop(t *testing.T, dir string, load func(string) (*sparse.CSR, *sparse.CSR, error), ndcg, recall, tol float64) {
	train, test, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Rows != test.Rows || train.Cols != test.Cols || train.NNZ() == 0 || test.NNZ() == 0 {
		t.Fatalf("shapes train %dx%d (%d) test %dx%d (%d)", train.Rows, train.Cols, train.NNZ(), test.Rows, test.Cols, test.NNZ())
	}
	pop := make([]float64, train.Cols)
	for _, j := range train.Indices {
		pop[j]++
	}
	m := &algo.Model{Kind: algo.KindPopularity, NUsers: train.Rows, NItems: train.Cols, Popularity: pop}
	s, err := Evaluate(context.Background(), m, train, test, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TopPop nDCG@20 %.4f recall@20 %.4f (irspack 0.1170 / 0.1180), users %d/%d", s.NDCG, s.Recall, s.ValidUsers, s.TotalUsers)
	if math.Abs(s.NDCG-ndcg) > tol || math.Abs(s.Recall-recall) > tol {
		t.Fatalf("TopPop nDCG %.5f recall %.5f, irspack %.4f / %.4f ± %g", s.NDCG, s.Recall, ndcg, recall, tol)
	}
	prev := runtime.GOMAXPROCS(1)
	s1, err := Evaluate(context.Background(), m, train, test, 0, 20)
	runtime.GOMAXPROCS(prev)
	if err != nil || s1 != s {
		t.Fatalf("GOMAXPROCS=1 gives %+v (%v), want %+v", s1, err, s)
	}
}
