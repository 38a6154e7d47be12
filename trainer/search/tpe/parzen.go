package tpe

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/recotem/recotem/trainer/algo"
)

// Optuna 4.9 TPE defaults (algorithms.md §5.3).
const (
	nStartupTrials = 10
	nEICandidates  = 24
	priorWeight    = 1.0
)

// gamma is the number of "below" trials for n history trials.
func gamma(n int) int { return min(int(math.Ceil(0.1*float64(n))), 25) }

// obsWeights returns the normalised weights of m observations (in trial
// number order) followed by the prior's.
func obsWeights(m int) []float64 {
	w := make([]float64, m+1)
	switch {
	case m < 25:
		for i := range m {
			w[i] = 1
		}
	default:
		ramp := m - 25
		for i := range ramp {
			// linspace(1/m, 1, ramp)
			if ramp == 1 {
				w[i] = 1 / float64(m)
			} else {
				w[i] = 1/float64(m) + (1-1/float64(m))*float64(i)/float64(ramp-1)
			}
		}
		for i := ramp; i < m; i++ {
			w[i] = 1
		}
	}
	w[m] = priorWeight
	if m == 0 {
		w[0] = 1
	}
	s := 0.0
	for _, x := range w {
		s += x
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// numEst is the Parzen estimator of one numerical parameter in transformed
// space: truncated normal kernels on [lo, hi] (the step-widened and, for log
// parameters, log-transformed bounds).
type numEst struct {
	spec    algo.ParamSpec
	lo, hi  float64
	mus     []float64
	sigmas  []float64
	logW    []float64
	logMass []float64 // per kernel, mass on [lo, hi]
}

func transform(spec algo.ParamSpec, v float64) float64 {
	if spec.Log {
		return math.Log(v)
	}
	return v
}

func transformedBounds(spec algo.ParamSpec) (lo, hi float64) {
	lo, hi = spec.Low, spec.High
	if spec.Kind == algo.Int {
		lo, hi = lo-0.5, hi+0.5
	}
	if spec.Log {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	return lo, hi
}

func newNumEst(spec algo.ParamSpec, obs []float64) *numEst {
	lo, hi := transformedBounds(spec)
	m := len(obs)
	mus := make([]float64, m, m+1)
	for i, v := range obs {
		mus[i] = transform(spec, v)
	}
	prior := 0.5 * (lo + hi)
	sigmas := make([]float64, m, m+1)
	if m > 0 {
		// Neighbour gaps over the observations and the prior mean, padded
		// with the bounds (Optuna's univariate rule).
		all := append(slices.Clone(mus), prior)
		idx := make([]int, len(all))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return all[idx[a]] < all[idx[b]] })
		pad := make([]float64, len(all)+2)
		pad[0], pad[len(pad)-1] = lo, hi
		for i, j := range idx {
			pad[i+1] = all[j]
		}
		sorted := make([]float64, len(all))
		for i := range sorted {
			sorted[i] = math.Max(pad[i+1]-pad[i], pad[i+2]-pad[i+1])
		}
		if len(pad) >= 4 {
			sorted[0] = pad[2] - pad[1]
			sorted[len(sorted)-1] = pad[len(pad)-2] - pad[len(pad)-3]
		}
		for i, j := range idx {
			if j < m {
				sigmas[j] = sorted[i]
			}
		}
		maxS := hi - lo
		minS := (hi - lo) / math.Min(100, float64(m+2))
		for i := range sigmas {
			sigmas[i] = math.Min(math.Max(sigmas[i], minS), maxS)
		}
	}
	mus = append(mus, prior)
	sigmas = append(sigmas, hi-lo)
	w := obsWeights(m)
	e := &numEst{spec: spec, lo: lo, hi: hi, mus: mus, sigmas: sigmas,
		logW: make([]float64, m+1), logMass: make([]float64, m+1)}
	for k := range mus {
		e.logW[k] = math.Log(w[k])
		e.logMass[k] = logGaussMass((lo-mus[k])/sigmas[k], (hi-mus[k])/sigmas[k])
	}
	return e
}

// pick chooses a kernel index by weight with one uniform draw.
func pickKernel(logW []float64, u float64) int {
	acc := 0.0
	for k, lw := range logW {
		acc += math.Exp(lw)
		if u < acc {
			return k
		}
	}
	return len(logW) - 1
}

// sample draws n external values (float64; ints are whole numbers).
func (e *numEst) sample(rng *rand.Rand, n int) []float64 {
	ks := make([]int, n)
	for i := range ks {
		ks[i] = pickKernel(e.logW, rng.Float64())
	}
	out := make([]float64, n)
	for i, k := range ks {
		mu, s := e.mus[k], e.sigmas[k]
		z := truncNormPPF(rng.Float64(), (e.lo-mu)/s, (e.hi-mu)/s)
		x := math.Min(math.Max(mu+s*z, e.lo), e.hi)
		out[i] = e.untransform(x)
	}
	return out
}

// untransform maps a transformed-space point to an external value.
func (e *numEst) untransform(x float64) float64 {
	if e.spec.Log {
		x = math.Exp(x)
	}
	lo, hi := e.spec.Low, e.spec.High
	if e.spec.Kind == algo.Int {
		x = lo + math.RoundToEven(x-lo)
	}
	return math.Min(math.Max(x, lo), hi)
}

// logPDF is the mixture's log density (continuous) or log mass (ints) at
// the external value v.
func (e *numEst) logPDF(v float64) float64 {
	terms := make([]float64, len(e.mus))
	if e.spec.Kind == algo.Int {
		l, h := v-0.5, v+0.5
		if e.spec.Log {
			l, h = math.Log(l), math.Log(h)
		}
		for k, mu := range e.mus {
			s := e.sigmas[k]
			terms[k] = e.logW[k] + logGaussMass((l-mu)/s, (h-mu)/s) - e.logMass[k]
		}
		return logSumExp(terms)
	}
	x := transform(e.spec, v)
	for k, mu := range e.mus {
		s := e.sigmas[k]
		z := (x - mu) / s
		terms[k] = e.logW[k] - 0.5*z*z - logSqrt2Pi - math.Log(s) - e.logMass[k]
	}
	return logSumExp(terms)
}

// catEst is the Parzen estimator of a categorical parameter: one kernel per
// observation plus a uniform prior.
type catEst struct {
	n     int         // choices
	probs [][]float64 // per kernel
	logW  []float64
}

func newCatEst(nChoices int, obs []int) *catEst {
	m := len(obs)
	e := &catEst{n: nChoices, probs: make([][]float64, m+1), logW: make([]float64, m+1)}
	w := obsWeights(m)
	for k := range m + 1 {
		row := make([]float64, nChoices)
		if k < m {
			base := 1 / float64(m+1)
			den := float64(nChoices)/float64(m+1) + 1
			for c := range row {
				row[c] = base / den
			}
			row[obs[k]] = (base + 1) / den
		} else {
			for c := range row {
				row[c] = 1 / float64(nChoices)
			}
		}
		e.probs[k] = row
		e.logW[k] = math.Log(w[k])
	}
	return e
}

func (e *catEst) sample(rng *rand.Rand, n int) []int {
	ks := make([]int, n)
	for i := range ks {
		ks[i] = pickKernel(e.logW, rng.Float64())
	}
	out := make([]int, n)
	for i, k := range ks {
		u := rng.Float64()
		acc, c := 0.0, 0
		for c = 0; c < e.n-1; c++ {
			acc += e.probs[k][c]
			if u < acc {
				break
			}
		}
		out[i] = c
	}
	return out
}

func (e *catEst) logPDF(c int) float64 {
	terms := make([]float64, len(e.probs))
	for k, row := range e.probs {
		terms[k] = e.logW[k] + math.Log(row[c])
	}
	return logSumExp(terms)
}
