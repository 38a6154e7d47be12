package refscore

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

func TestTopK(t *testing.T) {
	inf := math.Inf(1)
	f := func(scores []float64, k int, want []int) {
		t.Helper()
		got := TopK(scores, k)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("TopK(%v, %d) = %v, want %v", scores, k, got, want)
		}
	}
	f(nil, 3, nil)
	f([]float64{1}, 0, nil)
	f([]float64{1}, 1, []int{0})
	f([]float64{1, 3, 2}, 2, []int{1, 2})
	f([]float64{1, 3, 2}, 10, []int{1, 2, 0})
	f([]float64{2, 2, 2, 2}, 3, []int{0, 1, 2}) // ties: lower index first
	f([]float64{0, 5, 0, 5}, 4, []int{1, 3, 0, 2})
	f([]float64{-inf, inf, math.NaN(), -1}, 4, []int{3})
	f([]float64{-inf, -inf}, 2, nil)
}

// TestTopKAgainstSort checks the heap against a full sort on random input with ties.
func TestTopKAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := rng.IntN(50)
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(rng.IntN(5))
			if rng.IntN(7) == 0 {
				s[i] = math.Inf(-1)
			}
		}
		k := rng.IntN(60)
		var all []int
		for i := range s {
			if !math.IsInf(s[i], 0) {
				all = append(all, i)
			}
		}
		slices.SortStableFunc(all, func(a, b int) int {
			if s[a] != s[b] {
				if s[a] > s[b] {
					return -1
				}
				return 1
			}
			return a - b
		})
		want := all[:min(k, len(all))]
		got := TopK(s, k)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("TopK(%v,%d)=%v want %v", s, k, got, want)
		}
	}
}

func testX(t *testing.T) *sparse.CSR {
	t.Helper()
	// 3 users × 4 items.
	x, err := sparse.FromTriplets(3, 4, []int32{0, 0, 1, 2, 2}, []int32{0, 2, 1, 1, 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestScoreUserKinds(t *testing.T) {
	x := testX(t)
	f := func(m *algo.Model, u int, want []float64) {
		t.Helper()
		idx, val := x.Row(u)
		dst := make([]float64, m.NItems)
		ScoreUser(m, u, idx, val, dst)
		for i := range want {
			if math.Abs(dst[i]-want[i]) > 1e-6 {
				t.Fatalf("%s user %d: got %v want %v", m.Kind, u, dst, want)
			}
		}
	}
	pop := &algo.Model{Kind: algo.KindPopularity, NUsers: 3, NItems: 4, Popularity: []float64{1, 2, 1, 1}}
	f(pop, 0, []float64{1, 2, 1, 1})
	dense := &algo.Model{Kind: algo.KindDenseItem, NUsers: 3, NItems: 4, Dense: []float32{
		0, 1, 2, 3,
		4, 0, 5, 6,
		7, 8, 0, 9,
		1, 1, 1, 0,
	}}
	f(dense, 0, []float64{7, 9, 2, 12}) // rows 0 + 2
	f(dense, 2, []float64{5, 1, 6, 6})  // rows 1 + 3
	sim := &algo.Model{Kind: algo.KindSparseItem, NUsers: 3, NItems: 4, Sim: &algo.SimCSR{
		N: 4, Indptr: []int64{0, 1, 2, 3, 3}, Indices: []int32{1, 3, 0}, Data: []float32{0.5, 2, 0.25},
	}}
	f(sim, 0, []float64{0.25, 0.5, 0, 0})
	f(sim, 2, []float64{0, 0, 0, 2})
	fac := &algo.Model{Kind: algo.KindFactor, NUsers: 3, NItems: 4, K: 2,
		UserFactors: []float32{1, 0, 0, 1, 1, 1},
		ItemFactors: []float32{1, 2, 3, 4, 5, 6, 7, 8},
		ItemBias:    []float32{0, 0, 0, 0.5},
	}
	f(fac, 0, []float64{1, 3, 5, 7.5})
	f(fac, 2, []float64{3, 7, 11, 15.5})
}

func TestRecommendMasksSeenAndExclude(t *testing.T) {
	x := testX(t)
	pop := &algo.Model{Kind: algo.KindPopularity, NUsers: 3, NItems: 4, Popularity: []float64{4, 3, 2, 1}}
	got := Recommend(pop, x, 0, 10, []int32{3, 99, -1})
	want := []Item{{Index: 1, Score: 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if got := Recommend(pop, nil, 0, 2, nil); !slices.Equal(got, []Item{{0, 4}, {1, 3}}) {
		t.Fatalf("nil seen: got %v", got)
	}
}

func TestRelated(t *testing.T) {
	pop := &algo.Model{Kind: algo.KindPopularity, NUsers: 3, NItems: 4, Popularity: []float64{4, 3, 2, 1}}
	if _, err := Related(pop, []int32{-1, 7}, 5, nil); !errors.Is(err, ErrNoKnownSeeds) {
		t.Fatalf("unknown seeds: err %v", err)
	}
	if _, err := Related(pop, []int32{0, 1}, 5, []int32{2, 3}); !errors.Is(err, ErrNoCandidates) {
		t.Fatalf("all masked: err %v", err)
	}
	got, err := Related(pop, []int32{0, 9}, 5, nil)
	if err != nil || !slices.Equal(got, []Item{{1, 3}, {2, 2}, {3, 1}}) {
		t.Fatalf("got %v, %v", got, err)
	}
	// Duplicate seeds count twice for item-based kinds.
	sim := &algo.Model{Kind: algo.KindSparseItem, NItems: 3, Sim: &algo.SimCSR{
		N: 3, Indptr: []int64{0, 1, 2, 2}, Indices: []int32{2, 2}, Data: []float32{1, 1.5},
	}}
	got, err = Related(sim, []int32{0, 0, 1}, 5, nil)
	if err != nil || len(got) != 1 || got[0].Index != 2 || got[0].Score != 3.5 {
		t.Fatalf("duplicate seeds: got %v, %v", got, err)
	}
}

func randFactor(rng *rand.Rand, n, k int) []float32 {
	out := make([]float32, n*k)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// TestIALSFoldInConverges checks the CG fold-in against an exact dense solve
// when CG runs k steps (exact in exact arithmetic for a k×k SPD system).
func TestIALSFoldInConverges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const nItems, k = 30, 6
	m := &algo.Model{Kind: algo.KindFactor, NItems: nItems, K: k, ItemFactors: randFactor(rng, nItems, k),
		FoldIn: algo.FoldIn{Method: "ials_cg", Alpha0: 0.05, Reg: 0.01, Nu: 1, LossType: "IALSPP", Confidence: "none", CGSteps: 0}}
	seeds := []int32{2, 5, 5, 11}
	vals := []float64{1, 1, 1, 1}
	z, err := FoldIn(m, seeds, vals)
	if err != nil {
		t.Fatal(err)
	}
	// Dense A, b.
	A := mat.NewSymDense(k, nil)
	b := mat.NewVecDense(k, nil)
	lambda := m.FoldIn.Reg * (m.FoldIn.Alpha0*nItems + float64(len(seeds)))
	for a := 0; a < k; a++ {
		for c := 0; c < k; c++ {
			var g float64
			for i := 0; i < nItems; i++ {
				g += float64(m.ItemFactors[i*k+a]) * float64(m.ItemFactors[i*k+c])
			}
			v := m.FoldIn.Alpha0 * g
			if a == c {
				v += lambda
			}
			for _, j := range seeds {
				v += float64(m.ItemFactors[int(j)*k+a]) * float64(m.ItemFactors[int(j)*k+c])
			}
			A.SetSym(a, c, v)
		}
	}
	for _, j := range seeds {
		for a := 0; a < k; a++ {
			b.SetVec(a, b.AtVec(a)+float64(m.ItemFactors[int(j)*k+a]))
		}
	}
	var want mat.VecDense
	if err := want.SolveVec(A, b); err != nil {
		t.Fatal(err)
	}
	for a := 0; a < k; a++ {
		if math.Abs(float64(z[a])-want.AtVec(a)) > 1e-4*(1+math.Abs(want.AtVec(a))) {
			t.Fatalf("fold-in %v, exact %v", z, mat.Formatted(&want))
		}
	}
	// With 5 steps (k=6) the result is close but the routine must still run and be finite.
	m.FoldIn.CGSteps = 5
	z5, err := FoldIn(m, seeds, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range z5 {
		if math.IsNaN(float64(x)) {
			t.Fatal("NaN in 5-step fold-in")
		}
	}
}

func TestProjectionAndMeanFoldIn(t *testing.T) {
	m := &algo.Model{Kind: algo.KindFactor, NItems: 3, K: 2, ItemFactors: []float32{1, 0, 0, 1, 1, 1}, FoldIn: algo.FoldIn{Method: "projection"}}
	dst := make([]float64, 3)
	if err := ScoreProfile(m, []int32{0, 2}, []float64{1, 1}, dst); err != nil {
		t.Fatal(err)
	}
	// z = (2,1); s = (2,1,3)
	if !slices.Equal(dst, []float64{2, 1, 3}) {
		t.Fatalf("projection: %v", dst)
	}
	m.FoldIn.Method = "mean"
	m.ItemBias = []float32{0, 0, 1}
	if err := ScoreProfile(m, []int32{0, 2}, []float64{1, 1}, dst); err != nil {
		t.Fatal(err)
	}
	// z = (1, 0.5); s = (1, 0.5, 2.5)
	if !slices.Equal(dst, []float64{1, 0.5, 2.5}) {
		t.Fatalf("mean: %v", dst)
	}
}

func BenchmarkTopK(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := make([]float64, 10000)
	for i := range s {
		s[i] = rng.Float64()
	}
	var dst []int
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendTopK(dst[:0], s, 20)
	}
	b.ReportMetric(float64(len(s)), "items/op")
}
