package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/algo/refscore"
	"github.com/recotem/recotem/trainer/sparse"
)

// Sentinel errors.
var (
	// ErrCutoff: the cutoff is < 1 or exceeds the number of items.
	ErrCutoff = errors.New("eval: cutoff out of range")
	// ErrShape: the model, training matrix and held-out matrix disagree in size.
	ErrShape = errors.New("eval: shape mismatch")
)

// Metric names accepted by Scores.Get (recipe metric names plus precision).
const (
	NDCG      = "ndcg"
	MAP       = "map"
	Recall    = "recall"
	Hit       = "hit"
	Precision = "precision"
)

// Scores are the §3.4 metrics averaged over valid users (users with at least
// one held-out item). With no valid user every field is 0.
type Scores struct {
	NDCG, MAP, Recall, Hit, Precision float64
	ValidUsers                        int // users with ≥1 held-out item
	TotalUsers                        int // rows of the held-out matrix
}

// Get returns the metric by name (ndcg, map, recall, hit, precision). An
// unknown name gives NaN.
func (s Scores) Get(metric string) float64 {
	switch metric {
	case NDCG:
		return s.NDCG
	case MAP:
		return s.MAP
	case Recall:
		return s.Recall
	case Hit:
		return s.Hit
	case Precision:
		return s.Precision
	}
	return math.NaN()
}

// Evaluate scores model m on held-out interactions (§3). train is the matrix
// the model was fitted on (X_search); held-out row v belongs to model/train row
// offset+v. For each held-out row with g ≥ 1 items: compute the score row,
// set the train row's items to -Inf, take the top n = min(cutoff, |C|) finite
// scores (score desc, then lower index), and compute the metrics; average over
// those users. Work is split over GOMAXPROCS goroutines; ctx cancellation
// stops it and returns ctx.Err().
func Evaluate(ctx context.Context, m *algo.Model, train, heldout *sparse.CSR, offset, cutoff int) (Scores, error) {
	if m.NItems != train.Cols || heldout.Cols != train.Cols {
		return Scores{}, fmt.Errorf("%w: model %d items, train %d cols, held-out %d cols", ErrShape, m.NItems, train.Cols, heldout.Cols)
	}
	if offset < 0 || offset+heldout.Rows > train.Rows {
		return Scores{}, fmt.Errorf("%w: offset %d + %d held-out rows > %d train rows", ErrShape, offset, heldout.Rows, train.Rows)
	}
	if m.Kind == algo.KindFactor && m.NUsers < train.Rows {
		return Scores{}, fmt.Errorf("%w: model %d users < train %d rows", ErrShape, m.NUsers, train.Rows)
	}
	if cutoff < 1 || cutoff > train.Cols {
		return Scores{}, fmt.Errorf("%w: cutoff %d, %d items", ErrCutoff, cutoff, train.Cols)
	}
	nu := heldout.Rows
	per := make([][5]float64, nu) // ndcg, map, recall, hit, precision; per user
	valid := make([]bool, nu)

	// Discount table D(j) and its prefix sums (ideal DCG).
	disc := make([]float64, cutoff)
	idcg := make([]float64, cutoff+1)
	for j := range disc {
		disc[j] = 1 / math.Log2(float64(j)+2)
		idcg[j+1] = idcg[j] + disc[j]
	}

	workers := max(1, min(runtime.GOMAXPROCS(0), nu))
	const block = 64
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	take := func() (int, int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= nu || ctx.Err() != nil {
			return 0, 0, false
		}
		a := next
		next = min(nu, next+block)
		return a, next, true
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scores := make([]float64, train.Cols)
			top := make([]int, 0, cutoff)
			inTest := make([]bool, train.Cols)
			for {
				a, b, ok := take()
				if !ok {
					return
				}
				for v := a; v < b; v++ {
					gIdx, _ := heldout.Row(v)
					if len(gIdx) == 0 {
						continue
					}
					valid[v] = true
					u := offset + v
					tIdx, tVal := train.Row(u)
					refscore.ScoreUser(m, u, tIdx, tVal, scores)
					for _, j := range tIdx {
						scores[j] = math.Inf(-1)
					}
					top = refscore.AppendTopK(top[:0], scores, cutoff)
					for _, j := range gIdx {
						inTest[j] = true
					}
					per[v] = userMetrics(top, inTest, len(gIdx), disc, idcg)
					for _, j := range gIdx {
						inTest[j] = false
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Scores{}, err
	}
	var sum [5]float64
	nValid := 0
	for v := range per {
		if !valid[v] {
			continue
		}
		nValid++
		for i := range sum {
			sum[i] += per[v][i]
		}
	}
	out := Scores{ValidUsers: nValid, TotalUsers: nu}
	if nValid == 0 {
		return out, nil
	}
	d := float64(nValid)
	out.NDCG, out.MAP, out.Recall, out.Hit, out.Precision = sum[0]/d, sum[1]/d, sum[2]/d, sum[3]/d, sum[4]/d
	return out, nil
}

// userMetrics computes §3.4 for one valid user with ranked list top (n items),
// held-out membership inTest and g = |G| ≥ 1.
func userMetrics(top []int, inTest []bool, g int, disc, idcg []float64) [5]float64 {
	n := len(top)
	if n == 0 {
		return [5]float64{}
	}
	var dcg, ap float64
	hits := 0
	for j, i := range top {
		if inTest[i] {
			hits++
			dcg += disc[j]
			ap += float64(hits) / float64(j+1)
		}
	}
	var r [5]float64
	r[0] = dcg / idcg[min(g, n)]
	r[1] = ap / float64(g)
	r[2] = float64(hits) / float64(g)
	if hits > 0 {
		r[3] = 1
	}
	r[4] = float64(hits) / float64(n)
	return r
}
