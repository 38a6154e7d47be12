package dataset

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
	"github.com/recotem/recotem/trainer/sparse"
)

// Interactions is the cleansed data: id maps plus one (user, item[, time])
// triple per kept row, in source row order.
type Interactions struct {
	UserIDs, ItemIDs []string // sorted ascending by bytes; index = position
	User, Item       []int32  // one per kept row
	Time             []int64  // unix ns per row; nil without time_column
	NRowsFetched     int      // rows the source delivered (nulls included)
	DropCount        int      // null-id drops + dedup drops
}

// NRows is the number of kept rows.
func (d *Interactions) NRows() int { return len(d.User) }

// Matrix is the users×items CSR, value 1 per row with duplicates summed
// (algorithms.md §1.3): binary unless dedup is none.
func (d *Interactions) Matrix() *sparse.CSR {
	m, err := sparse.FromTriplets(len(d.UserIDs), len(d.ItemIDs), d.User, d.Item, nil)
	if err != nil {
		panic("dataset: inconsistent interactions: " + err.Error()) // indices are built in range
	}
	return m
}

// Ingest fetches the recipe's source and cleanses it (recotem-behavior.md
// §3.8): drop null ids, ids to strings, time parse, dedup, min checks.
// opt configures the source (the zero value uses the defaults); its Logger,
// with recipe and run_id bound, also receives fetching_data, data_fetched
// and data_cleansed. Memory grows with the kept rows and the distinct ids,
// not the raw text.
func Ingest(ctx context.Context, r *recipe.Recipe, opt source.Options) (*Interactions, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("fetching_data")
	src, err := source.New(r, opt)
	if err != nil {
		return nil, err
	}
	b := newBuilder(r)
	if err := src.Fetch(ctx, b); err != nil {
		return nil, b.resolve(err)
	}
	d := b.finish()
	log.Info("data_fetched", "n_rows", d.NRowsFetched)
	d.DropCount = b.nullDrops() + dedup(d, r.Cleansing.Dedup)
	log.Info("data_cleansed", "n_rows", d.NRows(), "drop_count", d.DropCount)
	if err := checkMin(d, r.Cleansing); err != nil {
		return nil, err
	}
	return d, nil
}

// ErrMinData marks min_data_violation failures.
var ErrMinData = errors.New("not enough data after cleansing")

func checkMin(d *Interactions, c recipe.Cleansing) error {
	fields := map[string]any{"n_rows": d.NRows(), "n_users": len(d.UserIDs), "n_items": len(d.ItemIDs)}
	for _, m := range []struct {
		name string
		min  *int
	}{{"min_rows", c.MinRows}, {"min_users", c.MinUsers}, {"min_items", c.MinItems}} {
		if m.min != nil {
			fields[m.name] = *m.min
		}
	}
	check := func(what string, have int, min *int) error {
		if min == nil || have >= *min {
			return nil
		}
		return &failure.Error{Class: failure.Training, Code: "min_data_violation", Fields: fields, Err: ErrMinData,
			Msg: "min_data_violation: " + strconv.Itoa(have) + " " + what + " after cleansing, below the required " + strconv.Itoa(*min)}
	}
	if err := check("rows", d.NRows(), c.MinRows); err != nil {
		return err
	}
	if err := check("users", len(d.UserIDs), c.MinUsers); err != nil {
		return err
	}
	return check("items", len(d.ItemIDs), c.MinItems)
}

// dedup removes duplicate (user,item) rows per policy, keeping row order;
// it returns the number dropped. Rows are grouped by user (counting sort,
// ascending row order within a user); each user's rows are then walked
// forwards (keep_first) or backwards (keep_last) with a per-item stamp of
// the last user that took the item, on GOMAXPROCS goroutines over ranges
// of users.
func dedup(d *Interactions, policy string) int {
	if policy == recipe.DedupNone || len(d.User) == 0 {
		return 0
	}
	nUsers := max(len(d.UserIDs), maxPlus1(d.User))
	nItems := max(len(d.ItemIDs), maxPlus1(d.Item))
	groups := groupByUser(d.User, nUsers)
	keep := make([]bool, len(d.User))
	// Ranges of users holding about the same number of rows.
	nr := 4 * runtime.GOMAXPROCS(0)
	bounds := []int{0}
	for u, per := 0, len(d.User)/nr+1; u < nUsers; {
		for u < nUsers && int(groups.start[u]) < len(bounds)*per {
			u++
		}
		bounds = append(bounds, u)
	}
	first := policy == recipe.DedupKeepFirst
	stamps := sync.Pool{New: func() any { s := make([]int32, nItems); return &s }}
	parallelFor(len(bounds)-1, func(k int) {
		sp := stamps.Get().(*[]int32)
		defer stamps.Put(sp)
		seen := *sp
		for u := bounds[k]; u < bounds[k+1]; u++ {
			rows := groups.rows[groups.start[u]:groups.start[u+1]]
			mark := int32(u) + 1
			for j := range rows {
				r := rows[j]
				if !first {
					r = rows[len(rows)-1-j]
				}
				if it := d.Item[r]; seen[it] != mark {
					seen[it] = mark
					keep[r] = true
				}
			}
		}
	})
	w := 0
	for k := range d.User {
		if !keep[k] {
			continue
		}
		d.User[w], d.Item[w] = d.User[k], d.Item[k]
		if d.Time != nil {
			d.Time[w] = d.Time[k]
		}
		w++
	}
	dropped := len(d.User) - w
	d.User, d.Item = d.User[:w:w], d.Item[:w:w]
	if d.Time != nil {
		d.Time = d.Time[:w:w]
	}
	return dropped
}

func maxPlus1(x []int32) int {
	m := int32(-1)
	for _, v := range x {
		m = max(m, v)
	}
	return int(m) + 1
}

// grouping lists row indexes by user, ascending row order within a user.
type grouping struct {
	start []int64 // len n+1
	rows  []int32
}

func groupByUser(user []int32, n int) grouping {
	start := make([]int64, n+1)
	for _, u := range user {
		start[u+1]++
	}
	for k := 0; k < n; k++ {
		start[k+1] += start[k]
	}
	next := slices.Clone(start[:n])
	rows := make([]int32, len(user))
	for k, u := range user {
		rows[next[u]] = int32(k)
		next[u]++
	}
	return grouping{start: start, rows: rows}
}
