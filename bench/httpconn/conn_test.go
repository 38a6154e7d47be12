package httpconn

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// scriptConn answers each Write with the next canned response, handed out
// step bytes per Read, so every parse path also runs across split reads.
type scriptConn struct {
	byteFeed // the net.Conn methods scriptConn does not define
	answers  []string
	out      string
	step     int
	written  []string
	closed   bool
}

func (c *scriptConn) Write(b []byte) (int, error) {
	c.written = append(c.written, string(b))
	if len(c.answers) > 0 {
		c.out += c.answers[0]
		c.answers = c.answers[1:]
	}
	return len(b), nil
}

func (c *scriptConn) Read(b []byte) (int, error) {
	if c.out == "" {
		return 0, io.EOF
	}
	n := min(len(b), c.step, len(c.out))
	copy(b, c.out[:n])
	c.out = c.out[n:]
	return n, nil
}

func (c *scriptConn) Close() error { c.closed = true; return nil }

func TestHTTPConnParsesResponses(t *testing.T) {
	f := func(name, answer string, wantCode int, wantKeep bool, wantErr error) {
		t.Helper()
		for _, step := range []int{1, 3, 7, 1 << 20} {
			sc := &scriptConn{answers: []string{answer, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"}, step: step}
			h := New(func() (net.Conn, error) { return sc, nil }, time.Second)
			code, _, err := h.RoundTrip([]byte("POST /x HTTP/1.1\r\nContent-Length: "), []byte(`{}`))
			if wantErr != nil {
				if !errors.Is(err, wantErr) {
					t.Errorf("%s (reads of %d bytes): error %v, want %v", name, step, err, wantErr)
				}
				if !sc.closed {
					t.Errorf("%s (reads of %d bytes): connection not closed after an error", name, step)
				}
				continue
			}
			if err != nil || code != wantCode {
				t.Errorf("%s (reads of %d bytes): %d, %v; want %d", name, step, code, err, wantCode)
				continue
			}
			if sc.closed == wantKeep {
				t.Errorf("%s (reads of %d bytes): closed=%v, want keep-alive=%v", name, step, sc.closed, wantKeep)
			}
			if sc.written[0] != "POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" {
				t.Errorf("%s: wrote %q", name, sc.written[0])
			}
			if wantKeep { // the next response on the same connection parses from where this one ended
				code, _, err = h.RoundTrip([]byte("POST /x HTTP/1.1\r\nContent-Length: "), nil)
				if err != nil || code != 201 {
					t.Errorf("%s (reads of %d bytes): second response %d, %v", name, step, code, err)
				}
			}
		}
	}
	f("content-length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"items\":[]}", 200, true, nil)
	f("header case, LF only", "HTTP/1.1 404 Not Found\ncontent-length:3\nX: y\n\nabc", 404, true, nil)
	f("chunked with extension and trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n", 200, true, nil)
	f("connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", 503, false, nil)
	f("HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, false, nil)
	f("HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", 200, true, nil)
	f("body to EOF", "HTTP/1.1 200 OK\r\n\r\nuntil the end", 200, false, nil)
	f("no body on 204", "HTTP/1.1 204 No Content\r\n\r\n", 204, true, nil)
	f("interim 100 skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, true, nil)
	f("garbage status line", "SSH-2.0-OpenSSH\r\n\r\n", 0, false, ErrMalformed)
	f("bad status code", "HTTP/1.1 2x0 OK\r\n\r\n", 0, false, ErrMalformed)
	f("bad content length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, false, ErrMalformed)
	f("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, false, ErrMalformed)
	f("short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, false, io.ErrUnexpectedEOF)
	f("closed mid-header", "HTTP/1.1 200 OK\r\nContent-Le", 0, false, io.ErrUnexpectedEOF)
	f("header too large", "HTTP/1.1 200 OK\r\nX: "+strings.Repeat("a", readBufSize)+"\r\n\r\n", 0, false, ErrTooLarge)
}

// TestHTTPConnRedials: after the server closes a connection the next
// request dials a new one; a closed idle connection is reported, not
// retried (the request may have reached the server).
func TestHTTPConnRedials(t *testing.T) {
	dials := 0
	h := New(func() (net.Conn, error) {
		dials++
		return &scriptConn{answers: []string{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"}, step: 64}, nil
	}, time.Second)
	for i := 0; i < 3; i++ {
		if code, _, err := h.RoundTrip([]byte("POST / HTTP/1.1\r\nContent-Length: "), nil); err != nil || code != 200 {
			t.Fatalf("request %d: %d, %v", i, code, err)
		}
	}
	if dials != 3 {
		t.Fatalf("%d dials for 3 requests on Connection: close, want 3", dials)
	}
	refused := errors.New("refused")
	h = New(func() (net.Conn, error) { return nil, refused }, time.Second)
	if _, _, err := h.RoundTrip(nil, nil); !errors.Is(err, refused) {
		t.Fatalf("dial error %v, want %v", err, refused)
	}
}
