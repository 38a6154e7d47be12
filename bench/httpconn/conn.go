// Package httpconn owns the load generator's HTTP/1.1 client: one
// keep-alive connection per Conn, a request written with one Write from
// prebuilt bytes, the response parsed in place in a fixed read buffer
// (Content-Length, chunked, or until EOF; 1xx skipped) and discarded, and on
// Linux the kernel's receive timestamp of the response's last segment
// (SO_TIMESTAMPNS through recvmsg), so a caller knows when the answer
// arrived and not only when its goroutine got to it. A Conn allocates
// nothing per request once connected. It knows nothing of workloads,
// schedules or statistics: package bench drives it.
package httpconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// Errors of the response parser. A response cut short reads as
// io.ErrUnexpectedEOF, a connection closed before a response as io.EOF.
var (
	ErrMalformed = errors.New("malformed HTTP response")
	ErrTooLarge  = errors.New("HTTP response header larger than the read buffer")
)

// readBufSize is the size of each connection's read buffer: the whole
// response header must fit; bodies stream through it.
const readBufSize = 16 << 10

// Conn is one keep-alive HTTP/1.1 connection owned by one goroutine (the
// open loop shares it between a writer and a reader, see Send): a plain
// net.Conn, a request written with one Write from prebuilt bytes, and a
// response parsed in place in a fixed read buffer and discarded. Nothing
// runs between the write and the read of the last byte but this
// goroutine's own syscalls: no pool, no lock, no copy of the body. On
// Linux, TCP reads go through recvmsg with kernel receive timestamps
// (rxStamp), so Arrived tells when the last byte of the response arrived.
// The connection is dialled on first use and again after any error.
type Conn struct {
	dial     func() (net.Conn, error)
	timeout  time.Duration
	c        net.Conn
	deadline time.Time // the deadline set on c
	wbuf     []byte
	rbuf     []byte
	r, n     int // unread bytes are rbuf[r:n]
	rx       rxStamp

	// OnTimeout, if set, is asked when a read times out before any of its
	// bytes arrived: true means it moved the read deadline and the read is
	// tried again, false that the timeout stands. The open loop's reader
	// uses it, because its connection waits for answers while idle.
	OnTimeout func() bool
}

// New returns a Conn that dials with dial when it needs a connection and
// bounds each request's write and read by timeout.
func New(dial func() (net.Conn, error), timeout time.Duration) *Conn {
	return &Conn{dial: dial, timeout: timeout, wbuf: make([]byte, 0, 4096), rbuf: make([]byte, readBufSize)}
}

// NetConn is the open connection, nil between a Close (or an error) and
// the next dial.
func (h *Conn) NetConn() net.Conn { return h.c }

// Close closes the connection; the next request dials again.
func (h *Conn) Close() {
	if h.c != nil {
		h.c.Close()
		h.c = nil
	}
	h.r, h.n = 0, 0
}

// RoundTrip writes head, the decimal length of body, a blank line and body
// in one Write, reads one response and returns its status code and sent,
// the clock reading taken just before the write (after a dial, if one was
// needed). The connection's deadline is refreshed from sent only when less
// than 7/8 of the timeout remains, so each request is bounded by between
// 7/8 of the timeout and the whole of it and the hot path sets no timer. On
// any error the connection is closed; the next call dials again.
// Arrived then tells when the response's last byte reached the socket.
func (h *Conn) RoundTrip(head, body []byte) (code int, sent time.Time, err error) {
	if h.c == nil {
		c, err := h.dial()
		if err != nil {
			return 0, time.Now(), err
		}
		h.c, h.deadline = c, time.Time{}
		h.rx.attach(c)
	}
	w := AppendRequest(h.wbuf[:0], head, body)
	h.wbuf = w
	h.rx.last = 0
	sent = time.Now()
	if h.deadline.Sub(sent) < h.timeout-h.timeout/8 {
		h.deadline = sent.Add(h.timeout)
		if err := h.c.SetDeadline(h.deadline); err != nil {
			h.Close()
			return 0, sent, err
		}
	}
	if _, err := h.c.Write(w); err != nil {
		h.Close()
		return 0, sent, err
	}
	code, keep, err := h.readResponse()
	if err != nil || !keep {
		h.Close()
	}
	return code, sent, err
}

// AppendRequest appends one request to w: head (the request line and
// headers up to "Content-Length: "), the decimal length of body, a blank
// line and body.
func AppendRequest(w, head, body []byte) []byte {
	w = append(w, head...)
	w = strconv.AppendInt(w, int64(len(body)), 10)
	w = append(w, "\r\n\r\n"...)
	return append(w, body...)
}

// Send writes req, a whole request, in one Write and reads nothing: the
// open loop's pacer sends, and the goroutine already waiting in this
// connection's read takes the answer. now is the clock reading taken just
// before; the write deadline is refreshed from it only when less than 7/8
// of the timeout remains, as in RoundTrip. The caller owns the connection
// (c != nil) for the duration of the call and closes it on an error.
func (h *Conn) Send(req []byte, now time.Time) error {
	if h.deadline.Sub(now) < h.timeout-h.timeout/8 {
		h.deadline = now.Add(h.timeout)
		if err := h.c.SetWriteDeadline(h.deadline); err != nil {
			return err
		}
	}
	_, err := h.c.Write(req)
	return err
}

// Arrived is the kernel's receive time (CLOCK_REALTIME ns) of the last
// segment read since the last RoundTrip's write (or since ReadResponse
// began), 0 if the connection gives no receive timestamps.
func (h *Conn) Arrived() int64 { return h.rx.last }

// fill reads more bytes into the buffer, compacting it first if needed.
func (h *Conn) fill() error {
	if h.r == h.n {
		h.r, h.n = 0, 0
	} else if h.n == len(h.rbuf) {
		if h.r == 0 {
			return ErrTooLarge
		}
		h.n = copy(h.rbuf, h.rbuf[h.r:h.n])
		h.r = 0
	}
	var m int
	var err error
	for {
		if h.rx.raw != nil {
			m, err = h.rx.read(h.rbuf[h.n:])
		} else {
			m, err = h.c.Read(h.rbuf[h.n:])
		}
		if m > 0 || err == nil || h.OnTimeout == nil || !errors.Is(err, os.ErrDeadlineExceeded) || !h.OnTimeout() {
			break
		}
	}
	h.n += m
	if m > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// line returns the next line without its CR LF; valid until the next fill.
func (h *Conn) line() ([]byte, error) {
	scanned := 0 // bytes after r known to hold no '\n'
	for {
		if i := bytes.IndexByte(h.rbuf[h.r+scanned:h.n], '\n'); i >= 0 {
			end := h.r + scanned + i
			l := h.rbuf[h.r:end]
			h.r = end + 1
			if len(l) > 0 && l[len(l)-1] == '\r' {
				l = l[:len(l)-1]
			}
			return l, nil
		}
		scanned = h.n - h.r
		if err := h.fill(); err != nil {
			return nil, eofIsUnexpected(err)
		}
	}
}

// skip discards k body bytes.
func (h *Conn) skip(k int64) error {
	for k > 0 {
		if h.r == h.n {
			if err := h.fill(); err != nil {
				return eofIsUnexpected(err)
			}
		}
		m := min(k, int64(h.n-h.r))
		h.r += int(m)
		k -= m
	}
	return nil
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadResponse reads the next response on the open connection without
// writing anything (skipping 1xx interim ones) and reports its status and
// whether the connection stays open; a connection closed before the first
// byte of the status line reads as io.EOF. The open loop's reader waits
// here for the answer to a request another goroutine sent (Send). Arrived
// then tells when its last byte reached the socket. Unlike RoundTrip it
// does not close the connection on an error: the caller does.
func (h *Conn) ReadResponse() (code int, keep bool, err error) {
	h.rx.last = 0
	return h.readResponse()
}

// readResponse reads one response (skipping 1xx interim ones) and reports
// its status and whether the connection stays open. A connection closed
// before the first byte of the status line reads as io.EOF.
func (h *Conn) readResponse() (code int, keep bool, err error) {
	for {
		if h.r == h.n {
			if err := h.fill(); err != nil {
				return 0, false, err
			}
		}
		l, err := h.line()
		if err != nil {
			return 0, false, err
		}
		// "HTTP/1.x SSS reason"
		if len(l) < 12 || !bytes.HasPrefix(l, []byte("HTTP/1.")) || l[8] != ' ' {
			return 0, false, fmt.Errorf("%w: status line %q", ErrMalformed, trunc(l))
		}
		http10 := l[7] == '0'
		code = 0
		for _, c := range l[9:12] {
			if c < '0' || c > '9' {
				return 0, false, fmt.Errorf("%w: status line %q", ErrMalformed, trunc(l))
			}
			code = code*10 + int(c-'0')
		}
		keep = !http10
		cl := int64(-1)
		chunked := false
		for {
			l, err := h.line()
			if err != nil {
				return code, false, err
			}
			if len(l) == 0 {
				break
			}
			i := bytes.IndexByte(l, ':')
			if i <= 0 {
				return code, false, fmt.Errorf("%w: header line %q", ErrMalformed, trunc(l))
			}
			name, val := l[:i], bytes.TrimSpace(l[i+1:])
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				v, ok := parseDecimal(val)
				if !ok {
					return code, false, fmt.Errorf("%w: Content-Length %q", ErrMalformed, trunc(val))
				}
				cl = v
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				chunked = bytes.EqualFold(val, []byte("chunked"))
			case bytes.EqualFold(name, []byte("Connection")):
				if bytes.EqualFold(val, []byte("close")) {
					keep = false
				} else if bytes.EqualFold(val, []byte("keep-alive")) {
					keep = true
				}
			}
		}
		if code >= 100 && code < 200 {
			continue // interim response; the real one follows
		}
		switch {
		case code == 204 || code == 304:
		case chunked:
			err = h.skipChunked()
		case cl >= 0:
			err = h.skip(cl)
		default: // body runs to EOF
			for err == nil {
				h.r = h.n
				err = h.fill()
			}
			if err == io.EOF {
				err = nil
			}
			keep = false
		}
		return code, keep && err == nil, err
	}
}

func (h *Conn) skipChunked() error {
	for {
		l, err := h.line()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i]
		}
		size, ok := parseHex(bytes.TrimSpace(l))
		if !ok {
			return fmt.Errorf("%w: chunk size %q", ErrMalformed, trunc(l))
		}
		if size == 0 {
			for { // trailers up to the blank line
				l, err := h.line()
				if err != nil {
					return err
				}
				if len(l) == 0 {
					return nil
				}
			}
		}
		if err := h.skip(size); err != nil {
			return err
		}
		if l, err := h.line(); err != nil {
			return err
		} else if len(l) != 0 {
			return fmt.Errorf("%w: no CRLF after chunk", ErrMalformed)
		}
	}
}

func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func trunc(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
