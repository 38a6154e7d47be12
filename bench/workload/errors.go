package workload

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match with errors.Is; package bench returns them from
// Run too (bench.ErrConfig is ErrConfig).
var (
	// ErrConfig: a setting is invalid (unknown endpoint or distribution, a
	// limit out of range, no recipe, ...). It is the one sentinel for every
	// invalid setting of a bench run, whichever package found it.
	ErrConfig = errors.New("invalid bench configuration")
	// ErrNoIDs: an id source held no ids, or an endpoint needs ids the
	// workload lacks.
	ErrNoIDs = errors.New("no ids")
)

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}
