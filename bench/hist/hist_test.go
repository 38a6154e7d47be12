package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refQuantile is the ceil(q·n)-th smallest value (1-based), the definition
// Histogram.Quantile approximates.
func refQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func TestHistogramQuantilesMatchSortedReference(t *testing.T) {
	f := func(name string, gen func(r *rand.Rand) int64, n int) {
		t.Helper()
		r := rand.New(rand.NewPCG(1, uint64(n)))
		vals := make([]int64, n)
		var h Histogram
		for i := range vals {
			vals[i] = gen(r)
			h.Record(vals[i])
		}
		slices.Sort(vals)
		if h.Count() != uint64(n) || h.Max() != vals[n-1] || h.Min() != vals[0] {
			t.Fatalf("%s: count/min/max %d/%d/%d, want %d/%d/%d", name, h.Count(), h.Min(), h.Max(), n, vals[0], vals[n-1])
		}
		for _, q := range []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
			got, want := h.Quantile(q), refQuantile(vals, q)
			if q == 0 {
				want = vals[0]
			}
			// Never below the truth, at most one bucket width (1/128) above.
			if got < want || float64(got-want) > float64(want)/histSub {
				t.Fatalf("%s: q=%v got %d, reference %d", name, q, got, want)
			}
		}
	}
	f("small exact", func(r *rand.Rand) int64 { return r.Int64N(histSub) }, 5000)
	f("uniform µs..ms", func(r *rand.Rand) int64 { return 1000 + r.Int64N(5_000_000) }, 20000)
	f("exponential", func(r *rand.Rand) int64 { return int64(r.ExpFloat64() * 200_000) }, 20000)
	f("heavy tail", func(r *rand.Rand) int64 { return int64(100_000 / math.Pow(r.Float64()+1e-9, 0.8)) }, 20000)
	f("constant", func(*rand.Rand) int64 { return 123_456_789 }, 100)
	f("one value", func(*rand.Rand) int64 { return 77_000 }, 1)
	f("huge clamps", func(r *rand.Rand) int64 { return histMaxValue + r.Int64N(1000) }, 10)
}

func TestHistogramMergeEqualsCombined(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var a, b, all Histogram
	for i := 0; i < 10000; i++ {
		v := int64(r.ExpFloat64() * 1e6)
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(&b)
	if a.counts != all.counts || a.Count() != all.Count() || a.Max() != all.Max() || a.Min() != all.Min() {
		t.Fatal("merged histogram differs from the combined one")
	}
	if math.Abs(a.Mean()-all.Mean()) > 1e-6*all.Mean() {
		t.Fatalf("mean %v vs %v", a.Mean(), all.Mean())
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram should report zeros")
	}
	h.Record(-5)
	if h.Count() != 1 || h.Quantile(1) != 0 {
		t.Fatal("a negative value should count as 0")
	}
}

func TestHistIndexMonotoneAndUpperBound(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v += 1 + v/300 {
		i := histIndex(v)
		if i < prev {
			t.Fatalf("index not monotone at %d", v)
		}
		if histUpper(i) < v || (i > 0 && histUpper(i-1) >= v) {
			t.Fatalf("value %d not inside bucket %d (upper %d)", v, i, histUpper(i))
		}
		prev = i
	}
	if histIndex(histMaxValue) != histBuckets-1 || histIndex(math.MaxInt64) != histBuckets-1 {
		t.Fatal("largest values must land in the last bucket")
	}
}

// go test -run '^$' -bench . -benchmem ./bench/hist/
func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	vals := make([]int64, 4096)
	for i := range vals {
		vals[i] = int64(rand.ExpFloat64() * 1e6)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Record(vals[i&4095])
		i++
	}
	if h.Count() == 0 {
		b.Fatal("nothing recorded")
	}
}
