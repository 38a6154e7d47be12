package recipe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/recotem/recotem/internal/failure"
)

// Error categories (recotem-behavior.md §3.1).
const (
	CatIO       = "io"
	CatParse    = "parse"
	CatEnv      = "env"
	CatSecurity = "security"
	CatSchema   = "schema"
)

// Sentinels that *Error values unwrap to, by category.
var (
	ErrIO       = errors.New("recipe read error")
	ErrParse    = errors.New("recipe parse error")
	ErrEnv      = errors.New("recipe env expansion error")
	ErrSecurity = errors.New("recipe security violation")
	ErrSchema   = errors.New("recipe schema error")
)

// Error is one recipe problem at a YAML node. Line and Col are 1-based; 0
// means unknown. Path is the dotted field path ("training.cutoff",
// "training.algorithms[1]"); empty for whole-file problems.
type Error struct {
	File     string
	Line     int
	Col      int
	Path     string
	Category string
	Msg      string
}

// Error reads like "recipe.yaml:12:3: training.cutoff: must be >= 1".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Col > 0 {
				fmt.Fprintf(&b, ":%d", e.Col)
			}
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the category sentinel.
func (e *Error) Unwrap() error {
	switch e.Category {
	case CatIO:
		return ErrIO
	case CatParse:
		return ErrParse
	case CatEnv:
		return ErrEnv
	case CatSecurity:
		return ErrSecurity
	}
	return ErrSchema
}

// List is several problems found in one pass; errors.As finds each.
type List []*Error

func (l List) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes every problem to errors.Is/As.
func (l List) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Problems returns every *Error inside err (a List, a single *Error, or a
// *failure.Error wrapping either).
func Problems(err error) []*Error {
	var l List
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// Category returns the category of the first problem in err, or "".
func Category(err error) string {
	if p := Problems(err); len(p) > 0 {
		return p[0].Category
	}
	return ""
}

func wrap(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	var inner error = errs[0]
	if len(errs) > 1 {
		inner = List(errs)
	}
	return &failure.Error{Class: failure.Recipe, Code: "recipe_error", Err: inner}
}
