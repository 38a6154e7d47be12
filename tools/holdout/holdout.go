// Package holdout owns the writer of fixed train/test split files for
// quality comparisons run outside the product (the same two files fed to
// `recotem train` + `/predict` and to another library): a per-user
// time-based hold-out of an interaction CSV.
package holdout

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// ErrInput reports an unusable input file or ratio.
var ErrInput = errors.New("holdout: bad input")

// Stats counts what TimeUser wrote.
type Stats struct {
	Users, TestUsers, TrainRows, TestRows int
}

// TimeUser reads a CSV with a header naming userCol and timeCol (integer
// timestamps) and writes every row, header first and unchanged, to train or
// test: for each user with n rows, the ⌊h·n⌋ most recent rows (sorted by
// timestamp, ties by input order, later counts as more recent — the
// product's time_user scheme, algorithms.md §4.2) go to test, the rest to
// train. Users with n < 1/h keep all rows in train. Rows keep their input
// order within each file.
func TimeUser(r io.Reader, userCol, timeCol string, h float64, train, test io.Writer) (Stats, error) {
	if !(h > 0 && h < 1) {
		return Stats{}, fmt.Errorf("%w: heldout ratio %v, want 0 < h < 1", ErrInput, h)
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return Stats{}, fmt.Errorf("%w: header: %v", ErrInput, err)
	}
	ui, ti := slices.Index(header, userCol), slices.Index(header, timeCol)
	if ui < 0 || ti < 0 {
		return Stats{}, fmt.Errorf("%w: header %q lacks %q or %q", ErrInput, header, userCol, timeCol)
	}
	var rows [][]string
	var ts []int64
	byUser := map[string][]int{}
	var order []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Stats{}, fmt.Errorf("%w: %v", ErrInput, err)
		}
		line, _ := cr.FieldPos(0)
		t, err := strconv.ParseInt(rec[ti], 10, 64)
		if err != nil {
			return Stats{}, fmt.Errorf("%w: line %d: %s %q: %v", ErrInput, line, timeCol, rec[ti], err)
		}
		i := len(rows)
		rows, ts = append(rows, rec), append(ts, t)
		u := rec[ui]
		if _, ok := byUser[u]; !ok {
			order = append(order, u)
		}
		byUser[u] = append(byUser[u], i)
	}
	inTest := make([]bool, len(rows))
	st := Stats{Users: len(order)}
	for _, u := range order {
		idx := byUser[u]
		n := int(math.Floor(float64(len(idx)) * h))
		if n == 0 {
			continue
		}
		st.TestUsers++
		s := slices.Clone(idx)
		slices.SortStableFunc(s, func(a, b int) int { return cmp.Compare(ts[a], ts[b]) })
		for _, i := range s[len(s)-n:] {
			inTest[i] = true
		}
	}
	tw, sw := csv.NewWriter(train), csv.NewWriter(test)
	if err := tw.Write(header); err != nil {
		return st, err
	}
	if err := sw.Write(header); err != nil {
		return st, err
	}
	for i, rec := range rows {
		w := tw
		if inTest[i] {
			w, st.TestRows = sw, st.TestRows+1
		} else {
			st.TrainRows++
		}
		if err := w.Write(rec); err != nil {
			return st, err
		}
	}
	tw.Flush()
	sw.Flush()
	if err := cmp.Or(tw.Error(), sw.Error()); err != nil {
		return st, err
	}
	return st, nil
}
