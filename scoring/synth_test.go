package scoring

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/recotem/recotem/format"
)

// synth is a random model of one kind plus a plain float64 reference scorer
// written independently of the package's kernels.
type synth struct {
	kind     string
	nU, nI   int
	k        int
	uf, vf   []float32 // dense rows of k
	bias     []float32
	fold     FoldIn
	seen     [][]int32
	seenVal  [][]float32 // nil: binary
	simRows  [][]int32
	simVals  [][]float32
	dense    []float32 // nI×nI
	pop      []float64
	q8       bool
	userIDs  []string
	itemIDs  []string
	gram     []float32
	artifact *format.Artifact
}

func newSynth(rng *rand.Rand, kind string, nU, nI, k int, method string) *synth {
	s := &synth{kind: kind, nU: nU, nI: nI, k: k}
	for u := 0; u < nU; u++ {
		s.userIDs = append(s.userIDs, fmt.Sprintf("u%06d", u))
	}
	for i := 0; i < nI; i++ {
		s.itemIDs = append(s.itemIDs, fmt.Sprintf("i%06d", i))
	}
	counts := method == "counts"
	for u := 0; u < nU; u++ {
		var row []int32
		var val []float32
		for i := 0; i < nI; i++ {
			if rng.IntN(5) == 0 {
				row = append(row, int32(i))
				val = append(val, float32(1+rng.IntN(3)))
			}
		}
		s.seen = append(s.seen, row)
		if counts {
			s.seenVal = append(s.seenVal, val)
		}
	}
	switch kind {
	case KindFactor:
		s.uf = randF32(rng, nU*k)
		s.vf = randF32(rng, nI*k)
		s.fold = FoldIn{Method: method}
		if method == "mean" {
			s.bias = randF32(rng, nI)
		}
		if method == "ials_cg" {
			s.fold = FoldIn{Method: "ials_cg", Alpha0: 0.3, Reg: 1e-2, Nu: 1, LossType: "IALSPP", Confidence: "none", Epsilon: 1, CGSteps: k, NItemsTraining: nI}
			s.gram = make([]float32, k*k)
			for i := 0; i < nI; i++ {
				v := s.vf[i*k : (i+1)*k]
				for a := range k {
					for b := range k {
						s.gram[a*k+b] += v[a] * v[b]
					}
				}
			}
		}
	case KindSparseItem:
		for j := 0; j < nI; j++ {
			var row []int32
			var val []float32
			for i := 0; i < nI; i++ {
				if rng.IntN(4) == 0 {
					row = append(row, int32(i))
					val = append(val, float32(rng.Float64()))
				}
			}
			s.simRows = append(s.simRows, row)
			s.simVals = append(s.simVals, val)
		}
	case KindDenseItem:
		s.dense = randF32(rng, nI*nI)
	case KindPopularity:
		s.pop = make([]float64, nI)
		for i := range s.pop {
			s.pop[i] = float64(rng.IntN(10)) // many ties
		}
	}
	return s
}

// encode writes the synth as an artifact and opens it.
func (s *synth) open(t testing.TB, opt Options) *Model {
	t.Helper()
	b := format.NewBuilder()
	b.Strings("user_ids", s.userIDs)
	b.Strings("item_ids", s.itemIDs)
	ptr, idx, val := flatten(s.seen, s.seenVal)
	b.CSR("seen", ptr, idx, s.nI, val)
	h := Header{Kind: s.kind, NUsers: s.nU, NItems: s.nI, K: s.k}
	switch s.kind {
	case KindFactor:
		b.Matrix32("user_factors", s.nU, s.k, s.uf)
		b.Matrix32("item_factors", s.nI, s.k, s.vf)
		if s.bias != nil {
			b.F32("item_bias", s.bias)
			h.HasItemBias = true
		}
		if s.gram != nil {
			b.Matrix32("gram", s.k, s.k, s.gram)
		}
		fi := s.fold
		h.FoldIn = &fi
		if s.q8 {
			q := make([]int8, s.nI*s.k)
			sc := make([]float32, s.nI)
			quantize8(q, sc, s.vf, s.nI, s.k, s.k, s.k)
			b.MatrixI8("item_factors_q8", s.nI, s.k, q)
			b.F32("item_factors_q8.scale", sc)
			h.Q8 = true
		}
	case KindSparseItem:
		p, i, v := flatten(s.simRows, s.simVals)
		b.CSR("sim", p, i, s.nI, v)
	case KindDenseItem:
		b.Matrix32("dense_w", s.nI, s.nI, s.dense)
	case KindPopularity:
		b.F64("popularity", s.pop)
	}
	var buf bytes.Buffer
	if err := format.Encode(&buf, format.Key{ID: "dev", Secret: make([]byte, 32)}, map[string]any{"model": h}, b); err != nil {
		t.Fatal(err)
	}
	a, err := format.OpenBytes(buf.Bytes(), format.DevKeyRing(), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	s.artifact = a
	m, err := Load(a, opt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func flatten(rows [][]int32, vals [][]float32) ([]int64, []int32, []float32) {
	ptr := []int64{0}
	var idx []int32
	var val []float32
	for r, row := range rows {
		idx = append(idx, row...)
		if vals != nil {
			val = append(val, vals[r]...)
		}
		ptr = append(ptr, int64(len(idx)))
	}
	if idx == nil {
		idx = []int32{}
	}
	if vals != nil && val == nil {
		val = []float32{}
	}
	return ptr, idx, val
}

// refScores is the §2 score row of profile (idx, val) (val nil = 1.0) in
// float64; for factor models z is given.
func (s *synth) refScores(z []float64, idx []int32, val []float32) []float64 {
	out := make([]float64, s.nI)
	w := func(p int) float64 {
		if val == nil {
			return 1
		}
		return float64(val[p])
	}
	switch s.kind {
	case KindFactor:
		for i := range out {
			for f := 0; f < s.k; f++ {
				out[i] += float64(s.vf[i*s.k+f]) * z[f]
			}
			if s.bias != nil {
				out[i] += float64(s.bias[i])
			}
		}
	case KindSparseItem:
		for p, j := range idx {
			for q, c := range s.simRows[j] {
				out[c] += w(p) * float64(s.simVals[j][q])
			}
		}
	case KindDenseItem:
		for p, j := range idx {
			for c := 0; c < s.nI; c++ {
				out[c] += w(p) * float64(s.dense[int(j)*s.nI+c])
			}
		}
	case KindPopularity:
		copy(out, s.pop)
	}
	return out
}

// refFoldIn embeds a seed profile: projection, mean, or the exact solve of
// the IALS normal equations (the tests use CGSteps = k, where CG is exact
// up to rounding).
func (s *synth) refFoldIn(seeds []int32) []float64 {
	k := s.k
	z := make([]float64, k)
	row := func(j int32) []float32 { return s.vf[int(j)*k : int(j+1)*k] }
	switch s.fold.Method {
	case "projection", "mean":
		for _, j := range seeds {
			for f, v := range row(j) {
				z[f] += float64(v)
			}
		}
		if s.fold.Method == "mean" {
			for f := range z {
				z[f] /= float64(len(seeds))
			}
		}
	case "ials_cg":
		fi := s.fold
		lambda := fi.Reg * math.Pow(fi.Alpha0*float64(s.nI)+float64(len(seeds)), fi.Nu)
		a := make([]float64, k*(k+1)) // augmented [A | b]
		for r := range k {
			for c := range k {
				a[r*(k+1)+c] = fi.Alpha0 * float64(s.gram[r*k+c])
			}
			a[r*(k+1)+r] += lambda
		}
		for _, j := range seeds {
			v := row(j)
			for r := range k {
				for c := range k {
					a[r*(k+1)+c] += float64(v[r]) * float64(v[c])
				}
				a[r*(k+1)+k] += float64(v[r])
			}
		}
		// Gaussian elimination (A is SPD; no pivoting needed).
		for p := range k {
			for r := p + 1; r < k; r++ {
				f := a[r*(k+1)+p] / a[p*(k+1)+p]
				for c := p; c <= k; c++ {
					a[r*(k+1)+c] -= f * a[p*(k+1)+c]
				}
			}
		}
		for r := k - 1; r >= 0; r-- {
			x := a[r*(k+1)+k]
			for c := r + 1; c < k; c++ {
				x -= a[r*(k+1)+c] * z[c]
			}
			z[r] = x / a[r*(k+1)+r]
		}
	}
	return z
}

// refRank masks, skips non-finite scores and sorts by score desc, index asc.
func refRank(scores []float64, limit int, masked ...[]int32) []Result {
	m := map[int32]bool{}
	for _, l := range masked {
		for _, j := range l {
			m[j] = true
		}
	}
	var out []entry[float64]
	for i, s := range scores {
		if m[int32(i)] || math.IsInf(s, 0) || math.IsNaN(s) {
			continue
		}
		out = append(out, entry[float64]{s, int32(i)})
	}
	slices.SortFunc(out, func(a, b entry[float64]) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	res := []Result{}
	for p := 0; p < len(out) && p < limit; p++ {
		res = append(res, Result{Item: out[p].i, Score: float32(out[p].s)})
	}
	return res
}

func (s *synth) refRecommend(u, limit int, exclude []int32) []Result {
	var z []float64
	if s.kind == KindFactor {
		z = make([]float64, s.k)
		for f := range z {
			z[f] = float64(s.uf[u*s.k+f])
		}
	}
	var val []float32
	if s.seenVal != nil {
		val = s.seenVal[u]
	}
	return refRank(s.refScores(z, s.seen[u], val), limit, s.seen[u], exclude)
}

func (s *synth) refRelated(seeds []int32, limit int, exclude []int32) ([]Result, error) {
	var known []int32
	for _, j := range seeds {
		if j >= 0 && int(j) < s.nI {
			known = append(known, j)
		}
	}
	if len(known) == 0 {
		return nil, ErrUnknownSeeds
	}
	var z []float64
	if s.kind == KindFactor {
		z = s.refFoldIn(known)
		for f := range z { // the product rounds the embedding to float32
			z[f] = float64(float32(z[f]))
		}
	}
	res := refRank(s.refScores(z, known, nil), limit, known, exclude)
	if len(res) == 0 {
		return nil, ErrNoCandidates
	}
	return res, nil
}

// sameResults compares ids exactly and scores within rel relative (or rel
// absolute near zero).
func sameResults(t *testing.T, what string, got, want []Result, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d\n got %v\nwant %v", what, len(got), len(want), got, want)
	}
	for p := range want {
		g, w := got[p], want[p]
		d := math.Abs(float64(g.Score) - float64(w.Score))
		if g.Item != w.Item || d > rel*math.Max(1, math.Abs(float64(w.Score))) {
			t.Fatalf("%s: position %d = %+v, want %+v\n got %v\nwant %v", what, p, g, w, got, want)
		}
	}
}
