package workload

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestZipfSamplerFrequenciesMatchLaw(t *testing.T) {
	f := func(n int, s float64) {
		t.Helper()
		smp, err := NewZipfSampler(n, s, 42)
		if err != nil {
			t.Fatal(err)
		}
		// The probabilities follow 1/(k+1)^s and sum to 1.
		var sum float64
		for k := 0; k < n; k++ {
			sum += smp.Prob(k)
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("n=%d s=%v: probabilities sum to %v", n, s, sum)
		}
		if k := n - 1; k > 0 {
			want := math.Pow(float64(k+1), -s)
			if got := smp.Prob(k) / smp.Prob(0); math.Abs(got-want) > 1e-9*math.Max(1, want) {
				t.Fatalf("n=%d s=%v: P(last)/P(first) = %v, want %v", n, s, got, want)
			}
		}
		// Empirical rank frequencies: chi-square over the ranks, the tail
		// pooled into one cell so every cell expects >= 20 draws.
		const draws = 200_000
		counts := make([]int, n)
		r := NewRand(9)
		for i := 0; i < draws; i++ {
			counts[smp.rank(&r)]++
		}
		var chi2, pooledObs, pooledExp float64
		cells := 0
		for k := 0; k < n; k++ {
			exp := smp.Prob(k) * draws
			if exp < 20 {
				pooledObs += float64(counts[k])
				pooledExp += exp
				continue
			}
			d := float64(counts[k]) - exp
			chi2 += d * d / exp
			cells++
		}
		if pooledExp > 0 {
			d := pooledObs - pooledExp
			chi2 += d * d / pooledExp
			cells++
		}
		// df = cells-1; mean df, sd sqrt(2df): 6 sd is a false alarm rate far below 1e-6.
		df := float64(cells - 1)
		if chi2 > df+6*math.Sqrt(2*df)+10 {
			t.Fatalf("n=%d s=%v: chi2 %.1f over %d cells", n, s, chi2, cells)
		}
	}
	f(1, 1)
	f(10, 0)
	f(100, 1)
	f(1000, 1.2)
	f(5000, 0.7)
}

func TestZipfPermutationIsBijective(t *testing.T) {
	const n = 1000
	smp, err := NewZipfSampler(n, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, n)
	moved := 0
	for k := 0; k < n; k++ {
		i := smp.IndexOfRank(k)
		if i < 0 || i >= n || seen[i] {
			t.Fatalf("rank %d maps to %d: not a permutation", k, i)
		}
		seen[i] = true
		if i != k {
			moved++
		}
	}
	if moved < n/2 {
		t.Fatalf("only %d of %d ranks permuted: hot ids would be the table's first ones", moved, n)
	}
	other, _ := NewZipfSampler(n, 1, 4)
	same := 0
	for k := 0; k < 10; k++ {
		if other.IndexOfRank(k) == smp.IndexOfRank(k) {
			same++
		}
	}
	if same == 10 {
		t.Fatal("different seeds gave the same hot ids")
	}
}

func TestUniformSamplerCoversRange(t *testing.T) {
	smp, err := NewUniformSampler(7)
	if err != nil {
		t.Fatal(err)
	}
	var counts [7]int
	r := NewRand(1)
	for i := 0; i < 70000; i++ {
		counts[smp.draw(&r)]++
	}
	for i, c := range counts {
		if c < 9000 || c > 11000 {
			t.Fatalf("index %d drawn %d times of 70000", i, c)
		}
	}
}

func TestSamplerRejectsBadInput(t *testing.T) {
	f := func(n int, s float64) {
		t.Helper()
		if _, err := NewZipfSampler(n, s, 1); err == nil {
			t.Fatalf("NewZipfSampler(%d, %v) accepted", n, s)
		}
	}
	f(0, 1)
	f(-1, 1)
	f(10, -0.5)
	f(10, math.NaN())
	f(10, math.Inf(1))
	if _, err := NewUniformSampler(0); err == nil {
		t.Fatal("NewUniformSampler(0) accepted")
	}
}

func TestParseDist(t *testing.T) {
	f := func(s string, want Dist, ok bool) {
		t.Helper()
		got, err := ParseDist(s)
		if (err == nil) != ok || (ok && got != want) {
			t.Fatalf("ParseDist(%q) = %v, %v", s, got, err)
		}
	}
	f("uniform", Uniform, true)
	f("Zipf", Zipf, true)
	f("pareto", 0, false)
}

// go test -run '^$' -bench . -benchmem ./bench/workload/
var sinkInt int

func BenchmarkZipfDraw(b *testing.B) {
	s, err := NewZipfSampler(100_000, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := NewRand(rand.Uint64())
	b.ReportAllocs()
	for b.Loop() {
		sinkInt += s.draw(&r)
	}
}
