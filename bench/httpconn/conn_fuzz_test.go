package httpconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// byteFeed is a net.Conn that hands its bytes to the parser step bytes at a
// time, then io.EOF: the response parser's input, cut at every boundary.
type byteFeed struct {
	data []byte
	step int
}

func (f *byteFeed) Read(b []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), f.step)], f.data)
	f.data = f.data[n:]
	return n, nil
}
func (f *byteFeed) Write(b []byte) (int, error)      { return len(b), nil }
func (f *byteFeed) Close() error                     { return nil }
func (f *byteFeed) LocalAddr() net.Addr              { return nil }
func (f *byteFeed) RemoteAddr() net.Addr             { return nil }
func (f *byteFeed) SetDeadline(time.Time) error      { return nil }
func (f *byteFeed) SetReadDeadline(time.Time) error  { return nil }
func (f *byteFeed) SetWriteDeadline(time.Time) error { return nil }

func feedConn(data []byte, step int) *Conn {
	h := New(nil, time.Second)
	h.c = &byteFeed{data: data, step: max(1, step)}
	return h
}

// FuzzReadResponse: a well-formed response (Content-Length or chunked body,
// any cut of the stream) parses to its status and leaves the connection at
// the next response, which parses too; arbitrary bytes never panic, never
// loop, and a parse without error reports a three-digit status.
func FuzzReadResponse(f *testing.F) {
	f.Add(uint16(200), []byte(`{"items":[]}`), false, uint8(7), uint8(3), []byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Add(uint16(404), []byte("not found"), true, uint8(2), uint8(1), []byte("HTTP/1.0 204 x\r\nContent-Length: 5\r\n\r\nabc"))
	f.Add(uint16(503), []byte{}, true, uint8(0), uint8(64), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, code uint16, body []byte, chunked bool, chunk, step uint8, junk []byte) {
		code = 200 + code%400 // a final status, not 1xx/204/304 bodies rules
		if code == 204 || code == 304 {
			code = 200
		}
		var resp bytes.Buffer
		fmt.Fprintf(&resp, "HTTP/1.1 %d Reason\r\nX-Request-ID: abc\r\n", code)
		if chunked {
			resp.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			rest, cs := body, max(1, int(chunk))
			for len(rest) > 0 {
				n := min(cs, len(rest))
				fmt.Fprintf(&resp, "%x;ext=1\r\n", n)
				resp.Write(rest[:n])
				resp.WriteString("\r\n")
				rest = rest[n:]
			}
			resp.WriteString("0\r\nTrailer: t\r\n\r\n")
		} else {
			fmt.Fprintf(&resp, "Content-Length: %d\r\n\r\n", len(body))
			resp.Write(body)
		}
		resp.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		if resp.Len() < readBufSize {
			h := feedConn(resp.Bytes(), int(step))
			got, keep, err := h.readResponse()
			if err != nil || got != int(code) || !keep {
				t.Fatalf("first response: code %d keep %v err %v, want %d", got, keep, err, code)
			}
			got, keep, err = h.readResponse()
			if err != nil || got != 204 || keep {
				t.Fatalf("second response: code %d keep %v err %v, want 204 and close", got, keep, err)
			}
			if _, _, err := h.readResponse(); err != io.EOF {
				t.Fatalf("after the last response: %v, want io.EOF", err)
			}
		}
		// arbitrary bytes: every call consumes input or ends, codes are 3 digits
		h := feedConn(junk, int(step))
		for i := 0; ; i++ {
			if i > len(junk)+2 {
				t.Fatalf("no progress after %d responses from %d bytes", i, len(junk))
			}
			got, _, err := h.readResponse()
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error class: %v", err)
				}
				break
			}
			if got < 0 || got > 999 {
				t.Fatalf("status %d", got)
			}
		}
	})
}
