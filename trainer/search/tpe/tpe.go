package tpe

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/recotem/recotem/trainer/algo"
)

// Trial is what the sampler reads of one finished trial of the study: a
// COMPLETE trial (Pruned false) or a PRUNED one, its metric (maximised),
// the parameters it was given and the values it reported by step.
type Trial struct {
	Number       int
	Pruned       bool
	Value        float64
	Params       algo.Params
	Intermediate map[int]float64
}

// Sampler is the TPE sampler for one trial: a snapshot of the study's
// history split into below/above, and the trial's two random streams (TPE
// and the start-up uniform sampler), both seeded from (seed, trial
// number). A Sampler is not safe for concurrent use.
type Sampler struct {
	n            int // |history|
	below, above []Trial
	tpeRNG       *rand.Rand
	randRNG      *rand.Rand
}

const (
	streamTPE    = 0x7470655f73747265 // "tpe_stre"
	streamRandom = 0x72616e645f737472 // "rand_str"
)

// New returns the sampler of trial number in a study seeded with seed,
// given the study's finished trials. randomOnly samples every parameter
// with the start-up uniform sampler (a baseline for benchmarks).
func New(seed int64, number int, history []Trial, randomOnly bool) *Sampler {
	s := &Sampler{
		n:       len(history),
		tpeRNG:  rand.New(rand.NewPCG(uint64(seed), streamTPE^uint64(number)*0x9e3779b97f4a7c15)),
		randRNG: rand.New(rand.NewPCG(uint64(seed), streamRandom^uint64(number)*0x9e3779b97f4a7c15)),
	}
	if randomOnly {
		s.n = -1
	}
	if s.n >= nStartupTrials {
		s.below, s.above = splitTrials(history)
	}
	return s
}

// splitTrials splits the history into the gamma(n) best
// ("below", the TPE good group; larger metric is better) and the rest.
// COMPLETE trials rank by value (stable, so ties go to the lower number);
// if too few, PRUNED trials fill in by largest last step, then best value
// at that step; trials without reports come last. Both groups come back in
// trial-number order.
func splitTrials(history []Trial) (below, above []Trial) {
	h := slices.Clone(history)
	sort.SliceStable(h, func(i, j int) bool { return h[i].Number < h[j].Number })
	nBelow := gamma(len(h))
	var complete, pruned []Trial
	for _, t := range h {
		if t.Pruned {
			pruned = append(pruned, t)
		} else {
			complete = append(complete, t)
		}
	}
	sort.SliceStable(complete, func(i, j int) bool { return better(complete[i].Value, complete[j].Value) })
	take := min(nBelow, len(complete))
	below = append(below, complete[:take]...)
	above = append(above, complete[take:]...)
	if rest := nBelow - take; rest > 0 {
		type key struct {
			step  int
			value float64 // minimised
		}
		keys := make([]key, len(pruned))
		for i, t := range pruned {
			if len(t.Intermediate) == 0 {
				keys[i] = key{1, 0}
				continue
			}
			last := math.MinInt
			for s := range t.Intermediate {
				last = max(last, s)
			}
			v := t.Intermediate[last]
			if math.IsNaN(v) {
				keys[i] = key{-last, math.Inf(1)}
			} else {
				keys[i] = key{-last, -v}
			}
		}
		idx := make([]int, len(pruned))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			ka, kb := keys[idx[a]], keys[idx[b]]
			if ka.step != kb.step {
				return ka.step < kb.step
			}
			return ka.value < kb.value
		})
		rest = min(rest, len(idx))
		for _, i := range idx[:rest] {
			below = append(below, pruned[i])
		}
		for _, i := range idx[rest:] {
			above = append(above, pruned[i])
		}
	} else {
		above = append(above, pruned...)
	}
	byNumber := func(ts []Trial) {
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].Number < ts[j].Number })
	}
	byNumber(below)
	byNumber(above)
	return below, above
}

// better orders metric values: larger first, NaN last.
func better(a, b float64) bool {
	if math.IsNaN(b) {
		return !math.IsNaN(a)
	}
	return a > b
}

// Suggest samples one parameter: an int for Int specs, a float64 for Float
// ones, one of spec.Choices for Categorical ones.
func (s *Sampler) Suggest(spec algo.ParamSpec) any {
	if s.n < nStartupTrials {
		return randomValue(spec, s.randRNG)
	}
	if spec.Kind == algo.Categorical {
		lo, hi := catObservations(spec, s.below), catObservations(spec, s.above)
		l, g := newCatEst(len(spec.Choices), lo), newCatEst(len(spec.Choices), hi)
		cands := l.sample(s.tpeRNG, nEICandidates)
		best, bestScore := cands[0], math.Inf(-1)
		for _, c := range cands {
			if sc := l.logPDF(c) - g.logPDF(c); sc > bestScore {
				best, bestScore = c, sc
			}
		}
		return spec.Choices[best]
	}
	l := newNumEst(spec, numObservations(spec, s.below))
	g := newNumEst(spec, numObservations(spec, s.above))
	cands := l.sample(s.tpeRNG, nEICandidates)
	best, bestScore := cands[0], math.Inf(-1)
	for _, c := range cands {
		if sc := l.logPDF(c) - g.logPDF(c); sc > bestScore {
			best, bestScore = c, sc
		}
	}
	return external(spec, best)
}

// numObservations collects spec.Name from the trials that hold it (by name
// only, across classes, as upstream does). Values a log parameter cannot
// take (≤ 0) are skipped.
func numObservations(spec algo.ParamSpec, ts []Trial) []float64 {
	var out []float64
	for _, t := range ts {
		v, ok := t.Params[spec.Name]
		if !ok {
			continue
		}
		f, ok := toFloat(v)
		if !ok || math.IsNaN(f) || (spec.Log && f <= 0) || (spec.Log && spec.Kind == algo.Int && f <= 0.5) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func catObservations(spec algo.ParamSpec, ts []Trial) []int {
	var out []int
	for _, t := range ts {
		v, ok := t.Params[spec.Name]
		if !ok {
			continue
		}
		for i, c := range spec.Choices {
			if c == v {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	}
	return 0, false
}

func external(spec algo.ParamSpec, v float64) any {
	if spec.Kind == algo.Int {
		return int(v)
	}
	return v
}

// randomValue is the start-up uniform sampler (algorithms.md §5.3).
func randomValue(spec algo.ParamSpec, rng *rand.Rand) any {
	lo, hi := spec.Low, spec.High
	switch spec.Kind {
	case algo.Categorical:
		return spec.Choices[rng.IntN(len(spec.Choices))]
	case algo.Int:
		var x float64
		if spec.Log {
			a, b := math.Log(lo-0.5), math.Log(hi+0.5)
			x = math.RoundToEven(math.Exp(a + rng.Float64()*(b-a)))
		} else {
			x = math.RoundToEven(lo - 0.5 + rng.Float64()*(hi-lo+1))
		}
		return int(math.Min(math.Max(x, lo), hi))
	}
	var x float64
	if spec.Log {
		a, b := math.Log(lo), math.Log(hi)
		x = math.Exp(a + rng.Float64()*(b-a))
	} else {
		x = lo + rng.Float64()*(hi-lo)
	}
	if x >= hi && hi > lo {
		x = math.Nextafter(hi, lo)
	}
	return math.Max(x, lo)
}
