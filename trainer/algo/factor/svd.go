package factor

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/viterin/vek"
	gblas "gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// SVDConfig holds TruncatedSVD hyperparameters (algorithms.md §2.6).
type SVDConfig struct {
	NComponents     int
	Oversamples     int // extra random directions (default 10)
	PowerIterations int // subspace iterations, ≥ 5 (default 5, as scikit-learn)
	Seed            int64
}

// DefaultSVDConfig returns the §2.6 (b) defaults.
func DefaultSVDConfig() SVDConfig {
	return SVDConfig{NComponents: 4, Oversamples: 10, PowerIterations: 5, Seed: 0}
}

var svdAccepts = []string{"n_components", "random_seed"}

// TruncatedSVD is the rank-k SVD recommender of §2.6: item factors V_k,
// user factors U_kΣ_k = X V_k, score = reconstruction of the user's row.
type TruncatedSVD struct {
	cfg  SVDConfig
	k    int // effective rank (≤ I−1)
	nU   int
	nI   int
	p, v []float32
}

// NewTruncatedSVD returns an unfitted TruncatedSVD.
func NewTruncatedSVD(cfg SVDConfig) (*TruncatedSVD, error) {
	if cfg.NComponents < 1 {
		return nil, paramErr("TruncatedSVD", "n_components", cfg.NComponents, "must be ≥ 1")
	}
	if cfg.PowerIterations < 0 || cfg.Oversamples < 0 {
		return nil, paramErr("TruncatedSVD", "power_iterations", cfg.PowerIterations, "must be ≥ 0")
	}
	return &TruncatedSVD{cfg: cfg}, nil
}

var blas64 gblas.Implementation

// Fit computes the top-k right singular vectors of the uncentred X by a
// randomised range finder with PowerIterations subspace iterations
// (orthonormalised each half-step), or an exact dense SVD for small X.
func (m *TruncatedSVD) Fit(ctx context.Context, X *sparse.CSR) error {
	nU, nI := X.Rows, X.Cols
	if nI < 2 {
		return fmt.Errorf("truncated svd: %w: %d items, need ≥ 2", ErrTooFewItems, nI)
	}
	k := min(m.cfg.NComponents, nI-1)
	m.k, m.nU, m.nI = k, nU, nI
	var vk []float64 // nI×k
	l := k + m.cfg.Oversamples
	if l >= min(nU, nI) {
		vk = denseSVD(X, k)
	} else {
		var err error
		if vk, err = m.randomized(ctx, X, l, k); err != nil {
			return err
		}
	}
	// User factors z = X V_k.
	z := make([]float64, nU*k)
	if err := spmm(ctx, X, vk, k, z); err != nil {
		return err
	}
	m.p, m.v = to32(z), to32(vk)
	return nil
}

func (m *TruncatedSVD) randomized(ctx context.Context, X *sparse.CSR, l, k int) ([]float64, error) {
	nU, nI := X.Rows, X.Cols
	xt := X.Transpose()
	rng := rand.New(rand.NewPCG(uint64(m.cfg.Seed), 7))
	omega := make([]float64, nI*l)
	for i := range omega {
		omega[i] = rng.NormFloat64()
	}
	y := make([]float64, nU*l)
	z := omega
	if err := spmm(ctx, X, z, l, y); err != nil {
		return nil, err
	}
	// Intermediate bases only steer the next product, so one Gram pass
	// (orthogonality loss ~ cond²·ε, harmless in float64) is enough; the
	// final Q, which B is built from, gets the second pass.
	passes := func(last bool) int {
		if last {
			return 2
		}
		return 1
	}
	var ws orthWork
	orth(y, nU, l, passes(m.cfg.PowerIterations == 0), &ws)
	for it := range m.cfg.PowerIterations {
		if err := spmm(ctx, xt, y, l, z); err != nil {
			return nil, err
		}
		orth(z, nI, l, 1, &ws)
		if err := spmm(ctx, X, z, l, y); err != nil {
			return nil, err
		}
		orth(y, nU, l, passes(it == m.cfg.PowerIterations-1), &ws)
	}
	// Bᵀ = Xᵀ Q (nI×l); B = H S Wᵀ with BBᵀ = H S² Hᵀ, so W = Bᵀ H S⁻¹.
	bt := z
	if err := spmm(ctx, xt, y, l, bt); err != nil {
		return nil, err
	}
	c := make([]float64, l*l)
	gram64(c, bt, nI, l)
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(l, c), true) {
		return nil, fmt.Errorf("truncated svd: eigendecomposition failed")
	}
	vals := eig.Values(nil) // ascending
	var h mat.Dense
	eig.VectorsTo(&h)
	// Take the k largest: columns l-1, l-2, …
	hk := make([]float64, l*k)
	scale := make([]float64, k)
	for j := 0; j < k; j++ {
		col := l - 1 - j
		s := math.Sqrt(math.Max(vals[col], 0))
		if s > 1e-12*math.Sqrt(math.Max(vals[l-1], 0)) && s > 0 {
			scale[j] = 1 / s
		}
		for r := 0; r < l; r++ {
			hk[r*k+j] = h.At(r, col) * scale[j]
		}
	}
	vk := make([]float64, nI*k)
	vek.MatMul_Into(vk, bt, hk, l) // (nI×l)·(l×k)
	return vk, nil
}

// denseSVD is the exact path for small matrices: thin SVD of dense X.
func denseSVD(X *sparse.CSR, k int) []float64 {
	nU, nI := X.Rows, X.Cols
	vk := make([]float64, nI*k)
	if nU == 0 {
		return vk
	}
	d := mat.NewDense(nU, nI, nil)
	for u := 0; u < nU; u++ {
		idx, val := X.Row(u)
		for p, j := range idx {
			d.Set(u, int(j), val[p])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(d, mat.SVDThin) {
		return vk
	}
	var v mat.Dense
	svd.VTo(&v)
	vals := svd.Values(nil)
	_, c := v.Dims()
	for j := 0; j < min(k, c); j++ {
		if vals[j] <= 1e-12*vals[0] {
			continue // null directions score nothing; leave zero
		}
		for i := 0; i < nI; i++ {
			vk[i*k+j] = v.At(i, j)
		}
	}
	return vk
}

// spmm computes out = M·D for sparse M (r×c) and dense row-major D (c×w),
// out r×w, in parallel over fixed row blocks.
func spmm(ctx context.Context, M *sparse.CSR, d []float64, w int, out []float64) error {
	return parallelBlocks(ctx, M.Rows, 256, nil, func(lo, hi int, _ any) error {
		for r := lo; r < hi; r++ {
			o := out[r*w : (r+1)*w]
			clear(o)
			idx, val := M.Row(r)
			for p, j := range idx {
				blas64.Daxpy(w, val[p], d[int(j)*w:(int(j)+1)*w], 1, o, 1)
			}
		}
		return nil
	})
}

// orth replaces the n×l row-major Y by a basis of its column space, made
// orthonormal by `passes` rounds of eigen-based Gram orthonormalisation
// (two give orthonormality to rounding; directions with negligible energy
// become zero columns). It works on Yᵀ (l×n) so that both
// the Gram matrix and the update Yᵀ ← Tᵀ·Yᵀ run along vectors of length n.
func orth(y []float64, n, l, passes int, ws *orthWork) {
	yt, tmp := ws.get(l * n)
	transpose64(yt, y, n, l)
	defer func() { transpose64(y, yt, l, n) }()
	g := make([]float64, l*l)
	tt := make([]float64, l*l)
	for range passes {
		gram64t(g, yt, n, l)
		var eig mat.EigenSym
		if !eig.Factorize(mat.NewSymDense(l, g), true) {
			return
		}
		vals := eig.Values(nil)
		var e mat.Dense
		eig.VectorsTo(&e)
		top := math.Max(vals[l-1], 0)
		// Y ← Y·T with T[r][j] = e[r][j]·s_j, i.e. Yᵀ ← Tᵀ·Yᵀ.
		for j := 0; j < l; j++ {
			var s float64
			if vals[j] > 1e-24*top && vals[j] > 0 {
				s = 1 / math.Sqrt(vals[j])
			}
			for r := 0; r < l; r++ {
				tt[j*l+r] = e.At(r, j) * s
			}
		}
		if n > 0 {
			vek.MatMul_Into(tmp, tt, yt, l) // (l×l)·(l×n)
		}
		yt, tmp = tmp, yt
	}
}

// orthWork holds orth's two n×l transposed buffers across calls (they are
// the largest allocations of a fit).
type orthWork struct{ a, b []float64 }

func (w *orthWork) get(n int) (a, b []float64) {
	if cap(w.a) < n {
		w.a, w.b = make([]float64, n), make([]float64, n)
	}
	return w.a[:n], w.b[:n]
}

// transpose64 sets dst (c×r) = srcᵀ for the r×c row-major src.
func transpose64(dst, src []float64, r, c int) {
	for i := 0; i < r; i++ {
		for j, x := range src[i*c : (i+1)*c] {
			dst[j*r+i] = x
		}
	}
}

// gram64 sets g (l×l) = YᵀY for the n×l row-major Y (see gram64t).
func gram64(g, y []float64, n, l int) {
	yt := make([]float64, l*n)
	transpose64(yt, y, n, l)
	gram64t(g, yt, n, l)
}

// gram64t sets g (l×l) = YᵀY given Yᵀ (l×n): row a of the upper triangle is
// one AVX2 matrix-vector product Yᵀ[a:]·Yᵀ[a] over vectors of length n.
// (gonum's Dgemm is SSE2 and was 60 % of a MovieLens fit.)
func gram64t(g, yt []float64, n, l int) {
	if n == 0 {
		clear(g[:l*l])
		return
	}
	for a := 0; a < l; a++ {
		vek.MatMul_Into(g[a*l+a:a*l+l], yt[a*n:], yt[a*n:(a+1)*n], n)
		for c := a + 1; c < l; c++ {
			g[c*l+a] = g[a*l+c]
		}
	}
}

// Model returns the factor model (fold-in by projection).
func (m *TruncatedSVD) Model() *algo.Model {
	if m.v == nil {
		return nil
	}
	return &algo.Model{
		Kind: algo.KindFactor, NUsers: m.nU, NItems: m.nI, K: m.k,
		UserFactors: m.p, ItemFactors: m.v, FoldIn: algo.FoldIn{Method: "projection"},
	}
}
