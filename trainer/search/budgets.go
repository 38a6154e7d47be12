package search

import "math"

// Budgets returns the per-class trial budgets of recotem-behavior.md §3.7
// (algorithms.md §5.1 step 2) for classes in recipe order, N = n and P =
// per. per holds the explicit per_algorithm_trials values by class name
// (negative values count as 0); nil or empty means no P. A class whose
// budget is 0 is dropped by the caller; all zero → no_active_algorithms.
func Budgets(classes []string, n int, per map[string]int) []int {
	k := len(classes)
	out := make([]int, k)
	if k == 0 {
		return out
	}
	if n < 0 {
		n = 0
	}
	even := func(idx []int, total int) {
		if len(idx) == 0 {
			return
		}
		base, rem := total/len(idx), total%len(idx)
		for j, i := range idx {
			out[i] = base
			if j < rem {
				out[i]++
			}
		}
	}
	all := make([]int, k)
	for i := range all {
		all[i] = i
	}
	if len(per) == 0 {
		even(all, n)
		return out
	}
	var explicit, unspecified []int
	val := make([]int, k)
	sum := 0
	for i, c := range classes {
		v, ok := per[c]
		if !ok {
			unspecified = append(unspecified, i)
			continue
		}
		v = max(v, 0)
		val[i] = v
		sum += v
		explicit = append(explicit, i)
	}
	switch {
	case sum == 0 && len(unspecified) == 0:
		even(all, n)
	case sum > n:
		var positive []int
		for _, i := range explicit {
			if val[i] > 0 {
				positive = append(positive, i)
			}
		}
		if n < len(positive) {
			for _, i := range positive[:n] {
				out[i] = 1
			}
			return out
		}
		last := positive[len(positive)-1]
		allocated := 0
		for _, i := range explicit {
			switch {
			case val[i] == 0:
				out[i] = 0
			case i == last:
				out[i] = max(1, n-allocated)
			default:
				b := max(1, int(math.RoundToEven(float64(val[i])*float64(n)/float64(sum))))
				out[i] = b
				allocated += b
			}
		}
		// Unspecified classes get 0 (already zero).
	default:
		for _, i := range explicit {
			out[i] = val[i]
		}
		left := n - sum
		if len(unspecified) > 0 {
			even(unspecified, left)
		} else {
			for j := len(explicit) - 1; j >= 0; j-- {
				if i := explicit[j]; val[i] > 0 {
					out[i] += left
					break
				}
			}
		}
	}
	return out
}
