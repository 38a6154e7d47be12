package itemitem

import (
	"context"
	"math"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// DefaultMaxDenseItems is the item count above which DenseSLIM refuses to
// fit unless MaxItems says otherwise. The fit works in one dense I×I float32
// matrix (Gram, inverted in place, then turned into the weights in place),
// so 30,000 items need 3.35 GiB during the fit.
const DefaultMaxDenseItems = 30000

// DenseSLIM is EASE (DenseSLIMRecommender, algorithms.md §2.5):
// B = (XᵀX + reg·I)⁻¹, W_ij = −B_ij/B_jj, W_jj = 0.
type DenseSLIM struct {
	Reg float64 // ridge added to the Gram diagonal (> 0 keeps P positive definite)
	// MaxItems refuses fits with more items (ErrTooManyItems). Zero means
	// DefaultMaxDenseItems; negative means no limit.
	MaxItems int

	model *algo.Model
}

// NewDenseSLIM builds a DenseSLIM from params (reg defaults to 1).
func NewDenseSLIM(p algo.Params) (*DenseSLIM, error) {
	r := algo.NewParamReader("DenseSLIM", p)
	d := &DenseSLIM{Reg: r.Float("reg", 1)}
	if r.Err() == nil && d.Reg < 0 {
		r.Fail("reg", d.Reg, "want ≥ 0")
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// Model returns the fitted model (nil before Fit).
func (d *DenseSLIM) Model() *algo.Model { return d.model }

// Fit computes the dense EASE weights in float32.
func (d *DenseSLIM) Fit(ctx context.Context, X *sparse.CSR) error {
	d.model = nil
	n := X.Cols
	limit := d.MaxItems
	if limit == 0 {
		limit = DefaultMaxDenseItems
	}
	if limit > 0 && n > limit {
		return &TooManyItemsError{Items: n, Limit: limit}
	}
	a, err := gramLower(ctx, X, float32(d.Reg))
	if err != nil {
		return err
	}
	if err := spdInverseLower(ctx, a, n); err != nil {
		return err
	}
	easeWeights(a, n)
	d.model = &algo.Model{Kind: algo.KindDenseItem, NUsers: X.Rows, NItems: n, Dense: a}
	return nil
}

// gramLower returns the n×n row-major float32 matrix whose lower triangle
// (diagonal included) is XᵀX + reg·I; the strict upper triangle is zero.
// Rows are computed in parallel, each summed over its users in order.
func gramLower(ctx context.Context, X *sparse.CSR, reg float32) ([]float32, error) {
	n := X.Cols
	a := make([]float32, n*n)
	Xt := X.Transpose()
	_, err := forChunks(ctx, n, rowChunk, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := a[i*n : i*n+i+1]
			users, xi := Xt.Row(i)
			for q, u := range users {
				v := float32(xi[q])
				cols, xu := X.Row(int(u))
				for p, j := range cols {
					if int(j) > i {
						break
					}
					row[j] += v * float32(xu[p])
				}
			}
			row[i] += reg
		}
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// easeWeights turns B (symmetric, lower triangle stored in a) into the full
// W_ij = −B_ij/B_jj with a zero diagonal, in place.
func easeWeights(a []float32, n int) {
	diag := make([]float32, n)
	for i := 0; i < n; i++ {
		diag[i] = a[i*n+i]
	}
	const tile = 64
	for i0 := 0; i0 < n; i0 += tile {
		for j0 := 0; j0 <= i0; j0 += tile {
			for i := i0; i < min(i0+tile, n); i++ {
				for j := j0; j < min(j0+tile, i); j++ {
					b := a[i*n+j] // B_ij = B_ji, i > j
					a[i*n+j] = safeDiv(-b, diag[j])
					a[j*n+i] = safeDiv(-b, diag[i])
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		a[i*n+i] = 0
	}
}

// safeDiv returns x/y, or 0 when the quotient is not finite.
func safeDiv(x, y float32) float32 {
	q := x / y
	if math.IsNaN(float64(q)) || math.IsInf(float64(q), 0) {
		return 0
	}
	return q
}
