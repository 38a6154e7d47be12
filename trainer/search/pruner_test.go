package search

import "testing"

func TestShouldPrune(t *testing.T) {
	done := func(vals ...float64) []Trial {
		var ts []Trial
		for i, v := range vals {
			ts = append(ts, Trial{Number: i, State: Complete, Intermediate: map[int]float64{4: v}})
		}
		return ts
	}
	f := func(hist []Trial, own map[int]float64, step int, want bool) {
		t.Helper()
		if got := shouldPrune(hist, own, step); got != want {
			t.Fatalf("shouldPrune(%d trials, %v, %d) = %v, want %v", len(hist), own, step, got, want)
		}
	}
	f(done(0.5, 0.6, 0.7, 0.8), map[int]float64{4: 0.1}, 4, false) // < 5 COMPLETE
	f(done(0.5, 0.6, 0.7, 0.8, 0.9), map[int]float64{4: 0.1}, 4, true)
	f(done(0.5, 0.6, 0.7, 0.8, 0.9), map[int]float64{4: 0.7}, 4, false) // equal to median: keep
	f(done(0.5, 0.6, 0.7, 0.8, 0.9, 1.0), map[int]float64{4: 0.74}, 4, true)
	f(done(0.5, 0.6, 0.7, 0.8, 0.9, 1.0), map[int]float64{4: 0.75}, 4, false)   // median 0.75 (linear)
	f(done(0.5, 0.6, 0.7, 0.8, 0.9), map[int]float64{4: 0.1, 9: 0.1}, 9, false) // nobody reported step 9
	// Best so far, not the latest value, is compared.
	f(done(0.5, 0.6, 0.7, 0.8, 0.9), map[int]float64{0: 0.95, 4: 0.1}, 4, false)
	// PRUNED trials do not count toward the 5 nor the median.
	h := done(0.5, 0.6, 0.7, 0.8)
	h = append(h, Trial{Number: 9, State: Pruned, Intermediate: map[int]float64{4: 0.9}})
	f(h, map[int]float64{4: 0.1}, 4, false)
}
