package factor

import (
	"context"
	"errors"
	"github.com/recotem/recotem/internal/recipe"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/algo/refscore"
	"github.com/recotem/recotem/trainer/sparse"
)

// randomCSR builds a users×items binary matrix with a power-law item
// popularity; some rows and columns stay empty.
func randomCSR(t testing.TB, users, items, nnz int, seed uint64) *sparse.CSR {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	r := make([]int32, nnz)
	c := make([]int32, nnz)
	for k := range r {
		r[k] = int32(rng.IntN(users))
		c[k] = int32(float64(items) * math.Pow(rng.Float64(), 2.5))
	}
	m, err := sparse.FromTriplets(users, items, r, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m.Binary()
}

func csrOf(t testing.TB, users, items int, pairs ...[2]int32) *sparse.CSR {
	t.Helper()
	r := make([]int32, len(pairs))
	c := make([]int32, len(pairs))
	for k, p := range pairs {
		r[k], c[k] = p[0], p[1]
	}
	m, err := sparse.FromTriplets(users, items, r, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// small builds each algorithm with small, fast settings.
func small(t testing.TB, alias string, seed int64) algo.Recommender {
	t.Helper()
	p := algo.Params{"n_components": 5, "train_epochs": 4}
	if alias == "IALS" {
		p["alpha0"] = 0.1
		p["reg"] = 0.01
	}
	if alias == "TruncatedSVD" {
		delete(p, "train_epochs")
	}
	for _, s := range Specs() {
		if s.Alias == alias {
			rec, err := s.New(p, seed)
			if err != nil {
				t.Fatal(err)
			}
			return rec
		}
	}
	t.Fatalf("no spec %s", alias)
	return nil
}

func allFinite(t *testing.T, what string, xs ...[]float32) {
	t.Helper()
	for _, x := range xs {
		for i, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: non-finite value %v at %d", what, v, i)
			}
		}
	}
}

func TestSpecs(t *testing.T) {
	specs := Specs()
	if len(specs) != 3 {
		t.Fatalf("%d specs", len(specs))
	}
	for _, s := range specs {
		alias, class, ok := recipe.Resolve(s.Alias)
		if !ok || alias != s.Alias || class != s.Class {
			t.Errorf("spec %s/%s does not resolve (%s %s %v)", s.Alias, s.Class, alias, class, ok)
		}
		for _, ps := range s.Space {
			if !slices.Contains(s.Accepts, ps.Name) {
				t.Errorf("%s: search parameter %s not accepted", s.Alias, ps.Name)
			}
		}
		if _, err := s.New(algo.Params{}, 1); err != nil {
			t.Errorf("%s defaults: %v", s.Alias, err)
		}
		if _, err := s.New(algo.Params{"n_components": "many"}, 1); !errors.Is(err, algo.ErrParam) {
			t.Errorf("%s bad n_components: err %v", s.Alias, err)
		}
		if _, err := s.New(algo.Params{"n_components": 0}, 1); !errors.Is(err, algo.ErrParam) {
			t.Errorf("%s n_components 0: err %v", s.Alias, err)
		}
	}
	if _, err := specs[2].New(algo.Params{"loss": "hinge"}, 1); !errors.Is(err, algo.ErrParam) {
		t.Errorf("BPRFM bad loss: %v", err)
	}
	rec, err := specs[0].New(algo.Params{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if c := rec.(*IALS).Config(); c.NComponents != 20 || c.Alpha0 != 0 || c.Reg != 1e-3 || c.TrainEpochs != 16 || c.Seed != 7 {
		t.Errorf("IALS defaults %+v", c)
	}
}

func TestDegenerateInputs(t *testing.T) {
	cases := map[string]*sparse.CSR{
		"one user":          csrOf(t, 1, 4, [2]int32{0, 1}, [2]int32{0, 3}),
		"one item":          csrOf(t, 3, 1, [2]int32{0, 0}, [2]int32{2, 0}),
		"one user one item": csrOf(t, 1, 1, [2]int32{0, 0}),
		"empty rows+cols":   csrOf(t, 5, 6, [2]int32{1, 2}, [2]int32{3, 2}, [2]int32{3, 4}),
		"duplicates":        csrOf(t, 2, 3, [2]int32{0, 1}, [2]int32{0, 1}, [2]int32{1, 2}, [2]int32{1, 0}),
		"empty":             csrOf(t, 2, 3),
	}
	for name, x := range cases {
		for _, alias := range []string{"IALS", "TruncatedSVD", "BPRFM"} {
			t.Run(name+"/"+alias, func(t *testing.T) {
				rec := small(t, alias, 1)
				err := rec.Fit(context.Background(), x)
				if alias == "TruncatedSVD" && x.Cols < 2 {
					if !errors.Is(err, ErrTooFewItems) {
						t.Fatalf("want ErrTooFewItems, got %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				m := rec.Model()
				allFinite(t, "factors", m.UserFactors, m.ItemFactors, m.ItemBias, m.Gram)
				if len(m.UserFactors) != x.Rows*m.K || len(m.ItemFactors) != x.Cols*m.K {
					t.Fatalf("factor shapes %d, %d for %dx%d k=%d", len(m.UserFactors), len(m.ItemFactors), x.Rows, x.Cols, m.K)
				}
				// Empty users and items get zero IALS vectors.
				if alias == "IALS" {
					for u := 0; u < x.Rows; u++ {
						if x.RowLen(u) == 0 && slices.ContainsFunc(m.UserFactors[u*m.K:(u+1)*m.K], func(v float32) bool { return v != 0 }) {
							t.Fatalf("empty user %d has a non-zero vector", u)
						}
					}
				}
				items := refscore.Recommend(m, x, 0, 10, nil)
				for _, it := range items {
					if math.IsNaN(it.Score) {
						t.Fatal("NaN score")
					}
				}
				if _, err := refscore.Related(m, []int32{0}, 5, nil); err != nil && !errors.Is(err, refscore.ErrNoCandidates) {
					t.Fatalf("related: %v", err)
				}
			})
		}
	}
}

func TestDeterministic(t *testing.T) {
	x := randomCSR(t, 300, 200, 3000, 1)
	for _, alias := range []string{"IALS", "TruncatedSVD", "BPRFM"} {
		t.Run(alias, func(t *testing.T) {
			fit := func(seed int64, procs int) *algo.Model {
				prev := runtime.GOMAXPROCS(procs)
				defer runtime.GOMAXPROCS(prev)
				rec := small(t, alias, seed)
				if err := rec.Fit(context.Background(), x); err != nil {
					t.Fatal(err)
				}
				return rec.Model()
			}
			a, b, c := fit(3, 2), fit(3, 1), fit(4, 2)
			if !slices.Equal(a.UserFactors, b.UserFactors) || !slices.Equal(a.ItemFactors, b.ItemFactors) {
				t.Fatal("same seed, different factors (GOMAXPROCS 2 vs 1)")
			}
			if alias != "TruncatedSVD" && slices.Equal(a.ItemFactors, c.ItemFactors) {
				t.Fatal("different seeds gave identical factors")
			}
		})
	}
}

func TestCancel(t *testing.T) {
	x := randomCSR(t, 100, 50, 800, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, alias := range []string{"IALS", "TruncatedSVD", "BPRFM"} {
		if err := small(t, alias, 1).Fit(ctx, x); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err %v, want context.Canceled", alias, err)
		}
	}
}

func TestIterativeSnapshotRestore(t *testing.T) {
	x := randomCSR(t, 200, 100, 2000, 3)
	for _, alias := range []string{"IALS", "BPRFM"} {
		t.Run(alias, func(t *testing.T) {
			it := small(t, alias, 5).(algo.Iterative)
			if err := it.Epoch(context.Background()); !errors.Is(err, ErrNotFitted) {
				t.Fatalf("epoch before init: %v", err)
			}
			if err := it.Init(x); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := it.Epoch(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			snap := it.Snapshot()
			want := slices.Clone(it.Model().ItemFactors)
			if err := it.Epoch(context.Background()); err != nil {
				t.Fatal(err)
			}
			if slices.Equal(want, it.Model().ItemFactors) {
				t.Fatal("epoch changed nothing")
			}
			it.Restore(snap)
			if !slices.Equal(want, it.Model().ItemFactors) {
				t.Fatal("restore did not bring back the snapshot")
			}
		})
	}
}

// TestIALSLossDecreases checks that ALS epochs reduce the §2.2 objective.
func TestIALSLossDecreases(t *testing.T) {
	x := randomCSR(t, 150, 80, 1500, 4)
	c := DefaultIALSConfig()
	c.NComponents, c.Alpha0, c.Reg = 8, 0.05, 0.01
	rec, _ := NewIALS(c)
	if err := rec.Init(x); err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		m := rec.Model()
		k := m.K
		var l float64
		for u := 0; u < x.Rows; u++ {
			pu := m.UserFactors[u*k : (u+1)*k]
			idx, _ := x.Row(u)
			for i := 0; i < x.Cols; i++ {
				y := float64(dot(pu, m.ItemFactors[i*k:(i+1)*k]))
				l += 0.5 * c.Alpha0 * y * y
				if _, ok := slices.BinarySearch(idx, int32(i)); ok {
					l += 0.5 * (y - 1) * (y - 1)
				}
			}
			l += 0.5 * c.Reg * (c.Alpha0*float64(x.Cols) + float64(len(idx))) * float64(dot(pu, pu))
		}
		xt := x.Transpose()
		for i := 0; i < x.Cols; i++ {
			vi := m.ItemFactors[i*k : (i+1)*k]
			l += 0.5 * c.Reg * (c.Alpha0*float64(x.Rows) + float64(xt.RowLen(i))) * float64(dot(vi, vi))
		}
		return l
	}
	prev := loss()
	for e := range 5 {
		if err := rec.Epoch(context.Background()); err != nil {
			t.Fatal(err)
		}
		cur := loss()
		if cur > prev*(1+1e-6) {
			t.Fatalf("epoch %d: loss rose %g → %g", e, prev, cur)
		}
		prev = cur
	}
}

// TestSVDRandomizedMatchesExact compares the randomised path with the exact
// dense SVD through the rank-k reconstruction (sign/rotation invariant).
func TestSVDRandomizedMatchesExact(t *testing.T) {
	// Planted rank-6 block structure plus noise: a clear spectral gap after 6.
	const k = 6
	rng := rand.New(rand.NewPCG(5, 5))
	var pairs [][2]int32
	for u := 0; u < 120; u++ {
		for i := 0; i < 90; i++ {
			if (u%k == i%k && rng.IntN(3) > 0) || rng.IntN(25) == 0 {
				pairs = append(pairs, [2]int32{int32(u), int32(i)})
			}
		}
	}
	x := csrOf(t, 120, 90, pairs...)
	rec, _ := NewTruncatedSVD(SVDConfig{NComponents: k, Oversamples: 10, PowerIterations: 7})
	if err := rec.Fit(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	exact := denseSVD(x, k)
	m := rec.Model()
	// The item factors must be orthonormal columns: VᵀV = I.
	for a := 0; a < k; a++ {
		for c := 0; c < k; c++ {
			var s float64
			for i := 0; i < x.Cols; i++ {
				s += float64(m.ItemFactors[i*k+a]) * float64(m.ItemFactors[i*k+c])
			}
			want := 0.0
			if a == c {
				want = 1
			}
			if math.Abs(s-want) > 1e-5 {
				t.Fatalf("(VᵀV)[%d,%d] = %g, want %g", a, c, s, want)
			}
		}
	}
	for u := 0; u < x.Rows; u += 7 {
		idx, val := x.Row(u)
		// exact reconstruction: x_u V Vᵀ
		z := make([]float64, k)
		for p, j := range idx {
			for f := 0; f < k; f++ {
				z[f] += val[p] * exact[int(j)*k+f]
			}
		}
		got := make([]float64, x.Cols)
		refscore.ScoreUser(m, u, idx, val, got)
		for i := 0; i < x.Cols; i++ {
			var want float64
			for f := 0; f < k; f++ {
				want += z[f] * exact[i*k+f]
			}
			if math.Abs(got[i]-want) > 1e-3*(1+math.Abs(want)) {
				t.Fatalf("user %d item %d: randomised %g exact %g", u, i, got[i], want)
			}
		}
	}
}

// TestIALSCGMatchesCholesky checks the padded, gathered CG kernel: with
// max_cg_steps = 0 (k steps) one epoch must land on the exact per-row solve,
// for widths below, at and across the 32-lane padding and both loss types.
func TestIALSCGMatchesCholesky(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const users, items = 60, 45
	var r, c []int32
	var v []float64
	for u := 0; u < users; u++ {
		for i := 0; i < items; i++ {
			if rng.Float64() < 0.15 {
				r, c, v = append(r, int32(u)), append(c, int32(i)), append(v, 1+float64(rng.IntN(3)))
			}
		}
	}
	x, err := sparse.FromTriplets(users, items, r, c, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{3, 32, 37} {
		for _, loss := range []IALSLoss{LossIALSPP, LossOriginal} {
			fit := func(solver IALSSolver) *algo.Model {
				cfg := DefaultIALSConfig()
				cfg.NComponents, cfg.Alpha0, cfg.Reg, cfg.LossType, cfg.TrainEpochs = k, 0.3, 0.05, loss, 1
				cfg.SolverType, cfg.MaxCGSteps = solver, 0
				m, err := NewIALS(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Fit(context.Background(), x); err != nil {
					t.Fatal(err)
				}
				return m.Model()
			}
			cg, ch := fit(SolverCG), fit(SolverCholesky)
			// Rows too long to gather take the in-place path; force it for
			// every row with more than one entry and compare.
			saved := gatherMax
			gatherMax = 64
			direct := fit(SolverCG)
			gatherMax = saved
			for i := range cg.UserFactors {
				if d := math.Abs(float64(cg.UserFactors[i] - direct.UserFactors[i])); d > 1e-4 {
					t.Fatalf("k=%d %s: gathered vs in-place user factor %d differ by %g", k, loss, i, d)
				}
			}
			for name, pair := range map[string][2][]float32{"user": {cg.UserFactors, ch.UserFactors}, "item": {cg.ItemFactors, ch.ItemFactors}} {
				var diff, norm float64
				for i := range pair[0] {
					d := float64(pair[0][i] - pair[1][i])
					diff += d * d
					norm += float64(pair[1][i]) * float64(pair[1][i])
				}
				if norm == 0 || math.Sqrt(diff/norm) > 2e-3 {
					t.Errorf("k=%d %s %s factors: CG vs Cholesky relative error %.2e (norm² %g)", k, loss, name, math.Sqrt(diff/norm), norm)
				}
			}
		}
	}
}

// TestGramMatchesReference compares the blocked SIMD Gram matrix with a
// float64 triple loop, across the block boundary and odd widths.
func TestGramMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	pool := &bufPool{} // reused across cases: stale contents must not leak in
	for _, tc := range []struct{ n, k int }{{300, 37}, {1, 1}, {7, 5}, {4096 + 33, 9}, {2 * 4096, 3}} {
		f := make([]float32, tc.n*tc.k)
		for i := range f {
			f[i] = float32(rng.NormFloat64())
		}
		got, err := gram(context.Background(), f, tc.n, tc.k, pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		for a := 0; a < tc.k; a++ {
			for c := 0; c < tc.k; c++ {
				var want float64
				for r := 0; r < tc.n; r++ {
					want += float64(f[r*tc.k+a]) * float64(f[r*tc.k+c])
				}
				if d := math.Abs(got[a*tc.k+c] - want); d > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("n=%d k=%d G[%d,%d] = %g, want %g", tc.n, tc.k, a, c, got[a*tc.k+c], want)
				}
			}
		}
	}
}

// TestMatVecChunks checks matVec against a plain loop where it has to split
// the product into several vek calls (m·n well above vekSerialMax).
func TestMatVecChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][2]int{{1, 1}, {3, 8}, {700, 320}, {vekSerialMax/96 + 1, 96}} {
		m, n := sh[0], sh[1]
		a := make([]float32, m*n)
		x := make([]float32, n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		got := make([]float32, m)
		matVec(got, a, x)
		for r := 0; r < m; r++ {
			var want float64
			for c := 0; c < n; c++ {
				want += float64(a[r*n+c]) * float64(x[c])
			}
			if math.Abs(float64(got[r])-want) > 1e-4*(1+math.Sqrt(float64(n))) {
				t.Fatalf("m=%d n=%d row %d: %g, want %g", m, n, r, got[r], want)
			}
		}
	}
}

func TestIALSOptionsParsedOnce(t *testing.T) {
	c, err := ialsConfigFrom(algo.Params{"solver_type": "cholesky", "loss_type": "ORIGINAL", "confidence_scaling": "log", "epsilon": 2.0}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if c.SolverType != SolverCholesky || c.LossType != LossOriginal || c.ConfidenceScaling != ConfidenceLog || c.Seed != 3 {
		t.Fatalf("parsed config: %+v", c)
	}
	if c.SolverType.String() != "CHOLESKY" || c.LossType.String() != "ORIGINAL" || c.ConfidenceScaling.String() != "log" {
		t.Fatalf("spellings: %v %v %v", c.SolverType, c.LossType, c.ConfidenceScaling)
	}
	d := DefaultIALSConfig()
	if d.SolverType != SolverCG || d.LossType != LossIALSPP || d.ConfidenceScaling != ConfidenceNone {
		t.Fatalf("defaults are not the zero values: %+v", d)
	}
	for _, p := range []algo.Params{{"solver_type": "LU"}, {"loss_type": 1}, {"confidence_scaling": "sqrt"}} {
		var pe *algo.ParamError
		if _, err := ialsConfigFrom(p, 0); !errors.As(err, &pe) || pe.Algo != "IALS" {
			t.Errorf("%v: %v, want an IALS ParamError", p, err)
		}
	}
	bad := DefaultIALSConfig()
	bad.SolverType = 7
	if _, err := NewIALS(bad); !errors.Is(err, algo.ErrParam) || bad.SolverType.String() != "invalid(7)" {
		t.Fatalf("out-of-range solver: %v (%v)", err, bad.SolverType)
	}
	// The fold-in header keeps the upstream spellings.
	m, _ := NewIALS(c)
	X, _ := sparse.FromTriplets(2, 3, []int32{0, 1}, []int32{1, 2}, nil)
	if err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	if fi := m.Model().FoldIn; fi.LossType != "ORIGINAL" || fi.Confidence != "log" {
		t.Fatalf("fold-in: %+v", fi)
	}
	b := DefaultBPRFMConfig()
	b.Loss = 9
	if _, err := NewBPRFM(b); !errors.Is(err, algo.ErrParam) {
		t.Fatalf("out-of-range BPR loss: %v", err)
	}
	if LossWARP.String() != "warp" {
		t.Fatal(LossWARP.String())
	}
}

// TestIALSLockstepMatchesOneRow: the four-row CG (k > 32) is the one-row CG
// step for step — rows that converge early, empty rows, rows gathered,
// transposed and left in place — up to the summation order of α₀G·p.
func TestIALSLockstepMatchesOneRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 3))
	const users, items = 203, 70
	var r, c []int32
	for u := 0; u < users; u++ {
		if u%17 == 0 {
			continue // empty row
		}
		p := 0.08
		if u%29 == 1 {
			p = 0.9 // long rows: transposed or in place
		}
		for i := 0; i < items; i++ {
			if rng.Float64() < p {
				r, c = append(r, int32(u)), append(c, int32(i))
			}
		}
	}
	x, err := sparse.FromTriplets(users, items, r, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{37, 81, 150} {
		for _, gm := range []int{gatherMax, 64 * 96} {
			fit := func(four bool) *algo.Model {
				saved, savedG := lockstep, gatherMax
				lockstep, gatherMax = four, gm
				defer func() { lockstep, gatherMax = saved, savedG }()
				cfg := DefaultIALSConfig()
				cfg.NComponents, cfg.Alpha0, cfg.Reg, cfg.TrainEpochs = k, 0.2, 0.01, 3
				m, err := NewIALS(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Fit(context.Background(), x); err != nil {
					t.Fatal(err)
				}
				return m.Model()
			}
			one, four := fit(false), fit(true)
			for name, pair := range map[string][2][]float32{"user": {one.UserFactors, four.UserFactors}, "item": {one.ItemFactors, four.ItemFactors}} {
				var maxd, maxv float64
				for i := range pair[0] {
					maxd = max(maxd, math.Abs(float64(pair[0][i]-pair[1][i])))
					maxv = max(maxv, math.Abs(float64(pair[0][i])))
				}
				if maxv == 0 || maxd > 1e-4*maxv {
					t.Errorf("k=%d gatherMax=%d %s factors: max difference %.3g (max value %.3g)", k, gm, name, maxd, maxv)
				}
			}
		}
	}
}
