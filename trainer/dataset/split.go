package dataset

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/sparse"
)

// Split is the search data of algorithms.md §4.4.
type Split struct {
	// Search is [train-only users ; validation users' kept rows] × items.
	Search *sparse.CSR
	// Heldout is validation users × items (row v = Search row Offset+v).
	Heldout *sparse.CSR
	// Offset is the number of train-only users.
	Offset int
	// Users maps each Search row to its user index in Interactions.UserIDs.
	Users []int32
}

// ErrSplit marks split_error failures.
var ErrSplit = errors.New("split produced no held-out interactions")

// rngFor is the split RNG: deterministic per seed.
func rngFor(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed_5eed_5eed_5eed))
}

// SplitData splits d per s (algorithms.md §4): random, time_user or
// time_global; deterministic for a seed. hasTime says d.Time is usable.
// An empty held-out matrix is failure Training "split_error".
func SplitData(d *Interactions, s recipe.Split, hasTime bool) (*Split, error) {
	if s.NeedsTime() && (!hasTime || d.Time == nil) {
		return nil, failure.New(failure.Training, "split_error", "split_error: scheme %s needs a time column", s.Scheme)
	}
	if !(s.HeldoutRatio > 0 && s.HeldoutRatio < 1) || !(s.TestUserRatio > 0 && s.TestUserRatio <= 1) {
		return nil, failure.New(failure.Training, "split_error", "split_error: ratios out of range")
	}
	var sp *Split
	var err error
	switch s.Scheme {
	case recipe.SplitRandom, recipe.SplitTimeUser, "":
		sp, err = splitPerUser(d, s)
	case recipe.SplitTimeGlobal:
		sp, err = splitTimeGlobal(d, s)
	default:
		return nil, failure.New(failure.Training, "split_error", "split_error: unknown scheme %q", s.Scheme)
	}
	if err != nil {
		return nil, err
	}
	if sp.Heldout.NNZ() == 0 {
		return nil, &failure.Error{Class: failure.Training, Code: "split_error", Err: ErrSplit,
			Msg: "split_error: the held-out set is empty (too few users or interactions per user for heldout_ratio and test_user_ratio)"}
	}
	return sp, nil
}

// splitPerUser implements random and time_user (§4.1, §4.2).
func splitPerUser(d *Interactions, s recipe.Split) (*Split, error) {
	nU, nI := len(d.UserIDs), len(d.ItemIDs)
	g := groupByUser(d.User, nU)
	// Deduplicate pairs keeping the first row (rows are ascending per user).
	stamp := make([]int32, nI)
	for k := range stamp {
		stamp[k] = -1
	}
	rows := g.rows[:0:0]
	start := make([]int64, nU+1)
	for u := 0; u < nU; u++ {
		for _, r := range g.rows[g.start[u]:g.start[u+1]] {
			it := d.Item[r]
			if stamp[it] == int32(u) {
				continue
			}
			stamp[it] = int32(u)
			rows = append(rows, r)
		}
		start[u+1] = int64(len(rows))
	}

	rng := rngFor(s.Seed)
	nVal := int(math.Floor(float64(nU) * s.TestUserRatio))
	isVal := make([]bool, nU)
	for _, u := range rng.Perm(nU)[:nVal] {
		isVal[u] = true
	}
	var order []int32 // train-only users, then validation users, each ascending
	for u := 0; u < nU; u++ {
		if !isVal[u] {
			order = append(order, int32(u))
		}
	}
	offset := len(order)
	for u := 0; u < nU; u++ {
		if isVal[u] {
			order = append(order, int32(u))
		}
	}

	var sr, sc, hr, hc []int32
	var buf []int32
	for row, u := range order {
		ur := rows[start[u]:start[u+1]]
		if !isVal[u] {
			for _, r := range ur {
				sr, sc = append(sr, int32(row)), append(sc, d.Item[r])
			}
			continue
		}
		k := int(math.Floor(float64(len(ur)) * s.HeldoutRatio))
		buf = append(buf[:0], ur...)
		if s.Scheme == recipe.SplitTimeUser {
			slices.SortStableFunc(buf, func(a, b int32) int {
				switch ta, tb := d.Time[a], d.Time[b]; {
				case ta < tb:
					return -1
				case ta > tb:
					return 1
				}
				return 0
			})
		} else {
			// Partial Fisher–Yates: move k random rows to the tail.
			for j := 0; j < k; j++ {
				last := len(buf) - 1 - j
				p := rng.IntN(last + 1)
				buf[p], buf[last] = buf[last], buf[p]
			}
		}
		keep, held := buf[:len(buf)-k], buf[len(buf)-k:]
		for _, r := range keep {
			sr, sc = append(sr, int32(row)), append(sc, d.Item[r])
		}
		for _, r := range held {
			hr, hc = append(hr, int32(row-offset)), append(hc, d.Item[r])
		}
	}
	return build(nU, nI, offset, order, sr, sc, hr, hc)
}

// splitTimeGlobal implements §4.3 (rows are not deduplicated).
func splitTimeGlobal(d *Interactions, s recipe.Split) (*Split, error) {
	nU, nI := len(d.UserIDs), len(d.ItemIDs)
	n := len(d.Time)
	if n == 0 {
		return nil, failure.New(failure.Training, "split_error", "split_error: no rows")
	}
	sorted := slices.Clone(d.Time)
	slices.Sort(sorted)
	pos := float64(n-1) * (1 - s.HeldoutRatio)
	lo := int(math.Floor(pos))
	hi := min(lo+1, n-1)
	frac := pos - float64(lo)
	base, span := sorted[lo], float64(sorted[hi]-sorted[lo])
	flagged := func(t int64) bool {
		// t ≥ base + frac·span, compared on differences to keep precision.
		if t >= sorted[hi] {
			return true
		}
		if t < base {
			return false
		}
		return float64(t-base) >= frac*span
	}

	validatable := make([]bool, nU)
	for k, t := range d.Time {
		if flagged(t) {
			validatable[d.User[k]] = true
		}
	}
	var vlist []int32
	for u := 0; u < nU; u++ {
		if validatable[u] {
			vlist = append(vlist, int32(u))
		}
	}
	isVal := slices.Clone(validatable)
	if s.TestUserRatio < 1 {
		rng := rngFor(s.Seed)
		nTrain := int(math.Floor((1 - s.TestUserRatio) * float64(len(vlist))))
		perm := rng.Perm(len(vlist))
		for _, p := range perm[:nTrain] {
			isVal[vlist[p]] = false
		}
	}
	var order []int32
	rowOf := make([]int32, nU)
	for pass := 0; pass < 2; pass++ {
		for u := 0; u < nU; u++ {
			if isVal[u] == (pass == 1) {
				rowOf[u] = int32(len(order))
				order = append(order, int32(u))
			}
		}
	}
	offset := 0
	for u := 0; u < nU; u++ {
		if !isVal[u] {
			offset++
		}
	}
	var sr, sc, hr, hc []int32
	for k := range d.User {
		u := d.User[k]
		if isVal[u] && flagged(d.Time[k]) {
			hr, hc = append(hr, rowOf[u]-int32(offset)), append(hc, d.Item[k])
		} else {
			sr, sc = append(sr, rowOf[u]), append(sc, d.Item[k])
		}
	}
	return build(nU, nI, offset, order, sr, sc, hr, hc)
}

func build(nU, nI, offset int, order, sr, sc, hr, hc []int32) (*Split, error) {
	search, err := sparse.FromTriplets(nU, nI, sr, sc, nil)
	if err != nil {
		return nil, err
	}
	held, err := sparse.FromTriplets(nU-offset, nI, hr, hc, nil)
	if err != nil {
		return nil, err
	}
	return &Split{Search: search, Heldout: held, Offset: offset, Users: order}, nil
}
