package failure

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestErrorMessage(t *testing.T) {
	cause := errors.New("disk full")
	f := func(e *Error, want string) {
		t.Helper()
		if got := e.Error(); got != want {
			t.Fatalf("%#v: %q, want %q", e, got, want)
		}
	}
	f(&Error{Class: Artifact, Code: "internal_error", Msg: "write artifact", Err: cause}, "write artifact: disk full")
	f(&Error{Class: Training, Code: "zero_score", Msg: "best score is 0"}, "best score is 0")
	f(&Error{Class: Artifact, Code: "internal_error", Err: cause}, "disk full")
	f(&Error{Class: Training, Code: "split_error"}, "split_error")
	f(New(DataSource, "datasource_error", "column %q not found", "ts"), `column "ts" not found`)
	w := Wrap(Artifact, "internal_error", cause)
	f(w, "disk full")
	if !errors.Is(w, cause) || w.Unwrap() != cause {
		t.Fatal("Wrap must unwrap to its cause")
	}
}

func TestExitCode(t *testing.T) {
	ds := New(DataSource, "datasource_error", "no rows")
	hf := Wrap(HTTPFetch, "datasource_error", errors.New("refused"))
	f := func(err error, want int) {
		t.Helper()
		if got := ExitCode(err); got != want {
			t.Fatalf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
	f(nil, 0)
	f(errors.New("plain"), 1)
	f(fs.ErrNotExist, 1)
	for c := Unknown; c <= Config; c++ {
		f(New(c, "x", "m"), int(c))
		f(fmt.Errorf("outer: %w", New(c, "x", "m")), int(c))
	}
	// The outermost class wins, except that HTTP fetch anywhere gives 7.
	f(&Error{Class: Training, Err: ds}, 4)
	f(&Error{Class: DataSource, Err: hf}, 7)
	f(fmt.Errorf("a: %w", &Error{Class: DataSource, Err: fmt.Errorf("b: %w", hf)}), 7)
	// Joined chains: every branch is walked.
	f(errors.Join(ds, hf), 7)
	f(errors.Join(errors.New("x"), ds), 3)
	f(errors.Join(errors.New("x"), errors.New("y")), 1)
	f(fmt.Errorf("wrapped join: %w", errors.Join(ds, New(Artifact, "a", "b"))), 3)
}

func TestCodeOf(t *testing.T) {
	f := func(err error, want string) {
		t.Helper()
		if got := CodeOf(err); got != want {
			t.Fatalf("CodeOf(%v) = %q, want %q", err, got, want)
		}
	}
	f(errors.New("plain"), "internal_error")
	f(New(Training, "min_data_violation", "few rows"), "min_data_violation")
	f(fmt.Errorf("ctx: %w", New(LockContest, "lock_timeout", "held")), "lock_timeout")
	f(&Error{Class: Training}, "internal_error") // no code
	// The outermost *Error names the code.
	f(&Error{Class: Training, Code: "final_training_error", Err: New(DataSource, "datasource_error", "x")}, "final_training_error")
}
