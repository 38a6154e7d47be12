package jsonstr

import (
	"strings"
	"testing"
)

// BenchmarkAppend measures one string literal per size and alphabet: plain
// ASCII ids (the common case on the serving path), text with escapes, and
// multi-byte text.
//
//	go test -run ^$ -bench Append -benchtime 200000x ./internal/jsonstr
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"id16", "item_00001234567"},
		{"ascii256", strings.Repeat("abcdefgh", 32)},
		{"escapes64", strings.Repeat("a\"b\\c\nd\t", 8)},
		{"utf8_96", strings.Repeat("ユーザー", 8)},
	} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 4*len(c.s)+2)
			b.SetBytes(int64(len(c.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = Append(buf[:0], c.s)
			}
		})
	}
}
