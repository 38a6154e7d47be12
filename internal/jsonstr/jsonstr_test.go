package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendRoundTrips(t *testing.T) {
	f := func(in, wantDecoded string) {
		t.Helper()
		for _, b := range [][]byte{Append(nil, in), Append(nil, []byte(in))} {
			var got string
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%q → %s: %v", in, b, err)
			}
			if got != wantDecoded {
				t.Fatalf("%q → %s → %q, want %q", in, b, got, wantDecoded)
			}
		}
	}
	f("", "")
	f("u1", "u1")
	f(`a"b\c`, `a"b\c`)
	f("tab\tnl\ncr\rnul\x00\x1f", "tab\tnl\ncr\rnul\x00\x1f")
	f("ユーザー", "ユーザー")
	f("bad\xffutf8", "bad\ufffdutf8")
	f("cut\xe3\x83", "cut\ufffd\ufffd")
	f("</script>", "</script>")
	f("del\x7f ls\u2028ps\u2029", "del\x7f ls\u2028ps\u2029")
}

// TestAppendBytes pins the exact escapes (package doc): the one encoder of
// server responses and log lines.
func TestAppendBytes(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(Append(nil, in)); got != want {
			t.Fatalf("Append(%q) = %s, want %s", in, got, want)
		}
		if got := string(Append([]byte("x"), []byte(in))); got != "x"+want {
			t.Fatalf("Append(x, []byte(%q)) = %s, want x%s", in, got, want)
		}
	}
	f("", `""`)
	f("plain id_1", `"plain id_1"`)
	f(`q"b\`, `"q\"b\\"`)
	f("\n\r\t", `"\n\r\t"`)
	f("\x00\x01\x1f\x7f", `"\u0000\u0001\u001f\u007f"`)
	f("a\u2028b\u2029c", `"a\u2028b\u2029c"`)
	f("\xff", `"\ufffd"`)
	f("ok\xe3\x83", `"ok\ufffd\ufffd"`)
	f("ユーザー", `"ユーザー"`)
	f("<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`)
	f("x\u2027\u202a", "\"x\u2027\u202a\"") // neighbours of U+2028/9 are copied
}

func TestAppendNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], "ユーザー\"x\x01") }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("u1")
	f.Add("bad\xffutf8\x00\"\\")
	f.Add("\x7f\u2028\u2029\xe2\x80")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(Append(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s) // encoding/json's decoding of its own encoding
		var w string
		json.Unmarshal(want, &w)
		if got != w {
			t.Fatalf("%q decodes to %q, encoding/json's to %q", s, got, w)
		}
		// What the package doc promises never to emit raw.
		out := string(Append(nil, s))
		if !utf8.ValidString(out) || strings.ContainsFunc(out, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 }) {
			t.Fatalf("%q → %q: raw control, DEL, U+2028/9 or invalid UTF-8", s, out)
		}
	})
}
