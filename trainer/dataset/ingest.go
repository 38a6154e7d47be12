package dataset

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"

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
		return nil, err
	}
	d := b.finish()
	log.Info("data_fetched", "n_rows", d.NRowsFetched)
	dropped := dedup(d, r.Cleansing.Dedup)
	d.DropCount = b.nullDrops + dropped
	remap(d, b)
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

// builder is the Sink: it interns ids (first-seen order) and parses times.
type builder struct {
	dropNull   bool
	hasTime    bool
	tp         timeParser
	users      idTable
	items      idTable
	u, i       []int32
	t          []int64
	fetched    int
	nullDrops  int
	scratch    []byte
	timeColumn string
}

func newBuilder(r *recipe.Recipe) *builder {
	b := &builder{dropNull: r.Cleansing.DropNullIDs, users: newIDTable(), items: newIDTable()}
	if r.Schema.TimeColumn != nil {
		b.hasTime = true
		b.timeColumn = *r.Schema.TimeColumn
		b.tp = timeParser{column: b.timeColumn}
		if r.Schema.TimeUnit != nil {
			b.tp.unit = unitNanos(*r.Schema.TimeUnit)
		}
	}
	return b
}

// Row implements source.Sink.
func (b *builder) Row(v []source.Value) error {
	b.fetched++
	if v[0].Kind == source.Null || v[1].Kind == source.Null {
		if b.dropNull {
			b.nullDrops++
			return nil
		}
	}
	b.scratch = idText(b.scratch[:0], v[0])
	u := b.users.intern(b.scratch)
	b.scratch = idText(b.scratch[:0], v[1])
	it := b.items.intern(b.scratch)
	if b.hasTime {
		ts, err := b.tp.parse(v[2], b.fetched)
		if err != nil {
			return err
		}
		b.t = append(b.t, ts)
	}
	b.u = append(b.u, u)
	b.i = append(b.i, it)
	return nil
}

func (b *builder) finish() *Interactions {
	d := &Interactions{User: b.u, Item: b.i, NRowsFetched: b.fetched}
	if b.hasTime {
		d.Time = b.t
		if d.Time == nil {
			d.Time = []int64{}
		}
	}
	return d
}

// remap renumbers ids into ascending byte order.
func remap(d *Interactions, b *builder) {
	var ur, ir []int32
	d.UserIDs, ur = b.users.sorted()
	d.ItemIDs, ir = b.items.sorted()
	for k := range d.User {
		d.User[k] = ur[d.User[k]]
		d.Item[k] = ir[d.Item[k]]
	}
}

// idText renders an id as its string form (ids are always strings).
// A null id kept with drop_null_ids: false reads "nan", as upstream's
// str(NaN) does.
func idText(dst []byte, v source.Value) []byte {
	switch v.Kind {
	case source.String:
		return append(dst, v.Str...)
	case source.Int, source.Time:
		return strconv.AppendInt(dst, v.Int, 10)
	case source.Float:
		return strconv.AppendFloat(dst, v.Float, 'g', -1, 64)
	case source.Bool:
		if v.Int != 0 {
			return append(dst, "True"...)
		}
		return append(dst, "False"...)
	}
	return append(dst, "nan"...)
}

// idTable interns id strings in first-seen order.
type idTable struct {
	index map[string]int32
	ids   []string
}

func newIDTable() idTable { return idTable{index: map[string]int32{}} }

func (t *idTable) intern(b []byte) int32 {
	if k, ok := t.index[string(b)]; ok {
		return k
	}
	s := string(b)
	k := int32(len(t.ids))
	t.index[s] = k
	t.ids = append(t.ids, s)
	return k
}

// sorted returns the ids in ascending byte order and old→new indexes.
func (t *idTable) sorted() ([]string, []int32) {
	order := make([]int32, len(t.ids))
	for k := range order {
		order[k] = int32(k)
	}
	slices.SortFunc(order, func(a, b int32) int {
		x, y := t.ids[a], t.ids[b]
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	ids := make([]string, len(order))
	re := make([]int32, len(order))
	for newIdx, old := range order {
		ids[newIdx] = t.ids[old]
		re[old] = int32(newIdx)
	}
	t.index = nil
	return ids, re
}

// dedup removes duplicate (user,item) rows per policy, keeping row order;
// it returns the number dropped.
func dedup(d *Interactions, policy string) int {
	if policy == recipe.DedupNone || len(d.User) == 0 {
		return 0
	}
	groups := groupByUser(d.User, maxPlus1(d.User))
	keep := make([]bool, len(d.User))
	var buf []int32
	for g := 0; g+1 < len(groups.start); g++ {
		rows := groups.rows[groups.start[g]:groups.start[g+1]]
		buf = append(buf[:0], rows...)
		slices.SortStableFunc(buf, func(a, b int32) int { return int(d.Item[a]) - int(d.Item[b]) })
		for k := 0; k < len(buf); {
			j := k
			for j+1 < len(buf) && d.Item[buf[j+1]] == d.Item[buf[k]] {
				j++
			}
			if policy == recipe.DedupKeepFirst {
				keep[buf[k]] = true
			} else {
				keep[buf[j]] = true
			}
			k = j + 1
		}
	}
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
