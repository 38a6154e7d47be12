//go:build linux

package format

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// LeaseSignal is the signal the kernel sends a process when a writer
// starts to break one of its read leases (the default, F_SETSIG unset).
// Holders of Leased artifacts listen for it (os/signal) and then check
// Changed; a periodic check covers a missed signal.
var LeaseSignal os.Signal = syscall.SIGIO

// leaseFS are the file systems whose every writer goes through this
// kernel, so that a read lease holds off all of them. On a network file
// system (NFS, SMB, Ceph) or FUSE a writer on another host, or behind the
// daemon, never breaks the lease: such files are served from a private
// copy. overlayfs is not in the list either: writers through the overlay
// would break the lease, but a write into its upper directory from outside
// the overlay would change the mapped bytes unseen (docs/format.md §5).
var leaseFS = map[int64]string{
	unix.EXT4_SUPER_MAGIC:  "ext2/3/4",
	unix.XFS_SUPER_MAGIC:   "xfs",
	unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC:       "tmpfs",
	unix.F2FS_SUPER_MAGIC:  "f2fs",
	0x2fc12fc1:             "zfs",
}

// takeLease places a read lease on f (opened read-only) when f's file
// system is one where a lease holds off every writer.
func takeLease(f *os.File) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	if _, ok := leaseFS[int64(st.Type)]; !ok {
		return fmt.Errorf("file system type %#x is shared or unknown: a lease cannot hold off its writers", st.Type)
	}
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
