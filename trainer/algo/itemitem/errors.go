package itemitem

import (
	"errors"
	"fmt"
)

var (
	// ErrParam marks an invalid hyperparameter value or type.
	ErrParam = errors.New("invalid parameter")
	// ErrTooManyItems marks a DenseSLIM fit refused because its dense I×I
	// matrix would exceed the configured item limit.
	ErrTooManyItems = errors.New("too many items for a dense model")
	// ErrNotPositiveDefinite marks a Gram matrix the Cholesky factorisation
	// rejected (reg 0 with an item nobody interacted with, or NaN input).
	ErrNotPositiveDefinite = errors.New("matrix is not positive definite")
	// ErrNotFitted is returned by operations that need a fitted model.
	ErrNotFitted = errors.New("model not fitted")
)

// ParamError reports one bad hyperparameter; it unwraps to ErrParam.
type ParamError struct {
	Algo  string // alias, e.g. "CosineKNN"
	Name  string // parameter name
	Value any    // offending value
	Why   string // what was expected
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%s: parameter %s=%v: %s", e.Algo, e.Name, e.Value, e.Why)
}

// Unwrap returns ErrParam.
func (e *ParamError) Unwrap() error { return ErrParam }

// TooManyItemsError reports a DenseSLIM fit refused for size; it unwraps to
// ErrTooManyItems.
type TooManyItemsError struct {
	Items, Limit int
}

func (e *TooManyItemsError) Error() string {
	gib := float64(e.Items) * float64(e.Items) * 4 / (1 << 30)
	return fmt.Sprintf("DenseSLIM: %d items exceeds the limit of %d (a dense %dx%d float32 matrix needs %.1f GiB)",
		e.Items, e.Limit, e.Items, e.Items, gib)
}

// Unwrap returns ErrTooManyItems.
func (e *TooManyItemsError) Unwrap() error { return ErrTooManyItems }
