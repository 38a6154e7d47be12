package itemitem

import (
	"math"
	"strings"

	"github.com/recotem/recotem/trainer/algo"
)

// paramReader reads typed values out of algo.Params, keeping the first error.
type paramReader struct {
	algo string
	p    algo.Params
	err  error
}

func (r *paramReader) fail(name string, v any, why string) {
	if r.err == nil {
		r.err = &ParamError{Algo: r.algo, Name: name, Value: v, Why: why}
	}
}

// float reads a finite float (ints accepted) or returns def when absent.
func (r *paramReader) float(name string, def float64) float64 {
	v, ok := r.p[name]
	if !ok || v == nil {
		return def
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	default:
		r.fail(name, v, "want a number")
		return def
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		r.fail(name, v, "want a finite number")
		return def
	}
	return f
}

// int reads an integer (integral floats accepted); absent or nil gives def
// and ok=false.
func (r *paramReader) int(name string, def int) (int, bool) {
	v, ok := r.p[name]
	if !ok || v == nil {
		return def, false
	}
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case int32:
		return int(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), true
		}
	}
	r.fail(name, v, "want an integer")
	return def, false
}

func (r *paramReader) bool(name string, def bool) bool {
	v, ok := r.p[name]
	if !ok || v == nil {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		r.fail(name, v, "want true or false")
		return def
	}
	return b
}

// choice reads a string that must be one of choices (matched
// case-insensitively, returned in its canonical spelling).
func (r *paramReader) choice(name, def string, choices ...string) string {
	v, ok := r.p[name]
	if !ok || v == nil {
		return def
	}
	s, isStr := v.(string)
	if isStr {
		for _, c := range choices {
			if strings.EqualFold(strings.TrimSpace(s), c) {
				return c
			}
		}
	}
	r.fail(name, v, "want one of "+strings.Join(choices, ", "))
	return def
}
