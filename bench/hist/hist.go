// Package hist owns the load generator's latency histogram: an HDR-style
// log-linear Histogram of nanoseconds with a fixed relative error, a
// Record that never allocates, Merge for combining the per-goroutine ones
// after a run, and the quantiles the reports print.
package hist

import (
	"math"
	"math/bits"
	"time"
)

// Histogram is an HDR-style log-linear histogram of non-negative int64
// values (latencies in nanoseconds). Values below 2^histSubBits are counted
// exactly; above, every power-of-two range is split into 2^histSubBits equal
// buckets, so a reported quantile is never below the true one and at most
// 1/2^histSubBits (0.78%) above it. Values above histMaxValue (~36 minutes
// in ns) are clamped into the last bucket; Max stays exact.
//
// Record is a few instructions and never allocates. A Histogram is not safe
// for concurrent use; give each goroutine its own and Merge them.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

const (
	histSubBits  = 7
	histSub      = 1 << histSubBits
	histMaxExp   = 33 // highest shift; values < 2^(histMaxExp+histSubBits+1)
	histBuckets  = (histMaxExp + 2) * histSub
	histMaxValue = int64(1)<<(histMaxExp+histSubBits+1) - 1
)

// Resolution is the most a reported quantile can exceed the true one, as a
// fraction of the true value (1/2^histSubBits).
const Resolution = 1.0 / histSub

func histIndex(v int64) int {
	if v < histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	if v > histMaxValue {
		v = histMaxValue
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1 // v>>e in [histSub, 2*histSub)
	return (e+1)*histSub + int(v>>uint(e)) - histSub
}

// histUpper is the highest value that maps to bucket i.
func histUpper(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := i/histSub - 1
	m := int64(i%histSub + histSub)
	return (m+1)<<uint(e) - 1
}

// Record counts one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.counts[histIndex(v)]++
	h.n++
	h.sum += float64(v)
}

// Merge adds every count of o into h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value (exact), 0 if empty.
func (h *Histogram) Max() int64 { return h.max }

// Min is the smallest recorded value (exact), 0 if empty.
func (h *Histogram) Min() int64 { return h.min }

// Mean is the arithmetic mean of the recorded values, 0 if empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q in [0, 1]: the highest value of
// the bucket holding the ceil(q·n)-th smallest recorded value (the first for
// q = 0), capped at Max. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	if q <= 0 || math.IsNaN(q) {
		return h.min
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank > h.n {
		rank = h.n
	}
	if rank == 0 {
		rank = 1
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			v := histUpper(i)
			if v > h.max || i == histBuckets-1 { // the last bucket also holds clamped values
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return v
		}
	}
	return h.max
}

// QuantileDuration is Quantile for a histogram of nanoseconds.
func (h *Histogram) QuantileDuration(q float64) time.Duration {
	return time.Duration(h.Quantile(q))
}
