package synth

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
)

// Config describes a data set. Zero Exponent means 1.0; zero Start means
// 2020-01-01T00:00:00Z.
type Config struct {
	Users, Items, Rows int
	// Exponent is the Zipf exponent s of both item popularity and user
	// activity: weight(rank k) = 1/(k+1)^s.
	Exponent float64
	Seed     uint64
	// Gzip compresses the output.
	Gzip bool
	// Start is the unix second of the first row; timestamps advance by
	// 1..60 s per row.
	Start int64
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("synth: invalid config")

// sampler draws ranks from a Zipf distribution by inverse CDF.
type sampler struct{ cdf []float64 }

func newSampler(n int, s float64) sampler {
	cdf := make([]float64, n)
	sum := 0.0
	for k := 0; k < n; k++ {
		sum += 1 / math.Pow(float64(k+1), s)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return sampler{cdf}
}

func (z sampler) draw(r *rand.Rand) int {
	u := r.Float64()
	i := sort.SearchFloat64s(z.cdf, u)
	if i >= len(z.cdf) {
		i = len(z.cdf) - 1
	}
	return i
}

// Write streams c.Rows rows (plus a header line) to w and returns the
// number of rows written.
func Write(w io.Writer, c Config) (int, error) {
	if c.Users < 1 || c.Items < 1 || c.Rows < 0 || c.Exponent < 0 {
		return 0, fmt.Errorf("%w: users=%d items=%d rows=%d exponent=%g", ErrConfig, c.Users, c.Items, c.Rows, c.Exponent)
	}
	s := c.Exponent
	if s == 0 {
		s = 1
	}
	start := c.Start
	if start == 0 {
		start = 1577836800
	}
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	users, items := newSampler(c.Users, s), newSampler(c.Items, s)
	// Rank → id permutations, so popularity does not follow id order.
	uperm, iperm := r.Perm(c.Users), r.Perm(c.Items)

	var gz *gzip.Writer
	out := w
	if c.Gzip {
		gz = gzip.NewWriter(w)
		out = gz
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	bw.WriteString("user_id,item_id,timestamp\n")
	var line []byte
	ts := start
	for i := 0; i < c.Rows; i++ {
		line = line[:0]
		line = append(line, 'u')
		line = strconv.AppendInt(line, int64(uperm[users.draw(r)]), 10)
		line = append(line, ',', 'i')
		line = strconv.AppendInt(line, int64(iperm[items.draw(r)]), 10)
		line = append(line, ',')
		ts += 1 + int64(r.IntN(60))
		line = strconv.AppendInt(line, ts, 10)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return i, err
		}
	}
	if err := bw.Flush(); err != nil {
		return c.Rows, err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return c.Rows, err
		}
	}
	return c.Rows, nil
}
