package workload

import (
	"fmt"
	"math"
	"strings"
)

// Dist names how ids are drawn from their table.
type Dist uint8

const (
	// Uniform draws every id with the same probability.
	Uniform Dist = iota
	// Zipf draws the id of popularity rank k (1-based) with probability
	// proportional to 1/k^s. Ranks are assigned to ids by a seeded random
	// permutation, so hot ids are not simply the first ones of a sorted table.
	Zipf
)

func (d Dist) String() string {
	if d == Zipf {
		return "zipf"
	}
	return "uniform"
}

// ParseDist parses "uniform" or "zipf".
func ParseDist(s string) (Dist, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "uniform", "":
		return Uniform, nil
	case "zipf":
		return Zipf, nil
	}
	return 0, fmt.Errorf("%w: unknown distribution %q (want uniform or zipf)", ErrConfig, s)
}

// Sampler draws indexes in [0, n). A Sampler is immutable after
// construction and safe for concurrent use; each goroutine passes its own
// random source. Sampling never allocates.
type Sampler struct {
	n    int
	cdf  []float64 // cumulative weights of ranks 0..n-1, nil for uniform
	perm []int32   // rank → index, nil for uniform
}

// NewUniformSampler draws every index of [0, n) equally often.
func NewUniformSampler(n int) (*Sampler, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: sampler over %d ids", ErrNoIDs, n)
	}
	return &Sampler{n: n}, nil
}

// NewZipfSampler draws rank k (0-based) with probability proportional to
// 1/(k+1)^s, s ≥ 0 (s = 0 is uniform; s ≈ 1 is typical of item popularity).
// Ranks map to indexes through a permutation seeded by seed. The table costs
// 12 bytes per id; a draw is one binary search.
func NewZipfSampler(n int, s float64, seed uint64) (*Sampler, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: sampler over %d ids", ErrNoIDs, n)
	}
	if n > math.MaxInt32 {
		return nil, configErr("zipf sampler over %d ids (max %d)", n, math.MaxInt32)
	}
	if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return nil, configErr("zipf exponent %v (want a finite s >= 0)", s)
	}
	cdf := make([]float64, n)
	var sum float64
	for k := range cdf {
		sum += math.Pow(float64(k+1), -s)
		cdf[k] = sum
	}
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	r := NewRand(seed)
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return &Sampler{n: n, cdf: cdf, perm: perm}, nil
}

// N is the number of indexes drawn from.
func (s *Sampler) N() int { return s.n }

// Rank draws a popularity rank in [0, n) (for uniform, the index itself).
func (s *Sampler) rank(r *Rand) int {
	if s.cdf == nil {
		return r.Intn(s.n)
	}
	u := r.Float64() * s.cdf[len(s.cdf)-1]
	lo, hi := 0, len(s.cdf)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.cdf[m] > u {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// IndexOfRank maps a popularity rank to the index it was assigned.
func (s *Sampler) IndexOfRank(k int) int {
	if s.perm == nil {
		return k
	}
	return int(s.perm[k])
}

// Prob is the probability of drawing rank k (0-based).
func (s *Sampler) Prob(k int) float64 {
	if s.cdf == nil {
		return 1 / float64(s.n)
	}
	p := s.cdf[k]
	if k > 0 {
		p -= s.cdf[k-1]
	}
	return p / s.cdf[len(s.cdf)-1]
}

func (s *Sampler) draw(r *Rand) int { return s.IndexOfRank(s.rank(r)) }
