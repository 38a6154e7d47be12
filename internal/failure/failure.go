// Package failure owns the trainer's error classes and their exit codes
// (recotem-behavior.md §1.2). Every error the train pipeline returns to
// cmd/recotem is, or wraps, an *Error; cmd/recotem maps it to an exit code
// with ExitCode in exactly one place.
package failure

import (
	"errors"
	"fmt"
)

// Class is an error class with a fixed exit code.
type Class int

const (
	Unknown     Class = 1
	Recipe      Class = 2 // RecipeError / usage
	DataSource  Class = 3
	Training    Class = 4
	Artifact    Class = 5
	LockContest Class = 6
	HTTPFetch   Class = 7
	Config      Class = 8
)

// Error is a classified failure. Code is the machine code of train_error
// (e.g. "min_data_violation"); Fields are extra train_error fields.
type Error struct {
	Class  Class
	Code   string
	Msg    string
	Fields map[string]any
	Err    error
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Code
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a classified error with a formatted message.
func New(c Class, code, format string, args ...any) *Error {
	return &Error{Class: c, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap classifies err; the message is err's own.
func Wrap(c Class, code string, err error) *Error {
	return &Error{Class: c, Code: code, Err: err}
}

// ExitCode maps an error to the process exit code. An HTTP-fetch error
// anywhere in the chain gives 7 (it beats a data-source 3).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	best := 0
	var walk func(error)
	walk = func(e error) {
		for e != nil {
			if fe, ok := e.(*Error); ok {
				if fe.Class == HTTPFetch {
					best = int(HTTPFetch)
					return
				}
				if best == 0 {
					best = int(fe.Class)
				}
			}
			if j, ok := e.(interface{ Unwrap() []error }); ok {
				for _, x := range j.Unwrap() {
					walk(x)
				}
				return
			}
			e = errors.Unwrap(e)
		}
	}
	walk(err)
	if best == 0 {
		return int(Unknown)
	}
	return best
}

// CodeOf returns the train_error code of the outermost *Error, or "internal_error".
func CodeOf(err error) string {
	var fe *Error
	if errors.As(err, &fe) && fe.Code != "" {
		return fe.Code
	}
	return "internal_error"
}
