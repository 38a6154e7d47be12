package dataset

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
)

// refIngest is the plain ingest the builder must equal: rows one at a
// time, ids as strings in a map, id maps sorted at the end, dedup with a
// map of (user,item) pairs.
func refIngest(ctx context.Context, r *recipe.Recipe, opt source.Options) (*Interactions, error) {
	src, err := source.New(r, opt)
	if err != nil {
		return nil, err
	}
	ref := newRefBuilder(r)
	if err := src.Fetch(ctx, source.SinkFunc(ref.row)); err != nil {
		return nil, err
	}
	d := ref.finish(r.Cleansing.Dedup)
	if err := checkMin(d, r.Cleansing); err != nil {
		return nil, err
	}
	return d, nil
}

type refRow struct {
	u, i string
	t    int64
}

type refBuilder struct {
	r         *recipe.Recipe
	tp        timeParser
	rows      []refRow
	fetched   int
	nullDrops int
}

func newRefBuilder(r *recipe.Recipe) *refBuilder {
	ref := &refBuilder{r: r}
	if tc := r.Schema.TimeColumn; tc != nil {
		ref.tp.column = *tc
		if r.Schema.TimeUnit != nil {
			ref.tp.unit = unitNanos(*r.Schema.TimeUnit)
		}
	}
	return ref
}

func (ref *refBuilder) row(v []source.Value) error {
	ref.fetched++
	if (v[0].Kind == source.Null || v[1].Kind == source.Null) && ref.r.Cleansing.DropNullIDs {
		ref.nullDrops++
		return nil
	}
	row := refRow{u: string(idText(nil, v[0])), i: string(idText(nil, v[1]))}
	if ref.r.Schema.TimeColumn != nil {
		t, err := ref.tp.parse(v[2], ref.fetched)
		var re *rowError
		if errors.As(err, &re) {
			return timeFailure(re.column, re.row, re.why)
		}
		if err != nil {
			return err
		}
		row.t = t
	}
	ref.rows = append(ref.rows, row)
	return nil
}

func (ref *refBuilder) finish(policy string) *Interactions {
	d := &Interactions{NRowsFetched: ref.fetched}
	index := func(get func(refRow) string) ([]string, map[string]int32) {
		seen := map[string]bool{}
		var ids []string
		for _, row := range ref.rows {
			if s := get(row); !seen[s] {
				seen[s] = true
				ids = append(ids, s)
			}
		}
		slices.Sort(ids)
		m := map[string]int32{}
		for k, s := range ids {
			m[s] = int32(k)
		}
		return ids, m
	}
	var um, im map[string]int32
	d.UserIDs, um = index(func(r refRow) string { return r.u })
	d.ItemIDs, im = index(func(r refRow) string { return r.i })
	keepAt := map[[2]string]int{}
	for k, row := range ref.rows {
		key := [2]string{row.u, row.i}
		if _, ok := keepAt[key]; !ok || policy == recipe.DedupKeepLast {
			keepAt[key] = k
		}
	}
	if ref.r.Schema.TimeColumn != nil {
		d.Time = []int64{}
	}
	for k, row := range ref.rows {
		if policy != recipe.DedupNone && keepAt[[2]string{row.u, row.i}] != k {
			continue
		}
		d.User = append(d.User, um[row.u])
		d.Item = append(d.Item, im[row.i])
		if d.Time != nil {
			d.Time = append(d.Time, row.t)
		}
	}
	d.DropCount = ref.nullDrops + len(ref.rows) - len(d.User)
	return d
}

// sameInteractions reports how got differs from want ("" if it does not).
func sameInteractions(got, want *Interactions, gotErr, wantErr error) string {
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		return fmt.Sprintf("error %v, want %v", gotErr, wantErr)
	}
	if gotErr != nil {
		return ""
	}
	switch {
	case !slices.Equal(got.UserIDs, want.UserIDs):
		return fmt.Sprintf("user ids %q, want %q", got.UserIDs, want.UserIDs)
	case !slices.Equal(got.ItemIDs, want.ItemIDs):
		return fmt.Sprintf("item ids %q, want %q", got.ItemIDs, want.ItemIDs)
	case !slices.Equal(got.User, want.User) || !slices.Equal(got.Item, want.Item) || (got.User == nil) != (want.User == nil):
		return fmt.Sprintf("rows %v/%v, want %v/%v", got.User, got.Item, want.User, want.Item)
	case !slices.Equal(got.Time, want.Time) || (got.Time == nil) != (want.Time == nil):
		return fmt.Sprintf("times %v, want %v", got.Time, want.Time)
	case got.NRowsFetched != want.NRowsFetched || got.DropCount != want.DropCount:
		return fmt.Sprintf("fetched %d drop %d, want %d %d", got.NRowsFetched, got.DropCount, want.NRowsFetched, want.DropCount)
	}
	return ""
}

// chunked feeds rows to a builder the way a parallel source does: cut
// into chunks at random, on workers at random, workers running at once.
func chunked(r *recipe.Recipe, rows [][]source.Value, rng *rand.Rand, workers int) (*Interactions, error) {
	b := newBuilder(r)
	type job struct{ seq, lo, hi int }
	perWorker := make([][]job, workers)
	seq := 0
	for lo := 0; ; {
		hi := min(len(rows), lo+rng.IntN([]int{8, 80}[rng.IntN(2)])) // some chunks span lookup batches
		w := rng.IntN(workers)
		perWorker[w] = append(perWorker[w], job{seq, lo, hi})
		seq++
		if lo = hi; lo == len(rows) {
			break
		}
	}
	errs := make([]error, seq)
	var wg sync.WaitGroup
	for w, jobs := range perWorker {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range jobs {
				s := b.Chunk(w, j.seq)
				for _, row := range rows[j.lo:j.hi] {
					if err := s.Row(row); err != nil {
						errs[j.seq] = err
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, b.resolve(err)
		}
	}
	d := b.finish()
	d.DropCount = b.nullDrops() + dedup(d, r.Cleansing.Dedup)
	return d, nil
}

func sequential(r *recipe.Recipe, rows [][]source.Value) (*Interactions, error) {
	ref := newRefBuilder(r)
	for _, row := range rows {
		if err := ref.row(row); err != nil {
			return nil, err
		}
	}
	return ref.finish(r.Cleansing.Dedup), nil
}

// randomValue draws an id cell of any kind, from a small pool so that ids
// repeat; the pool has texts that look like numbers and numbers that
// render like texts of other rows.
func randomValue(rng *rand.Rand) source.Value {
	texts := []string{"0", "00", "007", "7", "-7", "+7", "1e3", "1000", "u1", "u10", "u2", "", "a\x00", "a",
		"abcdefgh", "abcdefghi", "abcdefghij", "a-rather-long-item-identifier", "4194304", "4194303",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "1234567890123456789", "é", "NaN"}
	switch rng.IntN(10) {
	case 0:
		return source.Value{Kind: source.Null}
	case 1:
		return source.Value{Kind: source.Int, Int: []int64{0, 7, -7, 1000, 4194304, 1 << 40}[rng.IntN(6)]}
	case 2:
		return source.Value{Kind: source.Float, Float: []float64{7, 7.5, -0.0, 1e3, 1e21}[rng.IntN(5)]}
	case 3:
		return source.Value{Kind: source.Bool, Int: int64(rng.IntN(2))}
	}
	return source.Value{Kind: source.String, Str: []byte(texts[rng.IntN(len(texts))])}
}

func TestBuilderChunksMatchSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := rng.IntN(200)
		rows := make([][]source.Value, n)
		for k := range rows {
			tv := source.Value{Kind: source.String, Str: []byte(strconv.Itoa(rng.IntN(50)))}
			switch rng.IntN(40) {
			case 0:
				tv = source.Value{Kind: source.String, Str: []byte("yesterday")}
			case 1:
				tv = source.Value{Kind: source.Null}
			case 2:
				tv = source.Value{Kind: source.Time, Int: 5}
			}
			rows[k] = []source.Value{randomValue(rng), randomValue(rng), tv}
		}
		for _, policy := range []string{recipe.DedupKeepLast, recipe.DedupKeepFirst, recipe.DedupNone} {
			r := &recipe.Recipe{Cleansing: recipe.Cleansing{DropNullIDs: trial%3 != 0, Dedup: policy}}
			if trial%4 != 0 {
				r.Schema.TimeColumn, r.Schema.TimeUnit = ptr("t"), ptr("s")
			}
			want, wantErr := sequential(r, rows)
			for _, workers := range []int{1, 2, 3, 5} {
				got, gotErr := chunked(r, rows, rng, workers)
				if diff := sameInteractions(got, want, gotErr, wantErr); diff != "" {
					t.Fatalf("trial %d %s, %d workers: %s", trial, policy, workers, diff)
				}
			}
		}
	}
}

// TestIngestMatchesReference ingests CSV files (large enough for several
// parallel blocks) and compares with refIngest.
func TestIngestMatchesReference(t *testing.T) {
	var big strings.Builder
	big.WriteString("u,i,t\n")
	rng := rand.New(rand.NewPCG(3, 4))
	for k := 0; big.Len() < 3<<20; k++ {
		u := rng.IntN(50000)
		switch rng.IntN(3) {
		case 0:
			fmt.Fprintf(&big, "%d,%d,%d\n", u, rng.IntN(3000), k)
		case 1:
			fmt.Fprintf(&big, "user-%d,item-%d,%d\r\n", u, rng.IntN(3000), k)
		default:
			fmt.Fprintf(&big, "%07d,%d,%d\n", u, rng.IntN(30)<<23, k)
		}
		if k%10007 == 0 {
			big.WriteString("\nNA,x,1\n,,2\n")
		}
	}
	bigText := big.String()
	quoted := bigText[:len(bigText)/2] + "\"q,1\",\"i\n2\",5\n" + bigText[len(bigText)/2:]
	badTime := bigText[:len(bigText)*3/4] + "late,x,yesterday\n" + bigText[len(bigText)*3/4:]
	cases := map[string]string{
		"small":          "u,i,t\nb,x,3\na,y,1\nb,x,5\n,z,2\nc,,4\na,y,6\n10,x,7\n",
		"numeric":        "u,i,t\n10,2,1\n9,2,2\n10,2,3\n010,02,4\n0,0,5\n",
		"big":            bigText,
		"big quoted":     quoted,
		"big bad time":   badTime,
		"big no newline": strings.TrimSuffix(bigText, "\n"),
	}
	for name, data := range cases {
		p := filepath.Join(t.TempDir(), "d.csv")
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		for k, policy := range []string{recipe.DedupKeepLast, recipe.DedupKeepFirst, recipe.DedupNone} {
			for _, timed := range []bool{true, false} {
				if len(data) > 1<<20 && (k == 1 || timed != (k == 0)) {
					continue // big files: keep_last with time, none without
				}
				r := recipeFor(t, "", func(r *recipe.Recipe) {
					r.Source.CSV.Path = p
					r.Cleansing.Dedup = policy
					if timed {
						withTime("s")(r)
					}
				})
				got, gotErr := Ingest(context.Background(), r, source.Options{})
				want, wantErr := refIngest(context.Background(), r, source.Options{})
				if diff := sameInteractions(got, want, gotErr, wantErr); diff != "" {
					t.Errorf("%s %s time %v: %s", name, policy, timed, diff)
				}
			}
		}
	}
}

func FuzzIngest(f *testing.F) {
	f.Add([]byte("b,x,3\na,y,1\nb,x,5\n,z,2\nc,,4\na,y,6\n10,x,7\n"), uint8(0))
	f.Add([]byte("10,2,1\n9,\"2\",2\r\n010,02,4\n\n0,0,yesterday\n"), uint8(5))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		p := filepath.Join(t.TempDir(), "d.csv")
		if err := os.WriteFile(p, append([]byte("u,i,t\n"), body...), 0o644); err != nil {
			t.Fatal(err)
		}
		r := recipeFor(t, "", func(r *recipe.Recipe) {
			r.Source.CSV.Path = p
			r.Cleansing.Dedup = []string{recipe.DedupKeepLast, recipe.DedupKeepFirst, recipe.DedupNone}[int(mode)%3]
			r.Cleansing.DropNullIDs = mode&4 == 0
			if mode&8 == 0 {
				withTime("s")(r)
			}
		})
		got, gotErr := Ingest(context.Background(), r, source.Options{})
		want, wantErr := refIngest(context.Background(), r, source.Options{})
		if diff := sameInteractions(got, want, gotErr, wantErr); diff != "" {
			t.Fatal(diff)
		}
	})
}

func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0", "-0", "+0", "12", "-12", "+12", "", "+", "-", "1_0", "0x1", " 1", "1 ",
		"999999999999999999", "-999999999999999999", "9223372036854775807", "-9223372036854775808", "1e3", "٣"} {
		got, ok := parseDecimal([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if ok && (err != nil || got != want) {
			t.Errorf("%q: %d, strconv %d %v", s, got, want, err)
		}
		if !ok && err == nil && len(strings.TrimLeft(s, "+-")) <= 18 {
			t.Errorf("%q: rejected, strconv reads %d", s, want)
		}
	}
	for _, s := range []string{"0", "7", "10", "9999999999999999999", "1234567890123456789"} {
		if n, ok := canonicalUint([]byte(s)); !ok || strconv.FormatUint(n, 10) != s {
			t.Errorf("canonicalUint(%q) = %d %v", s, n, ok)
		}
	}
	for _, s := range []string{"", "00", "07", "-1", "+1", "1a", "18446744073709551615", "18446744073709551616", "99999999999999999999"} {
		if n, ok := canonicalUint([]byte(s)); ok {
			t.Errorf("canonicalUint(%q) = %d, want not canonical", s, n)
		}
	}
}
