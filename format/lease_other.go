//go:build !linux

package format

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LeaseSignal is nil where the kernel has no file leases: Leased artifacts
// are then Private.
var LeaseSignal os.Signal

func takeLease(*os.File) error { return errors.ErrUnsupported }

func leaseHeld(*os.File) string { return "" }

func readOnly(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return unix.Mprotect(b, unix.PROT_READ)
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
