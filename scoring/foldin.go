package scoring

import (
	"fmt"
	"math"
)

// foldIn writes into s.z (padded to the item-factor stride) the embedding
// of the seed profile prof (1.0 per entry, duplicates repeated) per the
// model's fold-in method (algorithms.md §2.2 (e), §2.6 (e), §2.7 (e)). It
// follows the reference scorer's operations and order exactly: float64
// accumulation, float32 result.
func (m *Model) foldIn(s *scratch, prof []int32) error {
	k, stride := m.k, m.vfStride
	x := s.fx
	clear(x)
	switch m.fold.Method {
	case "projection":
		for _, j := range prof {
			v := m.vf[int(j)*stride : int(j)*stride+k]
			for f := range x {
				x[f] += 1 * float64(v[f])
			}
		}
	case "mean":
		for _, j := range prof {
			v := m.vf[int(j)*stride : int(j)*stride+k]
			for f := range x {
				x[f] += float64(v[f])
			}
		}
		w := float64(len(prof))
		for f := range x {
			x[f] /= w
		}
	case "ials_cg":
		if err := m.ialsCG(s, prof); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: unknown fold-in method %q", ErrFoldIn, m.fold.Method)
	}
	z := s.z
	for f, v := range x {
		z[f] = float32(v)
	}
	clear(z[k:])
	return nil
}

// ialsCG solves A x = b for the seed profile with x₀ = 0 and CGSteps steps
// (0 means k): A = α₀G + λI + Σ c v vᵀ, b = Σ (β + c) v,
// λ = reg·(α₀·I + n_seeds)^ν. Result in s.fx.
func (m *Model) ialsCG(s *scratch, prof []int32) error {
	k, stride := m.k, m.vfStride
	fi := &m.fold
	x, r, p, q := s.fx, s.fr, s.fp, s.fq
	nItems := fi.NItemsTraining
	if nItems == 0 {
		nItems = m.nItems
	}
	lambda := fi.Reg * math.Pow(fi.Alpha0*float64(nItems)+float64(len(prof)), fi.Nu)
	beta := 0.0
	if fi.LossType == "ORIGINAL" {
		beta = fi.Alpha0
	}
	c := 1.0
	if fi.Confidence == "log" {
		eps := fi.Epsilon
		if eps == 0 {
			eps = 1
		}
		c = math.Log1p(c / eps)
	}
	clear(r)
	for _, j := range prof {
		v := m.vf[int(j)*stride : int(j)*stride+k]
		for f := range r {
			r[f] += (beta + c) * float64(v[f])
		}
	}
	copy(p, r)
	steps := fi.CGSteps
	if steps <= 0 {
		steps = k
	}
	for range steps {
		rho := dotF64(r, r)
		if rho <= 1e-20 {
			break
		}
		for a := 0; a < k; a++ {
			var sum float64
			g := m.gram[a*m.gStride : a*m.gStride+k]
			for b := 0; b < k; b++ {
				sum += float64(g[b]) * p[b]
			}
			q[a] = fi.Alpha0*sum + lambda*p[a]
		}
		for _, j := range prof {
			v := m.vf[int(j)*stride : int(j)*stride+k]
			var vp float64
			for f := range v {
				vp += float64(v[f]) * p[f]
			}
			vp *= c
			for f := range v {
				q[f] += vp * float64(v[f])
			}
		}
		pq := dotF64(p, q)
		if !(pq > 0) || math.IsInf(pq, 0) {
			return fmt.Errorf("%w: pᵀAp = %g", ErrFoldIn, pq)
		}
		alpha := rho / pq
		for f := range x {
			x[f] += alpha * p[f]
			r[f] -= alpha * q[f]
		}
		rr := dotF64(r, r)
		if rr <= 1e-20 {
			break
		}
		for f := range p {
			p[f] = r[f] + rr/rho*p[f]
		}
	}
	return nil
}

func dotF64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
