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
	// UserExponent, when > 0, replaces Exponent for user activity only:
	// with Exponent 1 over millions of users the most active user would
	// own 1/ln(Users) of all rows (and most of its rows would repeat a
	// pair); 0.5 gives a heavy tail closer to real logs.
	UserExponent float64
	Seed         uint64
	// Gzip compresses the output.
	Gzip bool
	// Start is the unix second of the first row; timestamps advance by
	// 1..60 s per row.
	Start int64
	// Clusters > 0 gives the data latent structure, so that a
	// collaborative model has something to learn and quality metrics mean
	// something: every user and every item belongs to one of Clusters
	// groups (by id), and a row's item comes with probability Affinity
	// from the user's group (Zipf popularity within the group), otherwise
	// from the whole catalogue. Zero keeps the plain power law.
	Clusters int
	// Affinity is the in-group probability; 0 means 0.8 when Clusters > 0.
	Affinity float64
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
	if c.Users < 1 || c.Items < 1 || c.Rows < 0 || c.Exponent < 0 || c.UserExponent < 0 || c.Clusters < 0 || c.Clusters > c.Items || c.Affinity < 0 || c.Affinity > 1 {
		return 0, fmt.Errorf("%w: users=%d items=%d rows=%d exponent=%g clusters=%d affinity=%g", ErrConfig, c.Users, c.Items, c.Rows, c.Exponent, c.Clusters, c.Affinity)
	}
	affinity := c.Affinity
	if affinity == 0 {
		affinity = 0.8
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
	us := c.UserExponent
	if us == 0 {
		us = s
	}
	users, items := newSampler(c.Users, us), newSampler(c.Items, s)
	// Rank → id permutations, so popularity does not follow id order.
	uperm, iperm := r.Perm(c.Users), r.Perm(c.Items)
	// Groups: item id j is in group j % Clusters, user id u in u % Clusters;
	// members[g] lists a group's item ids in popularity order.
	var members [][]int
	var groups []sampler
	if c.Clusters > 0 {
		members = make([][]int, c.Clusters)
		for _, id := range iperm {
			members[id%c.Clusters] = append(members[id%c.Clusters], id)
		}
		groups = make([]sampler, c.Clusters)
		for g := range groups {
			groups[g] = newSampler(len(members[g]), s)
		}
	}

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
		u := uperm[users.draw(r)]
		var item int
		if g := u % max(c.Clusters, 1); c.Clusters > 0 && r.Float64() < affinity {
			item = members[g][groups[g].draw(r)]
		} else {
			item = iperm[items.draw(r)]
		}
		line = append(line, 'u')
		line = strconv.AppendInt(line, int64(u), 10)
		line = append(line, ',', 'i')
		line = strconv.AppendInt(line, int64(item), 10)
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
