package search

import (
	"slices"
	"testing"
)

func TestBudgets(t *testing.T) {
	f := func(classes []string, n int, per map[string]int, want ...int) {
		t.Helper()
		got := Budgets(classes, n, per)
		if !slices.Equal(got, want) {
			t.Fatalf("Budgets(%v, %d, %v) = %v, want %v", classes, n, per, got, want)
		}
	}
	three := []string{"IALS", "CosineKNN", "TopPop"}
	two := []string{"IALS", "TopPop"}
	// Every example of recotem-behavior.md §3.7 (acceptance item 31).
	f(three, 40, nil, 14, 13, 13)
	f(three, 40, map[string]int{"IALS": 24, "CosineKNN": 12, "TopPop": 4}, 24, 12, 4)
	f(two, 40, map[string]int{"IALS": 30, "TopPop": 30}, 20, 20)
	f(three, 40, map[string]int{"IALS": 10}, 10, 15, 15)
	f(two, 40, map[string]int{"IALS": 10, "TopPop": 5}, 10, 30)
	f(two, 40, map[string]int{"IALS": 0}, 0, 40)
	f(three, 2, map[string]int{"IALS": 5, "CosineKNN": 5, "TopPop": 5}, 1, 1, 0)

	// Further rules.
	f(three, 40, map[string]int{}, 14, 13, 13)                                   // empty P = no P
	f(three, 7, map[string]int{"IALS": 0, "CosineKNN": 0, "TopPop": 0}, 3, 2, 2) // Σ=0, Q empty → even
	f(three, 40, map[string]int{"IALS": -3}, 0, 20, 20)                          // negative counts as 0
	f(three, 40, map[string]int{"IALS": 0, "CosineKNN": 50}, 0, 40, 0)           // Σ>N: only positive in Z; Q gets 0
	f(three, 10, map[string]int{"IALS": 10, "CosineKNN": 10, "TopPop": 5}, 4, 4, 2)
	f(three, 5, map[string]int{"IALS": 1, "CosineKNN": 1, "TopPop": 20}, 1, 1, 3)
	f(three, 40, map[string]int{"IALS": 5, "CosineKNN": 0, "TopPop": 5}, 5, 0, 35) // leftover to last positive explicit
	f(three, 0, nil, 0, 0, 0)
	// Σ > N walk with floors of 1: the spec's arithmetic gives 7 for N = 4.
	f([]string{"A", "B", "C", "D"}, 4, map[string]int{"A": 50, "B": 1, "C": 1, "D": 1}, 4, 1, 1, 1)
	f(nil, 40, nil)
}

// Budgets sum to N whenever the explicit values fit in N (Σ ≤ N) or there
// is no P. With Σ > N the spec's max(1, …) floors can exceed N; that is the
// spec's arithmetic and is pinned by an example below.
func TestBudgetsSumToN(t *testing.T) {
	classes := []string{"A", "B", "C", "D"}
	pers := []map[string]int{nil, {"A": 3}, {"A": 0, "B": 9}, {"B": 2, "D": 7}}
	for n := 0; n <= 30; n++ {
		for _, per := range pers {
			explicit := 0
			for _, v := range per {
				explicit += v
			}
			if explicit > n {
				continue
			}
			got := Budgets(classes, n, per)
			s := 0
			for _, b := range got {
				if b < 0 {
					t.Fatalf("negative budget %v", got)
				}
				s += b
			}
			if s != n {
				t.Fatalf("Budgets(%d, %v) = %v sums to %d", n, per, got, s)
			}
		}
	}
}
