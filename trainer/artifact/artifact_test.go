package artifact

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

func open(t *testing.T, b *format.Builder, fields map[string]any) *format.Artifact {
	t.Helper()
	var buf bytes.Buffer
	if err := format.Encode(&buf, format.Key{ID: "dev", Secret: make([]byte, 32)}, fields, b); err != nil {
		t.Fatal(err)
	}
	a, err := format.OpenBytes(buf.Bytes(), format.DevKeyRing(), format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func seen2x3(counts bool) *sparse.CSR {
	v := []float64{1, 1, 1}
	if counts {
		v = []float64{2, 1, 3}
	}
	s, err := sparse.FromTriplets(2, 3, []int32{0, 0, 1}, []int32{0, 2, 1}, v)
	if err != nil {
		panic(err)
	}
	return s
}

func TestBuildFactorRoundTrip(t *testing.T) {
	m := &algo.Model{Kind: algo.KindFactor, NUsers: 2, NItems: 3, K: 2,
		UserFactors: []float32{1, 2, 3, 4},
		ItemFactors: []float32{0.5, -1, 2, 0, 0, 0},
		FoldIn:      algo.FoldIn{Method: "ials_cg", Alpha0: 1, Reg: 0.1, Nu: 1, CGSteps: 5},
	}
	b, fields, err := Build(m, []string{"a", "b"}, []string{"x", "y", "z"}, seen2x3(true), Options{Q8: true})
	if err != nil {
		t.Fatal(err)
	}
	a := open(t, b, fields)
	var h Header
	if err := a.Field("model", &h); err != nil {
		t.Fatal(err)
	}
	if h.Kind != "factor" || h.NUsers != 2 || h.NItems != 3 || h.K != 2 || !h.Q8 || h.HasItemBias ||
		h.FoldIn == nil || h.FoldIn.Method != "ials_cg" || h.FoldIn.NItemsTraining != 3 {
		t.Fatalf("header %+v", h)
	}
	vf, s, err := a.F32("item_factors")
	if err != nil || s.Stride != 16 || vf[16] != 2 || vf[17] != 0 || vf[2] != 0 {
		t.Fatalf("item_factors: %v stride %d %v", err, s.Stride, vf[:20])
	}
	g, gs, err := a.F32("gram")
	// VᵀV = [[0.25+4, -0.5], [-0.5, 1]]
	if err != nil || g[0] != 4.25 || g[1] != -0.5 || g[gs.Stride] != -0.5 || g[gs.Stride+1] != 1 {
		t.Fatalf("gram: %v %v", err, g[:gs.Stride+2])
	}
	sd, _, err := a.F32("seen.data")
	if err != nil || !slices.Equal(sd, []float32{2, 1, 3}) {
		t.Fatalf("seen.data %v %v", sd, err)
	}
	q, qs, err := a.I8("item_factors_q8")
	sc, _, err2 := a.F32("item_factors_q8.scale")
	if err != nil || err2 != nil || qs.Stride != 64 || q[0] != 64 || q[1] != -127 || q[64] != 127 || sc[2] != 0 {
		t.Fatalf("q8: %v %v %v %v", err, err2, q[:2], sc)
	}
	ids, err := a.Strings("item_ids")
	if err != nil || ids.Len() != 3 || string(ids.At(2)) != "z" {
		t.Fatalf("item_ids %v", err)
	}
}

func TestBuildKinds(t *testing.T) {
	f := func(m *algo.Model, want []string, absent ...string) {
		t.Helper()
		b, fields, err := Build(m, []string{"a", "b"}, []string{"x", "y", "z"}, seen2x3(false), Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := open(t, b, fields)
		for _, n := range append(want, "user_ids.off", "item_ids.data", "seen.indptr", "seen.indices") {
			if _, ok := a.Section(n); !ok {
				t.Fatalf("%s: no section %q", m.Kind, n)
			}
		}
		for _, n := range append(absent, "seen.data", "item_factors_q8") {
			if _, ok := a.Section(n); ok {
				t.Fatalf("%s: unexpected section %q", m.Kind, n)
			}
		}
	}
	f(&algo.Model{Kind: algo.KindPopularity, NUsers: 2, NItems: 3, Popularity: []float64{1, 2, 3}}, []string{"popularity"})
	f(&algo.Model{Kind: algo.KindDenseItem, NUsers: 2, NItems: 3, Dense: make([]float32, 9)}, []string{"dense_w"})
	f(&algo.Model{Kind: algo.KindSparseItem, NUsers: 2, NItems: 3, Sim: &algo.SimCSR{N: 3, Indptr: []int64{0, 1, 1, 2}, Indices: []int32{2, 0}, Data: []float32{0.5, 0.25}}},
		[]string{"sim.indptr", "sim.indices", "sim.data"})
	f(&algo.Model{Kind: algo.KindFactor, NUsers: 2, NItems: 3, K: 1, UserFactors: make([]float32, 2), ItemFactors: make([]float32, 3),
		ItemBias: make([]float32, 3), FoldIn: algo.FoldIn{Method: "mean"}}, []string{"user_factors", "item_factors", "item_bias"}, "gram")
}

func TestBuildErrors(t *testing.T) {
	f := func(m *algo.Model, users []string, seen *sparse.CSR) {
		t.Helper()
		if _, _, err := Build(m, users, []string{"x", "y", "z"}, seen, Options{}); !errors.Is(err, ErrShape) {
			t.Fatalf("err %v, want ErrShape", err)
		}
	}
	pop := &algo.Model{Kind: algo.KindPopularity, NUsers: 2, NItems: 3, Popularity: []float64{1, 2, 3}}
	f(pop, []string{"b", "a"}, seen2x3(false)) // unsorted ids
	f(pop, []string{"a"}, seen2x3(false))      // id count
	f(pop, []string{"a", "b"}, nil)            // no seen
	f(&algo.Model{Kind: algo.KindPopularity, NUsers: 2, NItems: 3}, []string{"a", "b"}, seen2x3(false))
	f(&algo.Model{Kind: "nope", NUsers: 2, NItems: 3}, []string{"a", "b"}, seen2x3(false))
	f(&algo.Model{Kind: algo.KindFactor, NUsers: 2, NItems: 3, K: 1, UserFactors: make([]float32, 2), ItemFactors: make([]float32, 3),
		FoldIn: algo.FoldIn{Method: "magic"}}, []string{"a", "b"}, seen2x3(false))
	f(&algo.Model{Kind: algo.KindDenseItem, NUsers: 2, NItems: 3, Dense: make([]float32, 8)}, []string{"a", "b"}, seen2x3(false))
}
