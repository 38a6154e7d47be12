//go:build !linux

package httpconn

import "net"

// rxStamp: kernel receive timestamps are read on Linux only (conn_linux.go);
// elsewhere a response's end is the moment it is parsed.
type rxStamp struct {
	raw  any
	last int64
}

func (s *rxStamp) attach(net.Conn)          {}
func (s *rxStamp) read([]byte) (int, error) { panic("unreachable") }
