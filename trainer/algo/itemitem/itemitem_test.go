package itemitem

import (
	"context"
	"errors"
	"github.com/recotem/recotem/internal/recipe"
	"math"
	"math/rand"
	"runtime"
	"slices"
	"testing"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

func fit(t *testing.T, r algo.Recommender, X *sparse.CSR) *algo.Model {
	t.Helper()
	if err := r.Fit(context.Background(), X); err != nil {
		t.Fatalf("fit: %v", err)
	}
	m := r.Model()
	if m == nil {
		t.Fatal("nil model after fit")
	}
	if m.NItems != X.Cols || m.NUsers != X.Rows {
		t.Fatalf("model dims %d×%d, want %d×%d", m.NUsers, m.NItems, X.Rows, X.Cols)
	}
	return m
}

func compareDense(t *testing.T, what string, got, want [][]float64, tol float64) {
	t.Helper()
	for r := range want {
		for j := range want[r] {
			g, w := got[r][j], want[r][j]
			if math.IsNaN(g) || math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
				t.Fatalf("%s: [%d][%d] = %g, want %g", what, r, j, g, w)
			}
		}
	}
}

func TestCosineKNNMatchesReference(t *testing.T) {
	f := func(seed int64, counts bool, p algo.Params) {
		t.Helper()
		X := randomCSR(rand.New(rand.NewSource(seed)), 40, 25, 8, counts)
		c, err := NewCosineKNN(p)
		if err != nil {
			t.Fatal(err)
		}
		m := fit(t, c, X)
		if m.Kind != algo.KindSparseItem || m.Sim == nil || m.Sim.N != X.Cols {
			t.Fatalf("bad model %+v", m)
		}
		got, err := simDense(m.Sim)
		if err != nil {
			t.Fatal(err)
		}
		compareDense(t, "cosine", got, cosineRef(X, c), 1e-6)
	}
	for _, fw := range []string{WeightNone, WeightTFIDF, WeightBM25} {
		for _, norm := range []bool{false, true} {
			for _, k := range []int{1, 3, 7, 100} {
				p := algo.Params{"top_k": k, "feature_weighting": fw, "normalize": norm, "shrinkage": 2.5}
				f(1, false, p)
				f(2, true, p)
			}
		}
	}
}

func TestRP3betaMatchesReference(t *testing.T) {
	f := func(seed int64, counts bool, p algo.Params) {
		t.Helper()
		X := randomCSR(rand.New(rand.NewSource(seed)), 40, 25, 8, counts)
		m0, err := NewRP3beta(p)
		if err != nil {
			t.Fatal(err)
		}
		m := fit(t, m0, X)
		got, err := simDense(m.Sim)
		if err != nil {
			t.Fatal(err)
		}
		compareDense(t, "rp3beta", got, rp3Ref(X, m0), 1e-6)
	}
	for _, norm := range []bool{false, true} {
		for _, k := range []any{nil, 1, 4, 1000} {
			for _, beta := range []float64{0, 8.64e-5, 0.6} {
				p := algo.Params{"top_k": k, "beta": beta, "normalize_weight": norm}
				f(3, false, p)
				f(4, true, p)
				p["alpha"] = 0.5
				f(5, true, p)
			}
		}
	}
}

func TestDenseSLIMMatchesReference(t *testing.T) {
	f := func(seed int64, users, items int, reg float64) {
		t.Helper()
		X := randomCSR(rand.New(rand.NewSource(seed)), users, items, 12, false)
		d, err := NewDenseSLIM(algo.Params{"reg": reg})
		if err != nil {
			t.Fatal(err)
		}
		m := fit(t, d, X)
		if m.Kind != algo.KindDenseItem || len(m.Dense) != items*items {
			t.Fatalf("bad model kind %s len %d", m.Kind, len(m.Dense))
		}
		got := make([][]float64, items)
		for i := range got {
			got[i] = make([]float64, items)
			for j := range got[i] {
				got[i][j] = float64(m.Dense[i*items+j])
			}
		}
		compareDense(t, "ease", got, easeRef(X, reg), 2e-4)
	}
	f(1, 50, 30, 1)
	f(2, 200, 70, 10)
	f(3, 300, 150, 253.8)
}

func TestTopPop(t *testing.T) {
	X, err := sparse.FromTriplets(3, 4, []int32{0, 0, 1, 2, 2}, []int32{1, 1, 1, 3, 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := NewTopPop(nil)
	m := fit(t, tp, X)
	if want := []float64{1, 3, 0, 1}; !slices.Equal(m.Popularity, want) || m.Kind != algo.KindPopularity {
		t.Fatalf("popularity %v (kind %s), want %v", m.Popularity, m.Kind, want)
	}
}

// degenerate inputs of algorithms.md §1 / issue 4: one user, one item,
// empty rows and columns, no interactions at all, duplicate pairs.
func degenerateInputs(t *testing.T) map[string]*sparse.CSR {
	t.Helper()
	mk := func(rows, cols int, r, c []int32) *sparse.CSR {
		X, err := sparse.FromTriplets(rows, cols, r, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		return X
	}
	return map[string]*sparse.CSR{
		"one user one item":    mk(1, 1, []int32{0}, []int32{0}),
		"one user many items":  mk(1, 5, []int32{0, 0, 0}, []int32{0, 2, 4}),
		"many users one item":  mk(4, 1, []int32{0, 2, 3}, []int32{0, 0, 0}),
		"empty rows and cols":  mk(6, 7, []int32{1, 1, 4, 4, 4}, []int32{2, 5, 2, 3, 5}),
		"no interactions":      mk(3, 4, nil, nil),
		"duplicate ids counts": mk(2, 3, []int32{0, 0, 0, 1, 1}, []int32{1, 1, 1, 1, 2}),
		"item everyone has":    mk(3, 2, []int32{0, 1, 2, 2}, []int32{0, 0, 0, 1}),
	}
}

func allFinite32(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

func TestDegenerateInputs(t *testing.T) {
	params := map[string][]algo.Params{
		"CosineKNN": {nil,
			{"top_k": 5, "normalize": true, "shrinkage": 0.0, "feature_weighting": WeightBM25},
			{"top_k": 2, "normalize": true, "feature_weighting": WeightTFIDF}},
		"RP3beta":   {nil, {"top_k": 1, "beta": 0.3, "normalize_weight": true}},
		"DenseSLIM": {nil, {"reg": 1e4}},
		"TopPop":    {nil},
	}
	for name, X := range degenerateInputs(t) {
		for _, s := range Specs() {
			for _, p := range params[s.Alias] {
				r, err := s.New(p, 42)
				if err != nil {
					t.Fatalf("%s %v: %v", s.Alias, p, err)
				}
				m := fit(t, r, X)
				switch m.Kind {
				case algo.KindSparseItem:
					dense, err := simDense(m.Sim)
					if err != nil {
						t.Fatalf("%s on %s: %v", s.Alias, name, err)
					}
					if !allFinite32(m.Sim.Data) {
						t.Fatalf("%s %v on %s: non-finite similarity %v", s.Alias, p, name, m.Sim.Data)
					}
					if s.Alias == "CosineKNN" {
						for i := range dense {
							if dense[i][i] != 0 {
								t.Fatalf("%s on %s: diagonal %d kept", s.Alias, name, i)
							}
						}
					}
				case algo.KindDenseItem:
					if len(m.Dense) != X.Cols*X.Cols || !allFinite32(m.Dense) {
						t.Fatalf("%s on %s: bad dense %v", s.Alias, name, m.Dense)
					}
				case algo.KindPopularity:
					if len(m.Popularity) != X.Cols {
						t.Fatalf("%s on %s: popularity %v", s.Alias, name, m.Popularity)
					}
				default:
					t.Fatalf("%s: unexpected kind %q", s.Alias, m.Kind)
				}
			}
		}
	}
}

// TestDeterministic fits each algorithm with 1 and with 4 workers and
// requires identical arrays.
func TestDeterministic(t *testing.T) {
	X := randomCSR(rand.New(rand.NewSource(9)), 300, 200, 30, true)
	params := map[string]algo.Params{
		"CosineKNN": {"top_k": 20, "normalize": true, "shrinkage": 10.0, "feature_weighting": WeightBM25},
		"RP3beta":   {"top_k": 30, "beta": 0.2, "normalize_weight": true},
		"DenseSLIM": {"reg": 50.0},
		"TopPop":    nil,
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, s := range Specs() {
		var models [2]*algo.Model
		for k, procs := range []int{1, 4} {
			runtime.GOMAXPROCS(procs)
			r, err := s.New(params[s.Alias], int64(k))
			if err != nil {
				t.Fatal(err)
			}
			models[k] = fit(t, r, X)
		}
		a, b := models[0], models[1]
		same := slices.Equal(a.Popularity, b.Popularity) && slices.Equal(a.Dense, b.Dense)
		if a.Sim != nil {
			same = same && slices.Equal(a.Sim.Indptr, b.Sim.Indptr) && slices.Equal(a.Sim.Indices, b.Sim.Indices) && slices.Equal(a.Sim.Data, b.Sim.Data)
		}
		if !same {
			t.Fatalf("%s: fits with 1 and 4 workers differ", s.Alias)
		}
	}
}

func TestFitCancelled(t *testing.T) {
	X := randomCSR(rand.New(rand.NewSource(9)), 300, 200, 30, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range Specs() {
		r, _ := s.New(nil, 0)
		if err := r.Fit(ctx, X); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: got %v, want context.Canceled", s.Alias, err)
		}
		if r.Model() != nil {
			t.Fatalf("%s: model set after a cancelled fit", s.Alias)
		}
	}
}

func TestBadParams(t *testing.T) {
	f := func(alias string, p algo.Params) {
		t.Helper()
		_, ok, err := New(alias, p, 0)
		var pe *algo.ParamError
		if !ok || !errors.Is(err, algo.ErrParam) || !errors.As(err, &pe) {
			t.Fatalf("%s %v: got ok=%v err=%v, want a ParamError", alias, p, ok, err)
		}
	}
	f("CosineKNN", algo.Params{"top_k": 0})
	f("CosineKNN", algo.Params{"top_k": 2.5})
	f("CosineKNN", algo.Params{"shrinkage": -1.0})
	f("CosineKNN", algo.Params{"feature_weighting": "BM25X"})
	f("CosineKNN", algo.Params{"normalize": "yes"})
	f("RP3beta", algo.Params{"top_k": -3})
	f("RP3beta", algo.Params{"beta": math.NaN()})
	f("RP3beta", algo.Params{"alpha": 0.0})
	f("DenseSLIM", algo.Params{"reg": -1.0})
	f("DenseSLIM", algo.Params{"reg": "big"})
	if _, ok, _ := New("IALS", nil, 0); ok {
		t.Fatal("New accepted IALS, which is not item-based")
	}
}

func TestSpecs(t *testing.T) {
	want := map[string][]string{
		"CosineKNN": {"top_k", "shrinkage", "feature_weighting", "normalize"},
		"TopPop":    nil,
		"RP3beta":   {"top_k", "beta", "normalize_weight"},
		"DenseSLIM": {"reg"},
	}
	specs := Specs()
	if len(specs) != len(want) {
		t.Fatalf("%d specs, want %d", len(specs), len(want))
	}
	for _, s := range specs {
		alias, class, ok := recipe.Resolve(s.Class)
		if !ok || alias != s.Alias || class != s.Class {
			t.Fatalf("spec %s/%s does not resolve", s.Alias, s.Class)
		}
		var names []string
		for _, p := range s.Space {
			names = append(names, p.Name)
			if !slices.Contains(s.Accepts, p.Name) {
				t.Fatalf("%s: searched parameter %s not accepted", s.Alias, p.Name)
			}
		}
		if !slices.Equal(names, want[s.Alias]) {
			t.Fatalf("%s: space %v, want %v", s.Alias, names, want[s.Alias])
		}
		if s.Iterative {
			t.Fatalf("%s marked iterative", s.Alias)
		}
		// Defaults construct, and the defaults of §2 are applied.
		r, err := s.New(nil, 0)
		if err != nil {
			t.Fatalf("%s defaults: %v", s.Alias, err)
		}
		switch x := r.(type) {
		case *CosineKNN:
			if x.TopK != 100 || x.Shrinkage != 0 || x.Normalize || x.FeatureWeighting != WeightNone || x.BM25K1 != 1.2 || x.BM25B != 0.75 {
				t.Fatalf("CosineKNN defaults %+v", x)
			}
		case *RP3beta:
			if x.Alpha != 1 || x.Beta != 0.6 || x.TopK != 0 || x.NormalizeWeight {
				t.Fatalf("RP3beta defaults %+v", x)
			}
		case *DenseSLIM:
			if x.Reg != 1 {
				t.Fatalf("DenseSLIM defaults %+v", x)
			}
		}
	}
}

func TestDenseSLIMTooManyItems(t *testing.T) {
	X := randomCSR(rand.New(rand.NewSource(1)), 10, 50, 5, false)
	d := &DenseSLIM{Reg: 1, MaxItems: 49}
	err := d.Fit(context.Background(), X)
	var te *TooManyItemsError
	if !errors.Is(err, ErrTooManyItems) || !errors.As(err, &te) || te.Items != 50 || te.Limit != 49 {
		t.Fatalf("got %v, want TooManyItemsError{50, 49}", err)
	}
	d.MaxItems = 50
	if err := d.Fit(context.Background(), X); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}
