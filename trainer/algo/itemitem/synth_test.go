package itemitem

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"github.com/recotem/recotem/tools/synth"
	"github.com/recotem/recotem/trainer/sparse"
)

// synthCSR generates rows interactions over users×items with the product's
// power-law generator (tools/synth, Zipf exponent 1 for item popularity and
// user activity), and builds the binary matrix of the default keep_last
// dedup with ids indexed in sorted string order (algorithms.md §1).
func synthCSR(tb testing.TB, users, items, rows int, seed uint64) *sparse.CSR {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Users: users, Items: items, Rows: rows, Seed: seed}); err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")[1:]
	us := make([]string, len(lines))
	is := make([]string, len(lines))
	for k, l := range lines {
		f := strings.SplitN(l, ",", 3)
		us[k], is[k] = f[0], f[1]
	}
	index := func(ids []string) (map[string]int32, int) {
		u := append([]string(nil), ids...)
		sort.Strings(u)
		m := map[string]int32{}
		for _, s := range u {
			if _, ok := m[s]; !ok {
				m[s] = int32(len(m))
			}
		}
		return m, len(m)
	}
	um, nu := index(us)
	im, ni := index(is)
	r := make([]int32, len(lines))
	c := make([]int32, len(lines))
	for k := range lines {
		r[k], c[k] = um[us[k]], im[is[k]]
	}
	X, err := sparse.FromTriplets(nu, ni, r, c, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return X.Binary()
}
