package factor

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/viterin/vek/vek32"

	"gonum.org/v1/gonum/mat"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/internal/tile"
	"github.com/recotem/recotem/trainer/sparse"
)

// IALSConfig holds IALS hyperparameters (algorithms.md §2.2 (b)); the zero
// value is not valid, use DefaultIALSConfig.
type IALSConfig struct {
	NComponents       int
	Alpha0            float64
	Reg               float64
	Nu                float64
	NuStar            *float64 // nil: no rescaling of reg
	ConfidenceScaling IALSConfidence
	Epsilon           float64
	InitStd           float64
	SolverType        IALSSolver
	MaxCGSteps        int // 0 means k
	LossType          IALSLoss
	TrainEpochs       int
	PredictionCGSteps int // fold-in CG steps (prediction_time_max_cg_steps)
	Seed              int64
}

// DefaultIALSConfig returns the constructor defaults of §2.2 (b).
func DefaultIALSConfig() IALSConfig {
	return IALSConfig{
		NComponents: 20, Alpha0: 0, Reg: 1e-3, Nu: 1, ConfidenceScaling: ConfidenceNone, Epsilon: 1,
		InitStd: 0.1, SolverType: SolverCG, MaxCGSteps: 3, LossType: LossIALSPP, TrainEpochs: 16,
		PredictionCGSteps: 5, Seed: 42,
	}
}

var ialsAccepts = []string{"n_components", "alpha0", "reg", "nu", "confidence_scaling", "epsilon", "init_std",
	"solver_type", "max_cg_steps", "loss_type", "nu_star", "random_seed", "train_epochs", "prediction_time_max_cg_steps"}

func ialsConfigFrom(p algo.Params, seed int64) (IALSConfig, error) {
	c := DefaultIALSConfig()
	r := algo.NewParamReader("IALS", p)
	c.NComponents = r.Int("n_components", c.NComponents)
	c.Alpha0 = r.Float("alpha0", c.Alpha0)
	c.Reg = r.Float("reg", c.Reg)
	c.Nu = r.Float("nu", c.Nu)
	if v, ok := r.OptFloat("nu_star"); ok {
		c.NuStar = &v
	}
	c.ConfidenceScaling = algo.Choice(r, "confidence_scaling", c.ConfidenceScaling, confidenceNames)
	c.Epsilon = r.Float("epsilon", c.Epsilon)
	c.InitStd = r.Float("init_std", c.InitStd)
	c.SolverType = algo.Choice(r, "solver_type", c.SolverType, solverNames)
	c.MaxCGSteps = r.Int("max_cg_steps", c.MaxCGSteps)
	c.LossType = algo.Choice(r, "loss_type", c.LossType, lossNames)
	c.TrainEpochs = r.Int("train_epochs", c.TrainEpochs)
	c.PredictionCGSteps = r.Int("prediction_time_max_cg_steps", c.PredictionCGSteps)
	c.Seed = r.Seed("random_seed", seed)
	if err := r.Err(); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c IALSConfig) validate() error {
	bad := func(name string, v any, why string) error { return paramErr("IALS", name, v, why) }
	switch {
	case c.NComponents < 1:
		return bad("n_components", c.NComponents, "must be ≥ 1")
	case c.Alpha0 < 0 || math.IsNaN(c.Alpha0):
		return bad("alpha0", c.Alpha0, "must be ≥ 0")
	case !(c.Reg >= 0):
		return bad("reg", c.Reg, "must be ≥ 0")
	case c.MaxCGSteps < 0:
		return bad("max_cg_steps", c.MaxCGSteps, "must be ≥ 0")
	case c.TrainEpochs < 0:
		return bad("train_epochs", c.TrainEpochs, "must be ≥ 0")
	case c.ConfidenceScaling == ConfidenceLog && !(c.Epsilon > 0):
		return bad("epsilon", c.Epsilon, "must be > 0")
	case int(c.SolverType) >= len(solverNames):
		return bad("solver_type", c.SolverType, "want one of "+strings.Join(solverNames, ", "))
	case int(c.LossType) >= len(lossNames):
		return bad("loss_type", c.LossType, "want one of "+strings.Join(lossNames, ", "))
	case int(c.ConfidenceScaling) >= len(confidenceNames):
		return bad("confidence_scaling", c.ConfidenceScaling, "want one of "+strings.Join(confidenceNames, ", "))
	}
	return nil
}

// IALS is the implicit-ALS recommender of algorithms.md §2.2. It implements
// algo.Iterative.
type IALS struct {
	cfg    IALSConfig
	reg    float64 // effective reg (after nu_star rescaling)
	x, xt  *sparse.CSR
	cu, ci []float32 // confidences aligned with x.Data / xt.Data
	p, v   []float32 // user / item factors, row-major ×k
	epochs int

	mu   sync.Mutex
	free []*ialsScratch // worker scratch kept across half-steps
	bufs bufPool        // Gram transpose buffers kept across half-steps
	g64  []float64      // Gram matrix of the current half-step (k×k)
	ag   []float32      // α₀G, zero-padded to kp×kp
	ot   []float32      // otherᵀ of the current half-step (k×nOther)
}

// NewIALS returns an unfitted IALS recommender.
func NewIALS(cfg IALSConfig) (*IALS, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &IALS{cfg: cfg}, nil
}

// Config returns the hyperparameters.
func (m *IALS) Config() IALSConfig { return m.cfg }

// Epochs returns the number of epochs run since Init.
func (m *IALS) Epochs() int { return m.epochs }

// Fit runs Init and then cfg.TrainEpochs epochs.
func (m *IALS) Fit(ctx context.Context, X *sparse.CSR) error {
	if err := m.Init(X); err != nil {
		return err
	}
	for range m.cfg.TrainEpochs {
		if err := m.Epoch(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Init prepares the confidences, the transpose and the random factors.
func (m *IALS) Init(X *sparse.CSR) error {
	k := m.cfg.NComponents
	m.x, m.xt = X, X.Transpose()
	m.cu = m.confidence(m.x.Data)
	m.ci = m.confidence(m.xt.Data)
	nU, nI := X.Rows, X.Cols
	m.reg = m.cfg.Reg
	if m.cfg.NuStar != nil {
		r := func(t float64) float64 {
			var s float64
			for u := 0; u < nU; u++ {
				s += math.Pow(float64(X.RowLen(u))+m.cfg.Alpha0*float64(nI), t)
			}
			for i := 0; i < nI; i++ {
				s += math.Pow(float64(m.xt.RowLen(i))+m.cfg.Alpha0*float64(nU), t)
			}
			return s
		}
		m.reg *= r(*m.cfg.NuStar) / r(m.cfg.Nu)
	}
	std := m.cfg.InitStd / math.Sqrt(float64(k))
	m.p = normal(rand.New(rand.NewPCG(uint64(m.cfg.Seed), 1)), nU*k, std)
	m.v = normal(rand.New(rand.NewPCG(uint64(m.cfg.Seed), 2)), nI*k, std)
	m.epochs = 0
	return nil
}

func normal(rng *rand.Rand, n int, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * std)
	}
	return out
}

func (m *IALS) confidence(vals []float64) []float32 {
	out := make([]float32, len(vals))
	for i, x := range vals {
		if m.cfg.ConfidenceScaling == ConfidenceLog {
			x = math.Log1p(x / m.cfg.Epsilon)
		}
		out[i] = float32(x)
	}
	return out
}

// Epoch runs one ALS epoch: users against V, then items against the new P.
func (m *IALS) Epoch(ctx context.Context) error {
	if m.x == nil {
		return ErrNotFitted
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.half(ctx, m.p, m.v, m.x, m.cu, m.x.Cols); err != nil {
		return err
	}
	if err := m.half(ctx, m.v, m.p, m.xt, m.ci, m.xt.Cols); err != nil {
		return err
	}
	m.epochs++
	return nil
}

// cgPad is the width the CG kernels work in: k rounded up to a multiple of
// 32. The vek AVX2 matrix-vector kernels fall back to scalar code on the
// remainder of a row, which costs up to 3× at k = 20 or 81; zero columns
// change no product.
func cgPad(k int) int { return (k + 31) &^ 31 }

// ialsScratch is one worker's buffers, reused across rows (and epochs).
type ialsScratch struct {
	x, r, p, q, gp []float32 // kp each (k values, then zeros)
	vs             []float32 // the row's other-side vectors gathered, n×kp
	t              []float32 // n: per-item products
	tp             []float32 // t padded with zeros to np (transposed layout)
	direct         bool      // row too long to gather: use other/idx in place
	trans          bool      // vs holds Vsᵀ (k×np) instead of Vs (n×kp)
	np             int       // n rounded up to a multiple of 32 (transposed layout)
	ot             []float32 // otherᵀ (k×nOther) of the current half-step
	other          []float32
	idx            []int32
	k              int
	a              []float64 // k×k for Cholesky
}

func newIALSScratch(k int, chol bool) *ialsScratch {
	kp := cgPad(k)
	s := &ialsScratch{x: make([]float32, kp), r: make([]float32, kp), p: make([]float32, kp),
		q: make([]float32, kp), gp: make([]float32, kp)}
	if chol {
		s.a = make([]float64, k*k)
	}
	return s
}

// getScratch hands out a worker's scratch from the recommender's free list
// (allocating one the first time); putScratch returns it.
func (m *IALS) getScratch() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.free); n > 0 {
		s := m.free[n-1]
		m.free = m.free[:n-1]
		return s
	}
	return newIALSScratch(m.cfg.NComponents, m.cfg.SolverType == SolverCholesky)
}

func (m *IALS) putScratch(s any) {
	m.mu.Lock()
	m.free = append(m.free, s.(*ialsScratch))
	m.mu.Unlock()
}

// half solves every row of dst (rows of M) against the fixed factors other
// (nOther rows), per the per-row normal equations of §2.2.
func (m *IALS) half(ctx context.Context, dst, other []float32, M *sparse.CSR, conf []float32, nOther int) error {
	k := m.cfg.NComponents
	kp := cgPad(k)
	if len(m.g64) != k*k {
		m.g64, m.ag = make([]float64, k*k), make([]float32, kp*kp)
	}
	g64, err := gram(ctx, other, nOther, k, &m.bufs, m.g64)
	if err != nil {
		return err
	}
	// Pre-scale α₀G once, float32 and zero-padded to kp×kp for the SIMD matvec.
	g := m.ag
	for a := 0; a < k; a++ {
		for b := 0; b < k; b++ {
			g[a*kp+b] = float32(m.cfg.Alpha0 * g64[a*k+b])
		}
	}
	beta := float32(0)
	if m.cfg.LossType == LossOriginal {
		beta = float32(m.cfg.Alpha0)
	}
	steps := m.cfg.MaxCGSteps
	if steps == 0 {
		steps = k
	}
	base := m.cfg.Alpha0 * float64(nOther)
	chol := m.cfg.SolverType == SolverCholesky
	var held []any
	var hmu sync.Mutex
	newScratch := func() any {
		s := m.getScratch()
		hmu.Lock()
		held = append(held, s)
		hmu.Unlock()
		return s
	}
	defer func() {
		for _, s := range held {
			m.putScratch(s)
		}
	}()
	// otherᵀ, for the transposed gathers of long rows.
	if cap(m.ot) < nOther*k {
		m.ot = make([]float32, nOther*k)
	}
	ot := m.ot[:nOther*k]
	for i := 0; i < nOther; i++ {
		for d, v := range other[i*k : (i+1)*k] {
			ot[d*nOther+i] = v
		}
	}
	// For k > 32 four rows go in lockstep: α₀G times their four CG
	// directions is one pass of tile.Mul4x16 over α₀G's column panels (G is
	// symmetric). Otherwise (and for Cholesky) each row is solved alone with
	// the group's first scratch.
	four := !chol && kp > 32 && lockstep
	var gp []float32
	if four {
		gp = tile.Pack(k, kp, func(f, j int) float32 { return g[f*kp+j] })
	}
	newGroup := func() any {
		grp := &cgGroup{g: gp, k: k, kp: kp}
		n := 1
		if four {
			n, grp.z, grp.out = 4, make([]float32, 4*kp), make([]float32, 4*kp)
		}
		for i := range n {
			grp.s[i] = newScratch().(*ialsScratch)
			grp.s[i].ot = ot
		}
		return grp
	}
	return parallelBlocks(ctx, M.Rows, 64, newGroup, func(lo, hi int, sc any) error {
		grp := sc.(*cgGroup)
		var rows [4]cgRow
		n := 0
		for u := lo; u < hi; u++ {
			a, b := M.Indptr[u], M.Indptr[u+1]
			x := dst[u*k : (u+1)*k]
			if a == b {
				clear(x)
				continue
			}
			lambda := float32(m.reg * math.Pow(base+float64(b-a), m.cfg.Nu))
			idx, c := M.Indices[a:b], conf[a:b]
			if four {
				rows[n] = cgRow{u: u, x: x, idx: idx, c: c, lambda: lambda}
				if n++; n == 4 {
					if err := grp.solve(rows[:n], other, beta, steps); err != nil {
						return err
					}
					n = 0
				}
				continue
			}
			var err error
			if chol {
				err = solveRowCholesky(x, other, idx, c, g64, m.cfg.Alpha0, float64(lambda), float64(beta), k, grp.s[0].a)
			} else {
				err = solveRowCG(x, other, idx, c, g, lambda, beta, k, steps, grp.s[0])
			}
			if err != nil {
				return fmt.Errorf("ials row %d: %w", u, err)
			}
		}
		if n > 0 {
			return grp.solve(rows[:n], other, beta, steps)
		}
		return nil
	})
}

// gatherMax caps the gathered block (floats, 4 MiB) per worker: a row
// longer than gatherMax/kp (a very popular item) is multiplied in place
// from the factor matrix with one dot/axpy per entry instead.
var gatherMax = 1 << 20 // a variable so tests can force the in-place path

// gather prepares the row's products. Normally it copies the rows idx of
// other (n×k, n = len(idx)) into s.vs as an n×kp row-major matrix with zero
// padding, so each CG product is one AVX2 matrix-vector call instead of n
// short dot/axpy calls; buffers grow only when a longer row appears. When
// the transposed block (k×np, np = n rounded up to 32) holds fewer
// multiply-adds than the padded one (long rows, k ≤ ¾ kp) it is
// stored transposed instead (s.trans): the products then run along the
// row's items, with no padding in k and k horizontal sums instead of n.
// Rows over gatherMax are left in place (s.direct).
func (s *ialsScratch) gather(other []float32, idx []int32, k int) {
	n, kp := len(idx), len(s.x)
	np := (n + 31) &^ 31
	if cap(s.t) < np {
		s.t = make([]float32, np+np/4)
	}
	s.tp = s.t[:np]
	s.t = s.t[:n]
	s.k = k
	s.direct = n*kp > gatherMax
	if s.direct {
		s.trans = false
		s.other, s.idx = other, idx
		return
	}
	// Only worth it when the padding is a large share of kp (k = 20: 12 of
	// 32); at k = 81 or 200 the padded layout measured faster.
	s.trans = 4*k <= 3*kp && k*np < kp*n
	if s.trans {
		s.np = np
		if cap(s.vs) < k*np {
			s.vs = make([]float32, min(gatherMax, k*np+k*np/4))
		}
		vt := s.vs[:k*np]
		for d := 0; d < k; d++ {
			clear(vt[d*np+n : (d+1)*np])
		}
		// Row d of Vsᵀ picks the row's items out of row d of otherᵀ:
		// sequential writes, reads within one row of otherᵀ.
		no := len(s.ot) / k
		for d := 0; d < k; d++ {
			src := s.ot[d*no : (d+1)*no]
			dst := vt[d*np : d*np+n]
			for j, i := range idx {
				dst[j] = src[i]
			}
		}
		return
	}
	if cap(s.vs) < n*kp {
		s.vs = make([]float32, min(gatherMax, n*kp+n*kp/4))
	}
	s.vs = s.vs[:n*kp]
	for j, i := range idx {
		row := s.vs[j*kp : (j+1)*kp]
		copy(row, other[int(i)*k:(int(i)+1)*k])
		clear(row[k:])
	}
}

// vekSerialMax: vek32.MatMul_Into splits a product of at least this many
// multiply-adds over new goroutines; inside the worker pool that only adds
// spawn cost, so matVec keeps each call below it.
const vekSerialMax = 100_000

// matVec sets dst (m) = A·x for the m×len(x) row-major A, in row chunks that
// vek runs on the calling goroutine.
func matVec(dst, a, x []float32) {
	n := len(x)
	m := len(dst)
	rows := max(1, (vekSerialMax-1)/n)
	for lo := 0; lo < m; lo += rows {
		hi := min(m, lo+rows)
		vek32.MatMul_Into(dst[lo:hi], a[lo*n:hi*n], x, n)
	}
}

// vsDot sets t = Vs·p (t_j = v_j·p for each of the row's items).
func (s *ialsScratch) vsDot(t, p []float32) {
	if s.trans {
		// (1×k)·(k×np); the padding columns give t_j = 0.
		vek32.MatMul_Into(s.tp, p[:s.k], s.vs[:s.k*s.np], s.k)
		return
	}
	if s.direct {
		k := s.k
		for j, i := range s.idx {
			t[j] = dot(s.other[int(i)*k:(int(i)+1)*k], p[:k])
		}
		return
	}
	matVec(t, s.vs, p) // (n×kp)·(kp×1)
}

// vsSum sets q = Vsᵀt = Σ_j t_j v_j.
func (s *ialsScratch) vsSum(q, t []float32) {
	if s.trans {
		// (k×np)·np, t's padding (s.tp[n:]) is zero; q[k:] stays zero.
		matVec(q[:s.k], s.vs[:s.k*s.np], s.tp)
		return
	}
	if s.direct {
		k := s.k
		clear(q)
		for j, i := range s.idx {
			axpy(t[j], s.other[int(i)*k:(int(i)+1)*k], q[:k])
		}
		return
	}
	vek32.MatMul_Into(q, t, s.vs, len(t)) // (1×n)·(n×kp)
}

// applyA computes q = (α₀G)p + λp + Σ c (v·p) v on the gathered rows s.vs;
// ag is α₀G (kp×kp, symmetric, so G·p is a row-major matvec).
func applyA(q, p, ag []float32, c []float32, lambda float32, s *ialsScratch) {
	if useFused && len(p) == 32 && !s.trans && !s.direct {
		vsCVs32(s.vs, p, c, q) // one pass over Vs, no t vector
	} else {
		s.vsDot(s.t, p)
		vek32.Mul_Inplace(s.t, c)
		s.vsSum(q, s.t)
	}
	if useFused && len(p) == 32 {
		axpyRows32(ag, p[:s.k], q) // α₀G·p as Σ_a p_a (α₀G)_a (G symmetric)
	} else {
		matVec(s.gp[:s.k], ag[:s.k*len(p)], p) // rows ≥ k of α₀G are zero; s.gp[k:] stays 0
		vek32.Add_Inplace(q, s.gp)
	}
	axpy(lambda, p, q)
}

// solveRowCG runs the warm-started CG of §2.2 on one row, in place on x
// (length k); the iteration runs in s's zero-padded kp-vectors.
func solveRowCG(x, other []float32, idx []int32, c []float32, ag []float32, lambda, beta float32, k, steps int, s *ialsScratch) error {
	s.gather(other, idx, k)
	xs, r, p, q := s.x, s.r, s.p, s.q
	copy(xs, x)
	clear(xs[k:])
	// r = b − A x, with b = Σ (β + c) v: r = Vsᵀ(β + c − c∘(Vs·x)) − α₀G·x − λx.
	s.vsDot(s.t, xs)
	for j, cj := range c {
		s.t[j] = beta + cj - cj*s.t[j]
	}
	s.vsSum(r, s.t)
	if useFused && len(xs) == 32 {
		clear(s.gp)
		axpyRows32(ag, xs[:k], s.gp)
	} else {
		matVec(s.gp[:k], ag[:k*len(xs)], xs)
	}
	vek32.Sub_Inplace(r, s.gp)
	axpy(-lambda, xs, r)
	copy(p, r)
	rho := float64(dot(r, r))
	for range steps {
		if rho <= 1e-20 {
			break
		}
		applyA(q, p, ag, c, lambda, s)
		pq := float64(dot(p, q))
		if !(pq > 0) || math.IsInf(pq, 0) {
			return fmt.Errorf("%w: pᵀAp = %g", ErrDiverged, pq)
		}
		alpha := float32(rho / pq)
		axpy(alpha, p, xs)
		axpy(-alpha, q, r)
		rr := float64(dot(r, r))
		if rr <= 1e-20 {
			break
		}
		beta := float32(rr / rho)
		for a := range p {
			p[a] = r[a] + beta*p[a]
		}
		rho = rr
	}
	copy(x, xs[:k])
	return nil
}

// lockstep selects the four-row CG for k > 32 (a variable so tests can
// compare it with the one-row solveRowCG).
var lockstep = true

// cgRow is one row of a lockstep group: its factor row (updated in place),
// its items and confidences, and its λ.
type cgRow struct {
	u      int
	x      []float32
	idx    []int32
	c      []float32
	lambda float32
}

// cgGroup is one worker's scratch for half: for k > 32 it runs the CG of
// solveRowCG on up to four rows at once — each row keeps its own scratch
// (gathered vectors, x, r, p, q), and the one product they share the
// matrix of, α₀G·p, is computed for all four together; otherwise only s[0]
// is set and rows are solved one at a time.
type cgGroup struct {
	s      [4]*ialsScratch
	z, out []float32 // 4×kp: the four vectors, the four products
	g      []float32 // α₀G packed by tile.Pack (k×16 column panels)
	k, kp  int
}

// mulG sets out row i = α₀G·v(i) for i < n; a nil v(i), and every row
// from n on, is a zero vector.
func (grp *cgGroup) mulG(n int, v func(i int) []float32) {
	k, kp := grp.k, grp.kp
	for i := 0; i < 4; i++ {
		zi := grp.z[i*kp : (i+1)*kp]
		if vi := []float32(nil); i < n {
			if vi = v(i); vi != nil {
				copy(zi, vi)
				continue
			}
		}
		clear(zi)
	}
	for p := 0; p < kp/tile.Width; p++ {
		tile.Mul4x16(k, grp.z, kp, grp.g[p*k*tile.Width:(p+1)*k*tile.Width], grp.out[p*tile.Width:], kp)
	}
}

// solve is solveRowCG for each of rows, step for step: a row whose residual
// vanishes stops updating while the others go on, exactly where
// solveRowCG would break.
func (grp *cgGroup) solve(rows []cgRow, other []float32, beta float32, steps int) error {
	k, kp := grp.k, grp.kp
	n := len(rows)
	var rho [4]float64
	var active [4]bool
	for i := range rows {
		s, row := grp.s[i], &rows[i]
		s.gather(other, row.idx, k)
		copy(s.x, row.x)
		clear(s.x[k:])
		s.vsDot(s.t, s.x)
		for j, cj := range row.c {
			s.t[j] = beta + cj - cj*s.t[j]
		}
		s.vsSum(s.r, s.t)
	}
	grp.mulG(n, func(i int) []float32 { return grp.s[i].x })
	for i := range rows {
		s := grp.s[i]
		vek32.Sub_Inplace(s.r, grp.out[i*kp:(i+1)*kp])
		axpy(-rows[i].lambda, s.x, s.r)
		copy(s.p, s.r)
		rho[i] = float64(dot(s.r, s.r))
		active[i] = rho[i] > 1e-20
	}
	for range steps {
		live := false
		for i := range rows {
			live = live || active[i]
		}
		if !live {
			break
		}
		grp.mulG(n, func(i int) []float32 {
			if active[i] {
				return grp.s[i].p
			}
			return nil // finished rows: their product is not used
		})
		for i := range rows {
			if !active[i] {
				continue
			}
			s, row := grp.s[i], &rows[i]
			s.vsDot(s.t, s.p)
			vek32.Mul_Inplace(s.t, row.c)
			s.vsSum(s.q, s.t)
			vek32.Add_Inplace(s.q, grp.out[i*kp:(i+1)*kp])
			axpy(row.lambda, s.p, s.q)
			pq := float64(dot(s.p, s.q))
			if !(pq > 0) || math.IsInf(pq, 0) {
				return fmt.Errorf("ials row %d: %w: pᵀAp = %g", row.u, ErrDiverged, pq)
			}
			alpha := float32(rho[i] / pq)
			axpy(alpha, s.p, s.x)
			axpy(-alpha, s.q, s.r)
			rr := float64(dot(s.r, s.r))
			if rr <= 1e-20 {
				active[i] = false
				continue
			}
			b := float32(rr / rho[i])
			for a := range s.p {
				s.p[a] = s.r[a] + b*s.p[a]
			}
			rho[i] = rr
		}
	}
	for i := range rows {
		copy(rows[i].x, grp.s[i].x[:k])
	}
	return nil
}

// solveRowCholesky solves A x = b exactly (solver_type CHOLESKY).
func solveRowCholesky(x, other []float32, idx []int32, c []float32, g64 []float64, alpha0, lambda, beta float64, k int, a []float64) error {
	for i := range a {
		a[i] = alpha0 * g64[i]
	}
	b := make([]float64, k)
	for d := 0; d < k; d++ {
		a[d*k+d] += lambda
	}
	for j, i := range idx {
		v := other[int(i)*k : (int(i)+1)*k]
		cj := float64(c[j])
		for r := 0; r < k; r++ {
			vr := cj * float64(v[r])
			b[r] += (beta + cj) * float64(v[r])
			row := a[r*k : (r+1)*k]
			for s := r; s < k; s++ {
				row[s] += vr * float64(v[s])
			}
		}
	}
	var ch mat.Cholesky
	if ok := ch.Factorize(mat.NewSymDense(k, a)); !ok {
		return fmt.Errorf("%w: matrix not positive definite", ErrDiverged)
	}
	var sol mat.VecDense
	if err := ch.SolveVecTo(&sol, mat.NewVecDense(k, b)); err != nil {
		return fmt.Errorf("%w: %v", ErrDiverged, err)
	}
	for d := 0; d < k; d++ {
		x[d] = float32(sol.AtVec(d))
	}
	return nil
}

// Model returns the factor model (views of the live factors; see package doc).
func (m *IALS) Model() *algo.Model {
	if m.x == nil {
		return nil
	}
	k := m.cfg.NComponents
	g, err := gram(context.Background(), m.v, m.x.Cols, k, &m.bufs, nil)
	if err != nil {
		return nil
	}
	return &algo.Model{
		Kind: algo.KindFactor, NUsers: m.x.Rows, NItems: m.x.Cols, K: k,
		UserFactors: m.p, ItemFactors: m.v, Gram: to32(g),
		FoldIn: algo.FoldIn{
			Method: "ials_cg", Alpha0: m.cfg.Alpha0, Reg: m.reg, Nu: m.cfg.Nu, LossType: m.cfg.LossType.String(),
			Confidence: m.cfg.ConfidenceScaling.String(), Epsilon: m.cfg.Epsilon, CGSteps: m.cfg.PredictionCGSteps,
			NItemsTraining: m.x.Cols,
		},
	}
}

type ialsSnapshot struct {
	p, v   []float32
	epochs int
}

// Snapshot copies the factors.
func (m *IALS) Snapshot() any {
	return &ialsSnapshot{p: slices.Clone(m.p), v: slices.Clone(m.v), epochs: m.epochs}
}

// Restore puts back a Snapshot of this recommender.
func (m *IALS) Restore(s any) {
	sn := s.(*ialsSnapshot)
	m.p, m.v, m.epochs = slices.Clone(sn.p), slices.Clone(sn.v), sn.epochs
}
