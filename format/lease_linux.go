//go:build linux

package format

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LeaseSignal is the signal the kernel sends a process when a writer
// starts to break one of its read leases (the default, F_SETSIG unset).
// Holders of Leased artifacts listen for it (os/signal) and then check
// Changed; a periodic check covers a missed signal.
var LeaseSignal os.Signal = syscall.SIGIO

// takeLease places a read lease on f (opened read-only).
func takeLease(f *os.File) error {
	_, err := unix.FcntlInt(f.Fd(), unix.F_SETLEASE, unix.F_RDLCK)
	return err
}

// leaseHeld returns why f's read lease no longer holds, or "".
func leaseHeld(f *os.File) string {
	t, err := unix.FcntlInt(f.Fd(), unix.F_GETLEASE, 0)
	if err != nil {
		return "lease check failed: " + err.Error()
	}
	if t != unix.F_RDLCK {
		return "a writer opened or truncated the mapped file (read lease broken)"
	}
	return ""
}

func readOnly(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return unix.Mprotect(b, unix.PROT_READ)
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
