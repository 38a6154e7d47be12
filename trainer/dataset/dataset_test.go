package dataset

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/source"
)

func ptr[T any](v T) *T { return &v }

func recipeFor(t *testing.T, csv string, mod func(r *recipe.Recipe)) *recipe.Recipe {
	t.Helper()
	p := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(p, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recipe.Recipe{
		Name:      "t",
		Source:    recipe.Source{Type: recipe.TypeCSV, CSV: &recipe.CSVSource{Type: "csv", Path: p, Delimiter: ",", Encoding: "utf-8"}},
		Schema:    recipe.Schema{UserColumn: "u", ItemColumn: "i"},
		Cleansing: recipe.Cleansing{DropNullIDs: true, Dedup: recipe.DedupKeepLast},
		Training:  recipe.Training{Split: recipe.Split{Scheme: recipe.SplitRandom, HeldoutRatio: 0.1, TestUserRatio: 1, Seed: 42}},
	}
	if mod != nil {
		mod(r)
	}
	return r
}

func withTime(unit string) func(*recipe.Recipe) {
	return func(r *recipe.Recipe) {
		r.Schema.TimeColumn = ptr("t")
		if unit != "" {
			r.Schema.TimeUnit = ptr(unit)
		}
	}
}

func ingest(t *testing.T, r *recipe.Recipe) *Interactions {
	t.Helper()
	d, err := Ingest(context.Background(), r, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rows renders kept rows as "user:item" by id.
func rows(d *Interactions) string {
	var s []string
	for k := range d.User {
		s = append(s, d.UserIDs[d.User[k]]+":"+d.ItemIDs[d.Item[k]])
	}
	return strings.Join(s, " ")
}

func TestIngestCleansing(t *testing.T) {
	const data = "u,i,t\nb,x,3\na,y,1\nb,x,5\n,z,2\nc,,4\na,y,6\n10,x,7\n"
	f := func(dedup string, dropNull bool, wantRows string, wantDrop int) {
		t.Helper()
		r := recipeFor(t, data, func(r *recipe.Recipe) {
			r.Cleansing.Dedup = dedup
			r.Cleansing.DropNullIDs = dropNull
			withTime("s")(r)
		})
		d := ingest(t, r)
		if got := rows(d); got != wantRows {
			t.Errorf("%s/%v: rows %q, want %q", dedup, dropNull, got, wantRows)
		}
		if d.DropCount != wantDrop || d.NRowsFetched != 7 {
			t.Errorf("%s/%v: drop %d fetched %d, want %d 7", dedup, dropNull, d.DropCount, d.NRowsFetched, wantDrop)
		}
		if !slices.IsSorted(d.UserIDs) || !slices.IsSorted(d.ItemIDs) || len(d.Time) != len(d.User) {
			t.Errorf("id maps not sorted or time misaligned: %v %v", d.UserIDs, d.ItemIDs)
		}
	}
	f(recipe.DedupKeepLast, true, "b:x a:y 10:x", 4)
	f(recipe.DedupKeepFirst, true, "b:x a:y 10:x", 4)
	f(recipe.DedupNone, true, "b:x a:y b:x a:y 10:x", 2)
	f(recipe.DedupNone, false, "b:x a:y b:x nan:z c:nan a:y 10:x", 0)

	// keep_first vs keep_last differ in which time survives.
	for _, c := range []struct {
		dedup string
		want  []int64
	}{{recipe.DedupKeepFirst, []int64{3, 1, 7}}, {recipe.DedupKeepLast, []int64{5, 6, 7}}} {
		d := ingest(t, recipeFor(t, data, func(r *recipe.Recipe) { r.Cleansing.Dedup = c.dedup; withTime("s")(r) }))
		for k, want := range c.want {
			if d.Time[k] != want*1e9 {
				t.Errorf("%s: time[%d] = %d, want %d", c.dedup, k, d.Time[k], want*1e9)
			}
		}
	}
	// Ids sort by bytes: "10" < "a" < "b".
	d := ingest(t, recipeFor(t, data, nil))
	if strings.Join(d.UserIDs, ",") != "10,a,b" {
		t.Errorf("user ids %v", d.UserIDs)
	}
	m := ingest(t, recipeFor(t, data, func(r *recipe.Recipe) { r.Cleansing.Dedup = recipe.DedupNone })).Matrix()
	if m.Rows != 3 || m.Cols != 2 || m.NNZ() != 3 || m.Data[1] != 2 {
		t.Errorf("matrix with counts: %+v", m)
	}
}

// Spec §10 items 11 and 12.
func TestIngestFailures(t *testing.T) {
	f := func(csv string, mod func(*recipe.Recipe), code string, wantMsg string) *failure.Error {
		t.Helper()
		_, err := Ingest(context.Background(), recipeFor(t, csv, mod), source.Options{})
		var fe *failure.Error
		if !errors.As(err, &fe) || fe.Code != code || failure.ExitCode(err) != 4 || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("error %v, want code %s exit 4 containing %q", err, code, wantMsg)
			return nil
		}
		return fe
	}
	const data = "u,i,t\na,x,1\nb,y,2\n"
	fe := f(data, func(r *recipe.Recipe) { r.Cleansing.MinRows = ptr(3) }, "min_data_violation", "2 rows after cleansing, below the required 3")
	if fe != nil && (fe.Fields["n_rows"] != 2 || fe.Fields["min_rows"] != 3) {
		t.Errorf("fields %v", fe.Fields)
	}
	f(data, func(r *recipe.Recipe) { r.Cleansing.MinUsers = ptr(5) }, "min_data_violation", "2 users")
	f(data, func(r *recipe.Recipe) { r.Cleansing.MinItems = ptr(3) }, "min_data_violation", "2 items")
	f(data, withTime(""), "time_unit_required", `time column "t" is numeric`)
	f("u,i,t\na,x,yesterday\n", withTime(""), "time_column_parse_error", "data row 1")
	if _, err := Ingest(context.Background(), recipeFor(t, data, func(r *recipe.Recipe) { r.Cleansing.MinRows = ptr(2) }), source.Options{}); err != nil {
		t.Errorf("min_rows equal to n_rows must pass: %v", err)
	}
}

func TestTimeParsing(t *testing.T) {
	f := func(cell, unit string, want int64) {
		t.Helper()
		d, err := Ingest(context.Background(), recipeFor(t, "u,i,t\na,x,"+cell+"\n", withTime(unit)), source.Options{})
		if err != nil {
			t.Errorf("%q: %v", cell, err)
			return
		}
		if d.Time[0] != want {
			t.Errorf("%q %s: %d, want %d", cell, unit, d.Time[0], want)
		}
	}
	f("1700000000", "s", 1700000000e9)
	f("1700000000123", "ms", 1700000000123e6)
	f("1700000000123456", "us", 1700000000123456e3)
	f("1700000000123456789", "ns", 1700000000123456789)
	f("1.5", "s", 1500000000)
	f("2024-01-02", "", 1704153600e9)
	f("2024-01-02T03:04:05Z", "", 1704164645e9)
	f("2024-01-02 03:04:05", "", 1704164645e9)
	f("2024-01-02T05:04:05+02:00", "", 1704164645e9)
	f("\"2024-01-02T03:04:05.5Z\"", "", 1704164645e9+5e8)
}

func synthetic(t *testing.T, nUsers, perUser int, mod func(*recipe.Recipe)) *Interactions {
	t.Helper()
	var b strings.Builder
	b.WriteString("u,i,t\n")
	ts := 0
	for u := 0; u < nUsers; u++ {
		for k := 0; k < perUser+u%3; k++ {
			ts++
			b.WriteString("u" + strconv.Itoa(u) + ",i" + strconv.Itoa((u*7+k*3)%40) + "," + strconv.Itoa(ts%97) + "\n")
		}
	}
	return ingest(t, recipeFor(t, b.String(), func(r *recipe.Recipe) {
		withTime("s")(r)
		if mod != nil {
			mod(r)
		}
	}))
}

func TestSplitRandomAndTimeUser(t *testing.T) {
	d := synthetic(t, 50, 10, nil)
	m := d.Matrix()
	for _, scheme := range []string{recipe.SplitRandom, recipe.SplitTimeUser} {
		s := recipe.Split{Scheme: scheme, HeldoutRatio: 0.2, TestUserRatio: 1, Seed: 7}
		sp, err := SplitData(d, s, true)
		if err != nil {
			t.Fatal(err)
		}
		if sp.Offset != 0 || sp.Heldout.Rows != 50 || sp.Search.Rows != 50 {
			t.Errorf("%s: offset %d heldout rows %d", scheme, sp.Offset, sp.Heldout.Rows)
		}
		for row, u := range sp.Users {
			n := m.RowLen(int(u)) // deduplicated pairs of user u
			k := int(math.Floor(float64(n) * 0.2))
			if got := sp.Heldout.RowLen(row - sp.Offset); got != k {
				t.Errorf("%s: user %d holds out %d, want floor(0.2*%d)=%d", scheme, u, got, n, k)
			}
			if sp.Search.RowLen(row)+k != n {
				t.Errorf("%s: user %d keeps %d of %d", scheme, u, sp.Search.RowLen(row), n)
			}
		}
		again, _ := SplitData(d, s, true)
		if !slices.Equal(again.Heldout.Indices, sp.Heldout.Indices) {
			t.Errorf("%s: not deterministic for a seed", scheme)
		}
		if scheme == recipe.SplitRandom {
			s.Seed = 8
			other, _ := SplitData(d, s, true)
			if slices.Equal(other.Heldout.Indices, sp.Heldout.Indices) {
				t.Errorf("random: seed has no effect")
			}
		}
	}
	// time_user holds out each user's latest rows.
	d2 := ingest(t, recipeFor(t, "u,i,t\na,x,5\na,y,1\na,z,9\na,w,3\na,v,7\n", withTime("s")))
	sp, err := SplitData(d2, recipe.Split{Scheme: recipe.SplitTimeUser, HeldoutRatio: 0.4, TestUserRatio: 1, Seed: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, c := range sp.Heldout.Indices {
		held = append(held, d2.ItemIDs[c])
	}
	if strings.Join(held, ",") != "v,z" {
		t.Errorf("time_user held out %v, want the two latest (v,z)", held)
	}
	// test_user_ratio picks floor(U*r) validation users.
	sp, err = SplitData(d, recipe.Split{Scheme: recipe.SplitRandom, HeldoutRatio: 0.2, TestUserRatio: 0.3, Seed: 1}, true)
	if err != nil || sp.Offset != 35 || sp.Heldout.Rows != 15 {
		t.Errorf("test_user_ratio: %v offset %d", err, sp.Offset)
	}
}

func TestSplitTimeGlobal(t *testing.T) {
	d := ingest(t, recipeFor(t, "u,i,t\na,x,1\na,y,2\nb,x,3\nb,z,4\nc,y,5\nc,x,6\nd,z,7\nd,y,8\ne,x,9\ne,y,10\n", withTime("s")))
	sp, err := SplitData(d, recipe.Split{Scheme: recipe.SplitTimeGlobal, HeldoutRatio: 0.25, TestUserRatio: 1, Seed: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	// t* = quantile 0.75 of 1..10 = 7.75: rows 8, 9, 10 are held out; users d, e validate.
	if sp.Offset != 3 || sp.Heldout.NNZ() != 3 || sp.Search.NNZ() != 7 {
		t.Errorf("offset %d heldout %d search %d", sp.Offset, sp.Heldout.NNZ(), sp.Search.NNZ())
	}
	if d.UserIDs[sp.Users[3]] != "d" || sp.Search.RowLen(3) != 1 || sp.Search.RowLen(4) != 0 {
		t.Errorf("validation users' kept rows wrong: users %v", sp.Users)
	}
}

func TestSplitErrors(t *testing.T) {
	d := ingest(t, recipeFor(t, "u,i\na,x\nb,y\n", nil))
	_, err := SplitData(d, recipe.Split{Scheme: recipe.SplitRandom, HeldoutRatio: 0.1, TestUserRatio: 1, Seed: 1}, false)
	if failure.CodeOf(err) != "split_error" || failure.ExitCode(err) != 4 || !errors.Is(err, ErrSplit) {
		t.Errorf("empty held-out: %v", err)
	}
	_, err = SplitData(d, recipe.Split{Scheme: recipe.SplitTimeUser, HeldoutRatio: 0.1, TestUserRatio: 1, Seed: 1}, false)
	if failure.CodeOf(err) != "split_error" {
		t.Errorf("time scheme without time: %v", err)
	}
}

func repoRoot(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func movielens(t testing.TB) *recipe.Recipe {
	root := repoRoot(t)
	_, err := os.Stat(filepath.Join(root, "../shared/data/movielens/ratings.csv"))
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data absent: %v", err)
	r, err := recipe.Load(filepath.Join(root, "examples/movielens/recipe.yaml"), recipe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Source.CSV.Path = filepath.Join(root, r.Source.CSV.Path)
	return r
}

func TestMovieLens(t *testing.T) {
	r := movielens(t)
	d := ingest(t, r)
	if d.NRows() != 100004 || len(d.UserIDs) != 671 || len(d.ItemIDs) != 9066 || d.DropCount != 0 {
		t.Errorf("rows %d users %d items %d drop %d", d.NRows(), len(d.UserIDs), len(d.ItemIDs), d.DropCount)
	}
	sp, err := SplitData(d, r.Training.Split, true)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Offset != 0 || sp.Search.NNZ()+sp.Heldout.NNZ() != d.NRows() {
		t.Errorf("split: offset %d nnz %d+%d", sp.Offset, sp.Search.NNZ(), sp.Heldout.NNZ())
	}
}
