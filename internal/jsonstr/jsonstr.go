// Package jsonstr owns the one JSON string literal encoder of the product:
// the server's responses, its metadata join, the load generator's request
// bodies and every log line (internal/logx) go through Append.
//
// Output is valid JSON that encoding/json decodes to the same string it
// decodes its own encoding of the input to. Escaped: '"' and '\' with a
// backslash; \n, \r and \t by name; the other C0 controls and DEL (0x7f)
// as \u00XX, so that no raw control byte reaches a terminal that shows a
// log line; U+2028 and U+2029 as \u2028 and \u2029, as encoding/json does,
// so that a literal can be embedded in JavaScript; each invalid UTF-8 byte
// as \ufffd, as encoding/json does. Everything else, '<', '>' and '&'
// included, is copied.
//
// Append does not allocate beyond growing dst.
package jsonstr

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// verbatim[c] reports that the ASCII byte c is copied as is.
var verbatim = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Append appends s as a JSON string literal to dst.
func Append[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is still to be copied verbatim
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if verbatim[c] {
				i++
				continue
			}
			dst = flush(dst, s, start, i)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && n == 1:
			dst = flush(dst, s, start, i)
			dst = append(dst, `\ufffd`...)
			start = i + n
		case r == '\u2028' || r == '\u2029':
			dst = flush(dst, s, start, i)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&15])
			start = i + n
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// flush appends s[start:i]; a single byte without the cost of a copy call.
func flush[T string | []byte](dst []byte, s T, start, i int) []byte {
	switch i - start {
	case 0:
		return dst
	case 1:
		return append(dst, s[start])
	}
	return append(dst, s[start:i]...)
}
