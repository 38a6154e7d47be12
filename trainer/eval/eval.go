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
	"github.com/recotem/recotem/trainer/internal/tile"
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
//
// Factor models are scored by factorScorer, 32 users at a time (float32
// scores, as upstream IALS and BPRFM score; algorithms.md §6); every other
// kind through refscore.ScoreUser.
func Evaluate(ctx context.Context, m *algo.Model, train, heldout *sparse.CSR, offset, cutoff int) (Scores, error) {
	return evaluate(ctx, m, train, heldout, offset, cutoff, true)
}

// evaluate is Evaluate; blocked=false is the reference path the tests and
// the benchmark compare with: factor models scored per user by
// refscore.ScoreUser (float64 accumulation) and every row ranked by
// refscore.AppendTopK.
func evaluate(ctx context.Context, m *algo.Model, train, heldout *sparse.CSR, offset, cutoff int, blocked bool) (Scores, error) {
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

	var fs *factorScorer
	if blocked && m.Kind == algo.KindFactor {
		fs = newFactorScorer(m)
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), nu))
	const block = userBlock
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
			heapBuf := make([]int, 0, cutoff)
			inTest := make([]bool, train.Cols)
			var tile *blockScores
			if fs != nil {
				tile = fs.newBlockScores()
			}
			users := make([]int, 0, block)
			for {
				a, b, ok := take()
				if !ok {
					return
				}
				users = users[:0]
				for v := a; v < b; v++ {
					if heldout.RowLen(v) > 0 {
						users = append(users, offset+v)
					}
				}
				if tile != nil {
					fs.scoreBlock(users, tile)
				}
				for i, u := range users {
					v := u - offset
					gIdx, _ := heldout.Row(v)
					valid[v] = true
					tIdx, tVal := train.Row(u)
					if tile != nil {
						tile.row(i, fs.m.ItemBias, scores)
					} else {
						refscore.ScoreUser(m, u, tIdx, tVal, scores)
					}
					for _, j := range tIdx {
						scores[j] = math.Inf(-1)
					}
					if blocked {
						top, heapBuf = topK(top[:0], scores, cutoff, heapBuf)
					} else {
						top = refscore.AppendTopK(top[:0], scores, cutoff)
					}
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

// userBlock is the number of held-out rows a worker takes at a time and
// scores together: each panel of item factors is read from memory once per
// block and reused from cache by its users.
const userBlock = 32

// panelChunk bounds the bytes of item panels one pass over a block's users
// keeps hot in the core's L2 cache.
const panelChunk = 256 << 10

// factorScorer computes factor-model score rows s_u = V·z_u (+ b) in float32
// (as upstream IALS and BPRFM score; algorithms.md §6) for blocks of users.
// The item factors are packed in panels of 16 items (tile.Pack: panel p
// holds items 16p…16p+15 as k rows of 16 float32), so a 4×16 tile of
// scores — 4 users × 16 items — is one tile.Mul4x16 over a contiguous k×16
// panel. It is read-only after construction and shared by the workers.
type factorScorer struct {
	m       *algo.Model
	panels  []float32 // nPanels × K × 16
	nPanels int
	chunk   int // panels per cache pass
}

func newFactorScorer(m *algo.Model) *factorScorer {
	k, n := m.K, m.NItems
	vp := tile.Pack(k, n, func(f, j int) float32 { return m.ItemFactors[j*k+f] })
	chunk := max(1, panelChunk/(max(k, 1)*tile.Width*4))
	return &factorScorer{m: m, panels: vp, nPanels: tile.Panels(n), chunk: chunk}
}

// blockScores is one worker's scratch: the block's user factors (rows
// padded to a multiple of 4 with zeros) and their float32 score rows.
type blockScores struct {
	z   []float32 // userBlock rounded up to 4, × K
	out []float32 // same rows × nPanels·16
	ldo int
}

func (fs *factorScorer) newBlockScores() *blockScores {
	rows := (userBlock + 3) &^ 3
	ldo := fs.nPanels * tile.Width
	return &blockScores{z: make([]float32, rows*fs.m.K), out: make([]float32, rows*ldo), ldo: ldo}
}

// scoreBlock writes the float32 score rows of users (at most userBlock
// model rows) into b.out, row i for users[i].
func (fs *factorScorer) scoreBlock(users []int, b *blockScores) {
	k := fs.m.K
	if len(users) == 0 {
		return
	}
	rows := (len(users) + 3) &^ 3
	z := b.z[:rows*k]
	for i, u := range users {
		copy(z[i*k:(i+1)*k], fs.m.UserFactors[u*k:(u+1)*k])
	}
	clear(z[len(users)*k:])
	if k == 0 {
		clear(b.out[:rows*b.ldo])
		return
	}
	for p0 := 0; p0 < fs.nPanels; p0 += fs.chunk {
		p1 := min(p0+fs.chunk, fs.nPanels)
		for r := 0; r < rows; r += 4 {
			for p := p0; p < p1; p++ {
				tile.Mul4x16(k, z[r*k:], k, fs.panels[p*k*tile.Width:(p+1)*k*tile.Width], b.out[r*b.ldo+p*tile.Width:], b.ldo)
			}
		}
	}
}

// row writes row i of the last scoreBlock into dst (float64, len NItems),
// adding the item bias when the model has one.
func (b *blockScores) row(i int, bias []float32, dst []float64) {
	s := b.out[i*b.ldo : i*b.ldo+len(dst)]
	if bias != nil {
		for j, x := range s {
			dst[j] = float64(x) + float64(bias[j])
		}
		return
	}
	for j, x := range s {
		dst[j] = float64(x)
	}
}

// topK appends to dst the indices of the k best finite scores, best first,
// ranked by score descending then lower index (§3.3) — the order of
// refscore.AppendTopK, whose container/heap version costs a third of a factor
// evaluation. h is a caller-owned buffer (reset here). Items are scanned in
// index order, so once the heap holds k items a later item enters only with
// a strictly higher score than the worst kept one.
func topK(dst []int, scores []float64, k int, h []int) ([]int, []int) {
	h = h[:0]
	if k <= 0 {
		return dst, h
	}
	// worse(a, b): item a ranks after item b.
	worse := func(a, b int) bool {
		if scores[a] != scores[b] {
			return scores[a] < scores[b]
		}
		return a > b
	}
	down := func(i int) {
		n := len(h)
		for {
			l := 2*i + 1
			if l >= n {
				return
			}
			w := l
			if r := l + 1; r < n && worse(h[r], h[l]) {
				w = r
			}
			if !worse(h[w], h[i]) {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	thr := math.Inf(-1)
	for i, s := range scores {
		if len(h) == k && !(s > thr) {
			continue // not better than the worst kept (or NaN)
		}
		if math.IsInf(s, 0) || math.IsNaN(s) {
			continue
		}
		if len(h) < k {
			h = append(h, i)
			for j := len(h) - 1; j > 0; { // sift up
				p := (j - 1) / 2
				if !worse(h[j], h[p]) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
		} else {
			h[0] = i
			down(0)
		}
		if len(h) == k {
			thr = scores[h[0]]
		}
	}
	n := len(h)
	start := len(dst)
	dst = append(dst, make([]int, n)...)
	for p := n - 1; p >= 0; p-- {
		dst[start+p] = h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		down(0)
	}
	return dst, h
}
