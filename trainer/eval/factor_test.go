package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/algo/refscore"
	"github.com/recotem/recotem/trainer/sparse"
)

// randFactorModel returns a factor model with Gaussian factors; every 7th
// item has a zero vector (score exactly 0 for everyone, like items never
// seen in training), so index tie-breaks are exercised.
func randFactorModel(rng *rand.Rand, users, items, k int, bias bool) *algo.Model {
	m := &algo.Model{Kind: algo.KindFactor, NUsers: users, NItems: items, K: k,
		UserFactors: make([]float32, users*k), ItemFactors: make([]float32, items*k)}
	for i := range m.UserFactors {
		m.UserFactors[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < items; i++ {
		if i%7 == 3 {
			continue
		}
		for f := 0; f < k; f++ {
			m.ItemFactors[i*k+f] = float32(rng.NormFloat64())
		}
	}
	if bias {
		m.ItemBias = make([]float32, items)
		for i := range m.ItemBias {
			if i%7 != 3 {
				m.ItemBias[i] = float32(rng.NormFloat64())
			}
		}
	}
	return m
}

// randInteractions draws a users×items matrix with about density·items
// entries per row.
func randInteractions(rng *rand.Rand, users, items int, density float64) (*sparse.CSR, error) {
	var r, c []int32
	for u := 0; u < users; u++ {
		n := int(density * float64(items) * (0.2 + 1.6*rng.Float64()))
		for range n {
			r, c = append(r, int32(u)), append(c, int32(rng.IntN(items)))
		}
	}
	x, err := sparse.FromTriplets(users, items, r, c, nil)
	if err != nil {
		return nil, err
	}
	return x.Binary(), nil
}

// TestFactorScorerMatchesReference checks the panel scorer row by row
// against refscore.ScoreUser (float64 accumulation) — for user blocks that
// are not a multiple of 4, catalogues that are not a multiple of 16 and
// several cache passes — and that Evaluate's metrics equal the per-user
// reference path.
func TestFactorScorerMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 5))
	for _, tc := range []struct {
		users, items, k int
		bias            bool
	}{{40, 50, 1, false}, {60, 2348, 7, true}, {50, 700, 33, false}, {30, 4101, 81, true}, {37, 3000, 300, false}} {
		t.Run(fmt.Sprintf("U%d_I%d_k%d_bias%v", tc.users, tc.items, tc.k, tc.bias), func(t *testing.T) {
			m := randFactorModel(rng, tc.users, tc.items, tc.k, tc.bias)
			fs := newFactorScorer(m)
			if tc.k == 300 && fs.chunk >= fs.nPanels {
				t.Fatalf("k 300: one cache pass of %d panels covers all %d; the case is meant to need several", fs.chunk, fs.nPanels)
			}
			tile := fs.newBlockScores()
			got := make([]float64, tc.items)
			want := make([]float64, tc.items)
			for u0 := 0; u0 < tc.users; u0 += 7 { // blocks of 7 users: 4 + 3 padded rows
				var users []int
				for u := u0; u < min(u0+7, tc.users); u++ {
					users = append(users, u)
				}
				fs.scoreBlock(users, tile)
				for i, u := range users {
					tile.row(i, m.ItemBias, got)
					refscore.ScoreUser(m, u, nil, nil, want)
					for i := range want {
						if d := math.Abs(got[i] - want[i]); d > 1e-5*(1+math.Sqrt(float64(tc.k))) {
							t.Fatalf("user %d item %d: blocked %g, reference %g", u, i, got[i], want[i])
						}
						if want[i] == 0 && got[i] != 0 {
							t.Fatalf("user %d item %d: exact zero score became %g", u, i, got[i])
						}
					}
				}
			}
			train, err := randInteractions(rng, tc.users, tc.items, 0.05)
			if err != nil {
				t.Fatal(err)
			}
			held, err := randInteractions(rng, tc.users-5, tc.items, 0.02)
			if err != nil {
				t.Fatal(err)
			}
			fast, err := evaluate(context.Background(), m, train, held, 5, 20, true)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := evaluate(context.Background(), m, train, held, 5, 20, false)
			if err != nil {
				t.Fatal(err)
			}
			if fast != ref {
				t.Fatalf("blocked %+v, reference %+v", fast, ref)
			}
			if fast.ValidUsers == 0 {
				t.Fatal("no valid users: test is vacuous")
			}
		})
	}
}

// BenchmarkEvaluateFactor times Evaluate on a factor model with the
// blocked float32 scorer and with the per-user float64 reference path, at
// MovieLens-100k shape (943 users × 1682 items, k 81) and a larger catalogue.
// It reports users/s and ns/user (held-out users scored and ranked).
func BenchmarkEvaluateFactor(b *testing.B) {
	for _, sh := range []struct{ users, items, k int }{{943, 1682, 81}, {2000, 20000, 64}, {2000, 20000, 300}} {
		rng := rand.New(rand.NewPCG(1, 1))
		m := randFactorModel(rng, sh.users, sh.items, sh.k, false)
		train, err := randInteractions(rng, sh.users, sh.items, 0.05)
		if err != nil {
			b.Fatal(err)
		}
		held, err := randInteractions(rng, sh.users, sh.items, 0.01)
		if err != nil {
			b.Fatal(err)
		}
		for _, blocked := range []bool{true, false} {
			name := map[bool]string{true: "blocked", false: "per-user"}[blocked]
			b.Run(fmt.Sprintf("U%d_I%d_k%d/%s", sh.users, sh.items, sh.k, name), func(b *testing.B) {
				var users int
				for b.Loop() {
					s, err := evaluate(context.Background(), m, train, held, 0, 20, blocked)
					if err != nil {
						b.Fatal(err)
					}
					users += s.ValidUsers
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(users)/sec, "users/s")
				b.ReportMetric(sec*1e9/float64(users), "ns/user")
			})
		}
	}
}

// TestTopKMatchesRefscore compares topK with refscore.AppendTopK on rows with
// many ties, -Inf masks, +Inf and NaN.
func TestTopKMatchesRefscore(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var h []int
	for trial := 0; trial < 2000; trial++ {
		n := rng.IntN(60)
		s := make([]float64, n)
		for i := range s {
			switch rng.IntN(10) {
			case 0:
				s[i] = math.Inf(-1)
			case 1:
				s[i] = math.Inf(1)
			case 2:
				s[i] = math.NaN()
			default:
				s[i] = float64(rng.IntN(6)) // many ties
			}
		}
		k := rng.IntN(n + 3)
		var got []int
		got, h = topK(nil, s, k, h)
		want := refscore.AppendTopK(nil, s, k)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scores %v k %d: topK %v, refscore %v", s, k, got, want)
		}
	}
}
