package algo

import (
	"errors"
	"math"
	"testing"
)

func TestParamError(t *testing.T) {
	e := &ParamError{Algo: "IALS", Name: "n_components", Value: 0, Why: "must be ≥ 1"}
	if got := e.Error(); got != "IALS: parameter n_components=0: must be ≥ 1" {
		t.Fatalf("Error() = %q", got)
	}
	if got := (&ParamError{Name: "reg", Value: -1.5, Why: "must be ≥ 0"}).Error(); got != "parameter reg=-1.5: must be ≥ 0" {
		t.Fatalf("without Algo: %q", got)
	}
	var wrapped error = errors.Join(errors.New("trial 3"), e)
	var pe *ParamError
	if !errors.Is(wrapped, ErrParam) || !errors.As(wrapped, &pe) || pe.Name != "n_components" {
		t.Fatalf("errors.Is/As through a wrap: %v", wrapped)
	}
}

// readOne runs read on a fresh reader of p and returns its result and error.
func readOne[T any](p Params, read func(r *ParamReader) T) (T, error) {
	r := NewParamReader("X", p)
	v := read(r)
	return v, r.Err()
}

func TestParamReaderFloat(t *testing.T) {
	f := func(v any, want float64, ok bool) {
		t.Helper()
		got, err := readOne(Params{"a": v}, func(r *ParamReader) float64 { return r.Float("a", 7) })
		if got != want || (err == nil) != ok {
			t.Fatalf("Float(%#v) = %v, %v; want %v, ok=%v", v, got, err, want, ok)
		}
		if err != nil && !errors.Is(err, ErrParam) {
			t.Fatalf("Float(%#v): %v is not ErrParam", v, err)
		}
	}
	f(nil, 7, true) // nil = unset
	f(0.25, 0.25, true)
	f(float32(0.5), 0.5, true)
	f(3, 3, true)
	f(int64(-4), -4, true)
	f("1.0", 7, false)
	f(true, 7, false)
	f(math.NaN(), 7, false)
	f(math.Inf(1), 7, false)
	if got, err := readOne(Params{}, func(r *ParamReader) float64 { return r.Float("a", 7) }); got != 7 || err != nil {
		t.Fatalf("absent: %v %v", got, err)
	}
}

func TestParamReaderInt(t *testing.T) {
	f := func(v any, want int, set, ok bool) {
		t.Helper()
		type res struct {
			n   int
			set bool
		}
		got, err := readOne(Params{"k": v}, func(r *ParamReader) res { n, s := r.OptInt("k", -1); return res{n, s} })
		if got.n != want || got.set != set || (err == nil) != ok {
			t.Fatalf("OptInt(%#v) = %v, %v, %v; want %v, %v, ok=%v", v, got.n, got.set, err, want, set, ok)
		}
		n, err2 := readOne(Params{"k": v}, func(r *ParamReader) int { return r.Int("k", -1) })
		if n != want || (err2 == nil) != ok {
			t.Fatalf("Int(%#v) = %v, %v", v, n, err2)
		}
	}
	f(nil, -1, false, true)
	f(5, 5, true, true)
	f(int64(6), 6, true, true)
	f(int32(-7), -7, true, true)
	f(8.0, 8, true, true)
	f(2.5, -1, false, false)
	f(1e300, -1, false, false)
	f("3", -1, false, false)
}

func TestParamReaderSeedBool(t *testing.T) {
	if s, err := readOne(Params{}, func(r *ParamReader) int64 { return r.Seed("random_seed", 42) }); s != 42 || err != nil {
		t.Fatalf("absent seed: %v %v", s, err)
	}
	if s, err := readOne(Params{"random_seed": 9}, func(r *ParamReader) int64 { return r.Seed("random_seed", 42) }); s != 9 || err != nil {
		t.Fatalf("seed 9: %v %v", s, err)
	}
	if s, err := readOne(Params{"random_seed": "x"}, func(r *ParamReader) int64 { return r.Seed("random_seed", 42) }); s != 42 || err == nil {
		t.Fatalf("bad seed: %v %v", s, err)
	}
	if b, err := readOne(Params{"n": true}, func(r *ParamReader) bool { return r.Bool("n", false) }); !b || err != nil {
		t.Fatalf("bool true: %v %v", b, err)
	}
	if b, err := readOne(Params{"n": "yes"}, func(r *ParamReader) bool { return r.Bool("n", false) }); b || err == nil {
		t.Fatalf("bool from string: %v %v", b, err)
	}
	if b, err := readOne(Params{}, func(r *ParamReader) bool { return r.Bool("n", true) }); !b || err != nil {
		t.Fatalf("bool absent: %v %v", b, err)
	}
}

type mode uint8

func TestParamReaderChoice(t *testing.T) {
	names := []string{"CG", "CHOLESKY"}
	f := func(v any, want mode, ok bool) {
		t.Helper()
		got, err := readOne(Params{"solver_type": v}, func(r *ParamReader) mode { return Choice(r, "solver_type", mode(0), names) })
		if got != want || (err == nil) != ok {
			t.Fatalf("Choice(%#v) = %v, %v; want %v, ok=%v", v, got, err, want, ok)
		}
	}
	f(nil, 0, true)
	f("CG", 0, true)
	f("CHOLESKY", 1, true)
	f(" cholesky ", 1, true) // case-insensitive, trimmed
	f("LU", 0, false)
	f(1, 0, false)
	s, err := readOne(Params{"w": "bm_25"}, func(r *ParamReader) string { return r.String("w", "NONE", "NONE", "TF_IDF", "BM_25") })
	if s != "BM_25" || err != nil {
		t.Fatalf("String canonical spelling: %q %v", s, err)
	}
	_, err = readOne(Params{"w": "BM25"}, func(r *ParamReader) string { return r.String("w", "NONE", "NONE", "TF_IDF", "BM_25") })
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Algo != "X" || pe.Name != "w" || pe.Why != "want one of NONE, TF_IDF, BM_25" {
		t.Fatalf("String bad value: %#v", err)
	}
}

func TestParamReaderKeepsFirstError(t *testing.T) {
	r := NewParamReader("RP3beta", Params{"alpha": "a", "beta": "b"})
	r.Float("alpha", 1)
	r.Float("beta", 1)
	r.Fail("top_k", 0, "want ≥ 1")
	var pe *ParamError
	if !errors.As(r.Err(), &pe) || pe.Name != "alpha" || pe.Algo != "RP3beta" {
		t.Fatalf("first error kept: %v", r.Err())
	}
	r = NewParamReader("RP3beta", nil)
	r.Fail("top_k", 0, "want ≥ 1")
	if got := r.Err().Error(); got != "RP3beta: parameter top_k=0: want ≥ 1" {
		t.Fatalf("Fail: %q", got)
	}
}
