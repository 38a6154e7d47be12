package jsonstr

import (
	"encoding/json"
	"testing"
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
	})
}
