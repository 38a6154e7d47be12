package itemitem

import (
	"context"
	"math"

	"github.com/viterin/vek/vek32"
)

// Blocking of the SPD inverse. nb is the column-block (and row-group) size,
// kc the length of the k-slices dotted at a time so that a tile of rows
// stays in L2 (nb·kc·4 bytes = 192 KiB per operand). Both row counts are
// multiples of 3, the row height of the dot3x4 kernel.
const (
	spdNB      = 96
	spdKC      = 512
	spdRowTile = 24
)

// dot is Σ x_k·y_k in float32 (vek's AVX2 kernel when available, its plain
// Go loop otherwise). Empty slices give 0.
func dot(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return vek32.Dot(x, y)
}

// tileDot adds to acc[(r-r0)*ldacc+(c-c0)] the dot products of rows r in
// [r0,r1) and c in [c0,c1) of the n×n matrix a over columns [k0,k1), each
// pair starting no earlier than column r when fromRow is set. The k range is
// sliced by spdKC so that the rows of a tile are reused from cache; inside a
// slice, groups of 3 rows × 4 columns go through the register-blocked
// dot3x4 kernel and the remainders through dot.
func tileDot(a []float32, n, r0, r1, c0, c1, k0, k1 int, fromRow bool, acc []float32, ldacc int) {
	w := ldacc
	single := func(r, lo, ke int) {
		ar := a[r*n+lo : r*n+ke]
		out := acc[(r-r0)*w : (r-r0)*w+c1-c0]
		for c := c0; c < c1; c++ {
			out[c-c0] += dot(ar, a[c*n+lo:c*n+ke])
		}
	}
	for kk := k0; kk < k1; kk += spdKC {
		ke := min(kk+spdKC, k1)
		r := r0
		for ; r+3 <= r1; r += 3 {
			lo := kk
			if fromRow {
				lo = max(kk, r+2)
			}
			if lo >= ke {
				for rr := r; rr < r+3; rr++ {
					if lr := max(kk, rr); lr < ke {
						single(rr, lr, ke)
					}
				}
				continue
			}
			if fromRow {
				for rr := r; rr < r+2; rr++ {
					if lr := max(kk, rr); lr < lo {
						single(rr, lr, lo)
					}
				}
			}
			c := c0
			for ; c+4 <= c1; c += 4 {
				dot3x4(a, n, r*n+lo, c*n+lo, ke-lo, acc[(r-r0)*w+(c-c0):], w)
			}
			for ; c < c1; c++ {
				for rr := r; rr < r+3; rr++ {
					acc[(rr-r0)*w+(c-c0)] += dot(a[rr*n+lo:rr*n+ke], a[c*n+lo:c*n+ke])
				}
			}
		}
		for ; r < r1; r++ {
			lo := kk
			if fromRow {
				lo = max(kk, r)
			}
			if lo < ke {
				single(r, lo, ke)
			}
		}
	}
}

// spdInverseLower inverts the symmetric positive definite n×n matrix whose
// lower triangle (diagonal included) is stored row-major in a. On return the
// lower triangle and diagonal of a hold P⁻¹; the strict upper triangle holds
// scratch. It runs on all cores in three phases, each a set of contiguous
// float32 dot products (n³ flops in total):
//
//  1. Cholesky P = L·Lᵀ, left-looking by column blocks (L in the lower
//     triangle);
//  2. Mt = L⁻ᵀ in the upper triangle, row by row of Mt:
//     Mt_ji = −(Σ_{p=j}^{i−1} L_ip·Mt_jp)/L_ii, with Mt_jj = 1/L_jj;
//  3. P⁻¹ = L⁻ᵀ·L⁻¹ = Mt·Mtᵀ, i.e. (P⁻¹)_ij = Σ_{p≥i} Mt_ip·Mt_jp for
//     i ≥ j, written into the lower triangle.
//
// A non-positive or non-finite pivot returns ErrNotPositiveDefinite.
func spdInverseLower(ctx context.Context, a []float32, n int) error {
	if err := choleskyLower(ctx, a, n); err != nil {
		return err
	}
	ld := make([]float32, n)
	for i := 0; i < n; i++ {
		ld[i] = a[i*n+i]
		a[i*n+i] = 1 / ld[i]
	}
	if err := invTransposeUpper(ctx, a, n, ld); err != nil {
		return err
	}
	return gramUpperRows(ctx, a, n)
}

// choleskyLower factors the lower triangle of a in place.
func choleskyLower(ctx context.Context, a []float32, n int) error {
	acc := make([]float32, spdNB*spdNB)
	for j0 := 0; j0 < n; j0 += spdNB {
		if err := ctx.Err(); err != nil {
			return err
		}
		j1 := min(j0+spdNB, n)
		// Diagonal block: bulk update from columns [0, j0), then factor.
		bw := j1 - j0
		acc = acc[:bw*bw]
		clear(acc)
		tileDot(a, n, j0, j1, j0, j1, 0, j0, false, acc, bw)
		for i := j0; i < j1; i++ {
			for j := j0; j <= i; j++ {
				a[i*n+j] -= acc[(i-j0)*bw+(j-j0)]
			}
		}
		for i := j0; i < j1; i++ {
			row := a[i*n : i*n+n]
			for j := j0; j < i; j++ {
				row[j] = (row[j] - dot(row[j0:j], a[j*n+j0:j*n+j])) / a[j*n+j]
			}
			d := row[i] - dot(row[j0:i], row[j0:i])
			if !(d > 0) || math.IsInf(float64(d), 0) {
				return ErrNotPositiveDefinite
			}
			row[i] = float32(math.Sqrt(float64(d)))
		}
		// Panel below: bulk update, then triangular solve against the block.
		if j1 >= n {
			break
		}
		_, err := forChunks(ctx, n-j1, spdRowTile, func(_, lo, hi int) {
			r0, r1 := j1+lo, j1+hi
			w := j1 - j0
			buf := make([]float32, (r1-r0)*w)
			tileDot(a, n, r0, r1, j0, j1, 0, j0, false, buf, w)
			for i := r0; i < r1; i++ {
				row := a[i*n+j0 : i*n+j1]
				for j, v := range buf[(i-r0)*w : (i-r0)*w+w] {
					row[j] -= v
				}
			}
			panelSolve(a, n, r0, r1, j0, j1, buf)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// solveLeaf is the block width below which the triangular solves inside a
// block use plain dots instead of splitting in halves.
const solveLeaf = 12

// panelSolve finishes rows [r0,r1) of the Cholesky panel for block columns
// [j0,j1): row_j ← (row_j − Σ_{p∈[j0,j)} row_p·L_jp)/L_jj, in order of j.
// It splits the columns in halves so that the bulk of the work is one
// tileDot; buf holds at least (r1−r0)·(j1−j0) floats of scratch.
func panelSolve(a []float32, n, r0, r1, j0, j1 int, buf []float32) {
	if j1-j0 <= solveLeaf {
		for i := r0; i < r1; i++ {
			row := a[i*n : i*n+n]
			for j := j0; j < j1; j++ {
				row[j] = (row[j] - dot(row[j0:j], a[j*n+j0:j*n+j])) / a[j*n+j]
			}
		}
		return
	}
	jm := j0 + (j1-j0)/2
	panelSolve(a, n, r0, r1, j0, jm, buf)
	w := j1 - jm
	part := buf[:(r1-r0)*w]
	clear(part)
	tileDot(a, n, r0, r1, jm, j1, j0, jm, false, part, w)
	for i := r0; i < r1; i++ {
		row := a[i*n+jm : i*n+j1]
		for j, v := range part[(i-r0)*w : (i-r0)*w+w] {
			row[j] -= v
		}
	}
	panelSolve(a, n, r0, r1, jm, j1, buf)
}

// mtSolve finishes columns [c0,c1) of the Mt tile rows [ja,jb) × columns
// [i0,i1): acc[(j−ja)·w+(i−i0)] holds Σ Mt_jp·L_ip over p < c0, and the
// rest of the sum runs over p ∈ [max(j,c0), i). Halves are split so the
// bulk of the work is one tileDot.
func mtSolve(a []float32, n, ja, jb, i0, c0, c1 int, ld, acc []float32, w int) {
	if c1-c0 <= solveLeaf {
		for i := c0; i < c1; i++ {
			li := a[i*n : i*n+i]
			for j := ja; j < min(jb, i); j++ {
				lo := max(j, c0)
				s := acc[(j-ja)*w+(i-i0)] + dot(li[lo:i], a[j*n+lo:j*n+i])
				a[j*n+i] = -s / ld[i]
			}
		}
		return
	}
	cm := c0 + (c1-c0)/2
	mtSolve(a, n, ja, jb, i0, c0, cm, ld, acc, w)
	tileDot(a, n, ja, jb, cm, c1, c0, cm, true, acc[cm-i0:], w)
	mtSolve(a, n, ja, jb, i0, cm, c1, ld, acc, w)
}

// invTransposeUpper writes Mt = L⁻ᵀ into the strict upper triangle of a
// (its diagonal, 1/L_jj, is already in place). Groups of spdNB rows of Mt
// are independent and run in parallel.
func invTransposeUpper(ctx context.Context, a []float32, n int, ld []float32) error {
	_, err := forChunks(ctx, n, spdNB, func(_, ja, jb int) {
		g := jb - ja
		acc := make([]float32, g*spdNB)
		for i0 := ja; i0 < n; i0 += spdNB {
			if ctx.Err() != nil {
				return
			}
			i1 := min(i0+spdNB, n)
			w := i1 - i0
			acc = acc[:g*w]
			clear(acc)
			// Σ_{p=j}^{i0−1} Mt_jp·L_ip for every (j, i) of the tile.
			tileDot(a, n, ja, jb, i0, i1, ja, i0, true, acc, w)
			mtSolve(a, n, ja, jb, i0, i0, i1, ld, acc, w)
		}
	})
	return err
}

// gramUpperRows overwrites the lower triangle and diagonal of a with
// (P⁻¹)_ij = Σ_{p≥i} Mt_ip·Mt_jp (i ≥ j), reading Mt from the upper
// triangle. Groups of spdNB rows run in parallel.
func gramUpperRows(ctx context.Context, a []float32, n int) error {
	diag := make([]float32, n)
	_, err := forChunks(ctx, n, spdNB, func(_, ia, ib int) {
		g := ib - ia
		acc := make([]float32, g*spdNB)
		for ja := 0; ja < ib; ja += spdNB {
			if ctx.Err() != nil {
				return
			}
			jb := min(ja+spdNB, ib)
			w := jb - ja
			acc = acc[:g*w]
			clear(acc)
			tileDot(a, n, ia, ib, ja, jb, ia, n, true, acc, w)
			for i := ia; i < ib; i++ {
				for j := ja; j < min(jb, i+1); j++ {
					v := acc[(i-ia)*w+(j-ja)]
					if j == i {
						diag[i] = v
					} else {
						a[i*n+j] = v
					}
				}
			}
		}
	})
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		a[i*n+i] = diag[i]
	}
	return nil
}
