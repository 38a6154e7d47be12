package algo

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrParam marks an invalid hyperparameter: a value of the wrong type or
// outside its range. Every algorithm's constructor error unwraps to it.
var ErrParam = errors.New("invalid hyperparameter")

// ParamError reports one bad hyperparameter; it unwraps to ErrParam. It is
// the one parameter-error type of every algorithm package.
type ParamError struct {
	Algo  string // alias, e.g. "IALS"
	Name  string // parameter name, e.g. "n_components"
	Value any    // the offending value
	Why   string // what was expected
}

func (e *ParamError) Error() string {
	if e.Algo == "" {
		return fmt.Sprintf("parameter %s=%v: %s", e.Name, e.Value, e.Why)
	}
	return fmt.Sprintf("%s: parameter %s=%v: %s", e.Algo, e.Name, e.Value, e.Why)
}

// Unwrap returns ErrParam.
func (e *ParamError) Unwrap() error { return ErrParam }

// ParamReader reads typed values out of Params for one algorithm. A
// missing or nil value gives the default; a value of the wrong type gives
// the default and records a *ParamError. Only the first error is kept
// (Err), so a constructor reads every field and checks once.
type ParamReader struct {
	algo string
	p    Params
	err  error
}

// NewParamReader reads p for the algorithm alias (used in error messages).
func NewParamReader(alias string, p Params) *ParamReader {
	return &ParamReader{algo: alias, p: p}
}

// Err is the first error recorded, or nil.
func (r *ParamReader) Err() error { return r.err }

// Fail records a *ParamError unless one is recorded already.
func (r *ParamReader) Fail(name string, v any, why string) {
	if r.err == nil {
		r.err = &ParamError{Algo: r.algo, Name: name, Value: v, Why: why}
	}
}

func (r *ParamReader) get(name string) (any, bool) {
	v, ok := r.p[name]
	return v, ok && v != nil
}

// Float reads a finite number (integers accepted).
func (r *ParamReader) Float(name string, def float64) float64 {
	v, ok := r.get(name)
	if !ok {
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
		r.Fail(name, v, "want a number")
		return def
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		r.Fail(name, v, "want a finite number")
		return def
	}
	return f
}

// OptFloat reads a finite number and reports whether the parameter is set.
func (r *ParamReader) OptFloat(name string) (float64, bool) {
	if _, ok := r.get(name); !ok {
		return 0, false
	}
	return r.Float(name, 0), true
}

// OptInt reads an integer (integral floats accepted) and reports whether
// the parameter is set; unset gives def.
func (r *ParamReader) OptInt(name string, def int) (int, bool) {
	v, ok := r.get(name)
	if !ok {
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
	r.Fail(name, v, "want an integer")
	return def, false
}

// Int reads an integer (integral floats accepted).
func (r *ParamReader) Int(name string, def int) int {
	n, _ := r.OptInt(name, def)
	return n
}

// Seed reads an integer seed such as random_seed.
func (r *ParamReader) Seed(name string, def int64) int64 {
	n, ok := r.OptInt(name, 0)
	if !ok {
		return def
	}
	return int64(n)
}

// Bool reads true or false.
func (r *ParamReader) Bool(name string, def bool) bool {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		r.Fail(name, v, "want true or false")
		return def
	}
	return b
}

// choice returns the index in names of the string value of name (matched
// case-insensitively after trimming), or -1 when it is unset or invalid.
func (r *ParamReader) choice(name string, names []string) int {
	v, ok := r.get(name)
	if !ok {
		return -1
	}
	if s, isStr := v.(string); isStr {
		for i, c := range names {
			if strings.EqualFold(strings.TrimSpace(s), c) {
				return i
			}
		}
	}
	r.Fail(name, v, "want one of "+strings.Join(names, ", "))
	return -1
}

// String reads one of choices and returns it in its canonical spelling.
func (r *ParamReader) String(name, def string, choices ...string) string {
	if i := r.choice(name, choices); i >= 0 {
		return choices[i]
	}
	return def
}

// Choice reads an enumerated option parsed once into its typed constant:
// names[i] is the spelling of E(i). Matching is case-insensitive.
func Choice[E ~uint8](r *ParamReader, name string, def E, names []string) E {
	if i := r.choice(name, names); i >= 0 {
		return E(i)
	}
	return def
}
