//go:build !linux

package format

import (
	"errors"
	"os"
)

// LeaseSignal is nil where the kernel has no file leases: Leased artifacts
// are then Private.
var LeaseSignal os.Signal

func takeLease(*os.File) error { return errors.ErrUnsupported }

func leaseHeld(*os.File) string { return "" }
