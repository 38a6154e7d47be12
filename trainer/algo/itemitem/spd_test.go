package itemitem

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/viterin/vek/vek32"
	"gonum.org/v1/gonum/mat"
)

// randomSPD returns the lower triangle (row-major, upper zero) of
// GᵀG + reg·I for a random sparse 0/1 G, and the same matrix in float64.
func randomSPD(r *rand.Rand, n int, reg float64) ([]float32, *mat.SymDense) {
	users := 3*n + 5
	g := make([][]float64, users)
	for u := range g {
		g[u] = make([]float64, n)
		for i := range g[u] {
			if r.Float64() < 0.2 {
				g[u][i] = 1
			}
		}
	}
	a := make([]float32, n*n)
	s := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			var v float64
			for u := range g {
				v += g[u][i] * g[u][j]
			}
			if i == j {
				v += reg
			}
			a[i*n+j] = float32(v)
			s.SetSym(i, j, v)
		}
	}
	return a, s
}

func TestSPDInverseLower(t *testing.T) {
	f := func(n int, accel bool) {
		t.Helper()
		// accel=false forces the plain-Go references (vek's loops and
		// dot3x4Go) instead of the SIMD kernels.
		vek32.SetAcceleration(accel)
		saved := useAVX2
		useAVX2 = useAVX2 && accel
		defer func() { vek32.SetAcceleration(true); useAVX2 = saved }()
		r := rand.New(rand.NewSource(int64(n)))
		a, s := randomSPD(r, n, 2)
		if err := spdInverseLower(context.Background(), a, n); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		var ch mat.Cholesky
		if !ch.Factorize(s) {
			t.Fatalf("n=%d: gonum factorize failed", n)
		}
		var inv mat.SymDense
		if err := ch.InverseTo(&inv); err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				want := inv.At(i, j)
				got := float64(a[i*n+j])
				scale := math.Sqrt(inv.At(i, i) * inv.At(j, j))
				worst = max(worst, math.Abs(got-want)/scale)
			}
		}
		if worst > 1e-4 || math.IsNaN(worst) {
			t.Fatalf("n=%d accel=%v: max scaled error %g", n, accel, worst)
		}
	}
	for _, n := range []int{1, 2, 3, 17, 63, 64, 65, 129, 200} {
		f(n, true)
	}
	f(100, false)
	if !testing.Short() {
		f(600, true) // spans more than one k-slice (spdKC)
	}
}

func TestSPDInverseNotPositiveDefinite(t *testing.T) {
	f := func(a []float32, n int) {
		t.Helper()
		err := spdInverseLower(context.Background(), a, n)
		if !errors.Is(err, ErrNotPositiveDefinite) {
			t.Fatalf("got %v, want ErrNotPositiveDefinite", err)
		}
	}
	f([]float32{0}, 1)
	f([]float32{1, 0, 2, 1}, 2)                 // [[1,2],[2,1]] is indefinite
	f([]float32{float32(math.NaN())}, 1)        // NaN pivot
	f([]float32{1, 0, 0, 0, 0, 0, 0, 0, -1}, 3) // negative pivot late
}

func TestSPDInverseCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := rand.New(rand.NewSource(1))
	a, _ := randomSPD(r, 130, 1)
	if err := spdInverseLower(ctx, a, 130); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
