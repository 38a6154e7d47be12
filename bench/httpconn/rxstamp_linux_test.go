package httpconn

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestRecvStampIsArrivalTime: the timestamp a TCP read returns is when the
// bytes reached the socket, not when they were read: a reader that gets to
// them 50ms late still learns the arrival time.
func TestRecvStampIsArrivalTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sentAt := make(chan int64, 1)
	attached := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		// Segments are stamped only once the option is on, and the kernel
		// switches stamping on asynchronously when the first socket of the
		// system asks for it.
		<-attached
		time.Sleep(20 * time.Millisecond)
		sentAt <- time.Now().UnixNano()
		c.Write([]byte("hello")) //nolint:errcheck
		time.Sleep(time.Second)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s rxStamp
	s.attach(c)
	if s.raw == nil {
		t.Fatal("receive timestamps not enabled on a TCP connection")
	}
	close(attached)
	sent := <-sentAt
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 16)
	n, err := s.read(buf)
	readAt := time.Now().UnixNano()
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if s.last == 0 {
		t.Fatal("the kernel gave no receive timestamp")
	}
	if s.last < sent || s.last > sent+int64(40*time.Millisecond) {
		t.Fatalf("stamp %d ns after the write, want within 40ms of it", s.last-sent)
	}
	if readAt-s.last < int64(50*time.Millisecond) {
		t.Fatalf("stamp only %v before the read, want ≥ 50ms", time.Duration(readAt-s.last))
	}
}

// TestNoRecvStampOnUnixSockets: Unix stream sockets carry no receive
// timestamps, so they keep plain reads (latency ends when parsed).
func TestNoRecvStampOnUnixSockets(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s rxStamp
	s.attach(c)
	if s.raw != nil {
		t.Fatal("recvmsg path attached to a Unix socket")
	}
}
