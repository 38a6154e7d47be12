package itemitem

import (
	"errors"
	"fmt"
)

// Sentinel errors. Bad hyperparameters are *algo.ParamError (algo.ErrParam).
var (
	// ErrTooManyItems marks a DenseSLIM fit refused because its dense I×I
	// matrix would exceed the configured item limit.
	ErrTooManyItems = errors.New("too many items for a dense model")
	// ErrNotPositiveDefinite marks a Gram matrix the Cholesky factorisation
	// rejected (reg 0 with an item nobody interacted with, or NaN input).
	ErrNotPositiveDefinite = errors.New("matrix is not positive definite")
	// ErrNotFitted is returned by operations that need a fitted model.
	ErrNotFitted = errors.New("model not fitted")
)

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
