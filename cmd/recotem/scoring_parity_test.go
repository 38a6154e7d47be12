package main

// Equality of the serving scorer (scoring) with the reference scorer
// (trainer/algo/refscore) for every algorithm, trained on MovieLens and
// written through trainer/artifact → format → scoring.Load. This is the one
// test that may import both trainer and scoring.
//
//	go test ./cmd/recotem -run ScoringParity -v

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/scoring"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/algo/factor"
	"github.com/recotem/recotem/trainer/algo/itemitem"
	"github.com/recotem/recotem/trainer/algo/refscore"
	"github.com/recotem/recotem/trainer/artifact"
	"github.com/recotem/recotem/trainer/sparse"
)

// movieLensPath finds ../shared/data/movielens/<name> relative to the
// repository root (the directory holding go.mod).
func movieLensPath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			testenv.Require(t, testenv.MovieLens, false, "repository root (go.mod) not found, so neither is ../shared/data/movielens beside it")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", "movielens", name)
	_, err = os.Stat(p)
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data absent: %v", err)
	return p
}

// loadRatings reads ratings.csv as implicit feedback (binary), keeping items
// with at least minCount ratings. Ids are sorted as strings (index order).
func loadRatings(t testing.TB, minCount int) (users, items []string, x *sparse.CSR) {
	t.Helper()
	f, err := os.Open(movieLensPath(t, "ratings.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pairs [][2]string
	count := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		if len(p) < 2 {
			t.Fatalf("bad line %q", sc.Text())
		}
		pairs = append(pairs, [2]string{p[0], p[1]})
		count[p[1]]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	uset, iset := map[string]bool{}, map[string]bool{}
	for _, p := range pairs {
		if count[p[1]] >= minCount {
			uset[p[0]], iset[p[1]] = true, true
		}
	}
	for u := range uset {
		users = append(users, u)
	}
	for i := range iset {
		items = append(items, i)
	}
	slices.Sort(users)
	slices.Sort(items)
	var r, c []int32
	for _, p := range pairs {
		if count[p[1]] < minCount {
			continue
		}
		ui, _ := slices.BinarySearch(users, p[0])
		ii, _ := slices.BinarySearch(items, p[1])
		r, c = append(r, int32(ui)), append(c, int32(ii))
	}
	x, err = sparse.FromTriplets(len(users), len(items), r, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return users, items, x.Binary()
}

func spec(t testing.TB, alias string) algo.Spec {
	for _, s := range append(factor.Specs(), itemitem.Specs()...) {
		if s.Alias == alias {
			return s
		}
	}
	t.Fatalf("no spec %q", alias)
	return algo.Spec{}
}

func fit(t testing.TB, alias string, p algo.Params, x *sparse.CSR) *algo.Model {
	t.Helper()
	r, err := spec(t, alias).New(p, 42)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Fit(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	return r.Model()
}

// serve writes m through the artifact writer and loads it for serving.
func serve(t testing.TB, m *algo.Model, users, items []string, x *sparse.CSR, q8 bool) *scoring.Model {
	t.Helper()
	b, fields, err := artifact.Build(m, users, items, x, artifact.Options{Q8: q8})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	key := format.Key{ID: "dev", Secret: make([]byte, 32)}
	if err := format.Encode(&buf, key, fields, b); err != nil {
		t.Fatal(err)
	}
	a, err := format.OpenBytes(buf.Bytes(), format.DevKeyRing(), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	sm, err := scoring.Load(a, scoring.Options{Q8: q8})
	if err != nil {
		t.Fatal(err)
	}
	return sm
}

func sameItems(t *testing.T, what string, got []scoring.Result, want []refscore.Item) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d items, reference %d", what, len(got), len(want))
	}
	for p, w := range want {
		g := got[p]
		if int(g.Item) != w.Index {
			t.Fatalf("%s: position %d is item %d (%g), reference %d (%g)", what, p, g.Item, g.Score, w.Index, w.Score)
		}
		if d := math.Abs(float64(g.Score) - w.Score); d > 1e-5*math.Abs(w.Score) && d > 1e-12 {
			t.Fatalf("%s: item %d score %g, reference %g (rel %g)", what, w.Index, g.Score, w.Score, d/math.Abs(w.Score))
		}
	}
}

func TestScoringParity(t *testing.T) {
	if testing.Short() {
		t.Skip("trains seven models on MovieLens; skipped in -short")
	}
	users, items, x := loadRatings(t, 1)
	smallU, smallI, smallX := loadRatings(t, 20) // DenseSLIM is O(I³)
	cases := []struct {
		alias string
		p     algo.Params
		small bool
	}{
		{"IALS", algo.Params{"n_components": 32, "alpha0": 0.1, "reg": 0.01, "train_epochs": 5}, false},
		{"TruncatedSVD", algo.Params{"n_components": 24}, false},
		{"BPRFM", algo.Params{"n_components": 32, "train_epochs": 3}, false},
		{"CosineKNN", algo.Params{"top_k": 50, "normalize": true, "shrinkage": 10.0}, false},
		{"RP3beta", algo.Params{"top_k": 50, "beta": 0.3}, false},
		{"DenseSLIM", algo.Params{"reg": 100.0}, true},
		{"TopPop", algo.Params{}, false},
	}
	for _, c := range cases {
		t.Run(c.alias, func(t *testing.T) {
			u, it, xx := users, items, x
			if c.small {
				u, it, xx = smallU, smallI, smallX
			}
			m := fit(t, c.alias, c.p, xx)
			sm := serve(t, m, u, it, xx, false)
			rng := rand.New(rand.NewPCG(42, uint64(len(c.alias))))
			var dst []scoring.Result
			var exclude []int32
			for uu := 0; uu < m.NUsers; uu++ {
				limit := []int{1, 10, 20, 100}[uu%4]
				exclude = exclude[:0]
				if uu%3 == 0 {
					for range 5 {
						exclude = append(exclude, int32(rng.IntN(m.NItems+10))-5) // some out of range
					}
				}
				dst = sm.Recommend(dst, uu, limit, exclude)
				want := refscore.Recommend(m, xx, uu, limit, exclude)
				sameItems(t, "user "+strconv.Itoa(uu), dst, want)
			}
			for trial := range 60 {
				seeds := make([]int32, 1+trial%5)
				for i := range seeds {
					seeds[i] = int32(rng.IntN(m.NItems))
				}
				if trial%7 == 0 {
					seeds = append(seeds, seeds[0], -1, int32(m.NItems)) // duplicate + unknown
				}
				got, err := sm.RecommendRelated(dst, seeds, 20, nil)
				want, werr := refscore.Related(m, seeds, 20, nil)
				if (err == nil) != (werr == nil) {
					t.Fatalf("seeds %v: err %v, reference %v", seeds, err, werr)
				}
				if err == nil {
					sameItems(t, "seeds "+fmtInts(seeds), got, want)
				}
				dst = got
			}
			if _, err := sm.RecommendRelated(dst, []int32{-1, int32(m.NItems)}, 10, nil); !errors.Is(err, scoring.ErrUnknownSeeds) {
				t.Fatalf("unknown seeds: %v", err)
			}
			batch := sm.BatchRecommend(nil, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 20)
			for i, b := range batch {
				sameItems(t, "batch user "+strconv.Itoa(i), b, refscore.Recommend(m, xx, i, 20, nil))
			}
		})
	}
}

func fmtInts(v []int32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(int(x))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// TestScoringQ8Recall measures recall@20 of the int8 first pass (with exact
// re-rank) against the exact float32 path on a MovieLens IALS model.
func TestScoringQ8Recall(t *testing.T) {
	if testing.Short() {
		t.Skip("trains IALS on MovieLens; skipped in -short")
	}
	users, items, x := loadRatings(t, 1)
	m := fit(t, "IALS", algo.Params{"n_components": 64, "alpha0": 0.1, "reg": 0.01, "train_epochs": 5}, x)
	exact := serve(t, m, users, items, x, false)
	q8 := serve(t, m, users, items, x, true)
	if !q8.Q8() || exact.Q8() {
		t.Fatalf("q8 flags: %v %v", q8.Q8(), exact.Q8())
	}
	var a, b []scoring.Result
	hit, total := 0, 0
	for u := 0; u < m.NUsers; u++ {
		a = exact.Recommend(a, u, 20, nil)
		b = q8.Recommend(b, u, 20, nil)
		for _, r := range a {
			total++
			if slices.ContainsFunc(b, func(s scoring.Result) bool { return s.Item == r.Item }) {
				hit++
			}
		}
	}
	recall := float64(hit) / float64(total)
	t.Logf("int8 first pass recall@20 vs exact on MovieLens IALS (k=64, %d users): %.4f", m.NUsers, recall)
	if recall < 0.99 {
		t.Fatalf("recall@20 %.4f < 0.99", recall)
	}
}
