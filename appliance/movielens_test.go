package appliance

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/testenv"
)

// repoRoot walks up from the working directory to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
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

// TestMovieLensPopularity serves a popularity model built from the real
// MovieLens ratings and checks /predict and :recommend against a brute-force
// ranking: no item of the user's training row, popularity descending, ties
// to the lower item index, exclude_items masked before the cut.
func TestMovieLensPopularity(t *testing.T) {
	path := filepath.Join(repoRoot(t), "..", "shared", "data", "movielens", "ratings.csv")
	f, err := os.Open(path)
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data not available at %s: %v", path, err)
	defer f.Close()
	r := csv.NewReader(f)
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	seenSet := map[string]map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if seenSet[rec[0]] == nil {
			seenSet[rec[0]] = map[string]bool{}
		}
		seenSet[rec[0]][rec[1]] = true
	}
	m := testModel{Seen: map[string][]string{}}
	itemSet := map[string]bool{}
	for u, items := range seenSet {
		m.Users = append(m.Users, u)
		for it := range items {
			itemSet[it] = true
			m.Seen[u] = append(m.Seen[u], it)
		}
	}
	for it := range itemSet {
		m.Items = append(m.Items, it)
	}
	sort.Strings(m.Users)
	sort.Strings(m.Items)
	idx := map[string]int{}
	for i, it := range m.Items {
		idx[it] = i
	}
	m.Pop = make([]float64, len(m.Items))
	for _, items := range seenSet {
		for it := range items {
			m.Pop[idx[it]]++
		}
	}
	h := newHarness(t)
	h.recipe("ml", "movielens", "")
	h.artifact("movielens", m)
	h.start()

	brute := func(u string, limit int, exclude map[string]bool) string {
		order := make([]int, len(m.Items))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return m.Pop[order[a]] > m.Pop[order[b]] })
		var out []string
		for _, i := range order {
			it := m.Items[i]
			if seenSet[u][it] || exclude[it] {
				continue
			}
			out = append(out, it)
			if len(out) == limit {
				break
			}
		}
		return strings.Join(out, ",")
	}
	for k, u := range m.Users {
		if k%13 != 0 {
			continue
		}
		got := decode(t, h.post("/predict/movielens", fmt.Sprintf(`{"user_id":%q,"cutoff":20}`, u)))
		ids := itemIDs(t, got["items"])
		for _, it := range ids {
			if seenSet[u][it] {
				t.Fatalf("user %s got training item %s", u, it)
			}
		}
		if want := brute(u, 20, nil); strings.Join(ids, ",") != want {
			t.Fatalf("user %s: got %v want %s", u, ids, want)
		}
		ex := map[string]bool{ids[0]: true, ids[3]: true}
		got = decode(t, h.post("/v1/recipes/movielens:recommend", fmt.Sprintf(`{"user_id":%q,"limit":20,"exclude_items":[%q,%q]}`, u, ids[0], ids[3])))
		if g, want := strings.Join(itemIDs(t, got["items"]), ","), brute(u, 20, ex); g != want {
			t.Fatalf("user %s exclude: got %s want %s", u, g, want)
		}
	}
}
