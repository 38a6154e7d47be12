package search

import (
	"math"
	"sort"
)

// MedianPruner defaults (Optuna): 5 start-up trials, 0 warm-up steps,
// interval 1, at least 1 trial reporting the step.
const prunerStartupTrials = 5

// shouldPrune is Optuna's MedianPruner mirrored for a maximised metric
// (algorithms.md §5.2): never before 5 COMPLETE trials; prune when the
// trial's best value so far is below the median of the COMPLETE trials'
// values at the same step. Trials that did not report step are ignored; if
// none did, do not prune.
func shouldPrune(completed []Trial, own map[int]float64, step int) bool {
	n := 0
	for _, t := range completed {
		if t.State == Complete {
			n++
		}
	}
	if n < prunerStartupTrials {
		return false
	}
	best := math.NaN()
	for _, v := range own {
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(best) || v > best {
			best = v
		}
	}
	if math.IsNaN(best) {
		return true // every report so far is NaN (Optuna prunes)
	}
	var at []float64
	for _, t := range completed {
		if t.State != Complete {
			continue
		}
		if v, ok := t.Intermediate[step]; ok && !math.IsNaN(v) {
			at = append(at, v)
		}
	}
	if len(at) == 0 {
		return false
	}
	return best < median(at)
}

// median is numpy's percentile 50 with linear interpolation.
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return 0.5 * (s[n/2-1] + s[n/2])
}
