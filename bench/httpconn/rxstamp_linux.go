package httpconn

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rxStamp reads a connection through recvmsg on its syscall.RawConn (so
// reads still wait in Go's netpoller and honour deadlines) with the socket
// option SO_TIMESTAMPNS on, and keeps the kernel's receive time of the last
// segment each read consumed. Everything a read needs is preallocated: the
// message header, its iovec, the control buffer and the callback, bound
// once per connection.
type rxStamp struct {
	raw  syscall.RawConn // nil: plain Read, no timestamps
	fn   func(fd uintptr) bool
	msg  syscall.Msghdr
	iov  syscall.Iovec
	oob  [64]byte
	b    []byte // destination of the read in progress
	n    int
	err  error
	last int64 // CLOCK_REALTIME ns of the last read with data; 0: none
}

// attach turns receive timestamps on for c if it is a TCP connection
// (Unix stream sockets deliver none; TLS hides the socket); otherwise reads
// stay plain c.Read. It must run before the first response can arrive:
// segments queued before the option is set carry no timestamp.
func (s *rxStamp) attach(c net.Conn) {
	s.raw, s.last = nil, 0
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return
	}
	if s.fn == nil {
		s.fn = s.recvOnce
	}
	s.raw = raw
}

// read reads into b like net.Conn.Read, noting the receive time.
func (s *rxStamp) read(b []byte) (int, error) {
	s.b, s.n, s.err = b, 0, nil
	err := s.raw.Read(s.fn)
	s.b = nil
	if err != nil {
		return 0, err
	}
	return s.n, s.err
}

// recvOnce is one nonblocking recvmsg; false asks the netpoller to wait
// for readability and call again.
func (s *rxStamp) recvOnce(fd uintptr) bool {
	if len(s.b) == 0 {
		return true
	}
	s.iov.Base = &s.b[0]
	s.iov.SetLen(len(s.b))
	s.msg.Iov = &s.iov
	s.msg.Iovlen = 1
	s.msg.Control = &s.oob[0]
	s.msg.SetControllen(len(s.oob))
	s.msg.Flags = 0
	for {
		n, _, e := syscall.Syscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.msg)), 0)
		switch e {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			s.err = e
			return true
		}
		if n == 0 {
			s.err = io.EOF
			return true
		}
		s.n = int(n)
		if t := s.stamp(); t != 0 {
			s.last = t
		}
		return true
	}
}

// stamp finds SCM_TIMESTAMPNS in the control data of the last recvmsg.
func (s *rxStamp) stamp() int64 {
	const hdr = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	oob := s.oob[:min(int(s.msg.Controllen), len(s.oob))]
	for len(oob) >= hdr {
		c := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(c.Len)
		if l < hdr || l > len(oob) {
			return 0
		}
		if c.Level == syscall.SOL_SOCKET && c.Type == syscall.SCM_TIMESTAMPNS && l >= hdr+int(unsafe.Sizeof(syscall.Timespec{})) {
			return (*syscall.Timespec)(unsafe.Pointer(&oob[hdr])).Nano()
		}
		oob = oob[min((l+7)&^7, len(oob)):]
	}
	return 0
}
