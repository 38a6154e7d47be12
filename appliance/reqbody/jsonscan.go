package reqbody

import (
	"errors"
	"unicode/utf8"
)

// A tiny strict JSON scanner for request bodies: it validates RFC 8259
// syntax, walks objects and arrays member by member, and unescapes strings
// into caller-owned buffers. It never allocates and never uses reflection.

type jkind uint8

const (
	jInvalid jkind = iota
	jNull
	jBool
	jNumber
	jString
	jArray
	jObject
)

var errJSON = errors.New("JSON decode error")

const maxDepth = 64

type jscan struct {
	b     []byte
	i     int
	depth int
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *jscan) ws() {
	for s.i < len(s.b) && isWS(s.b[s.i]) {
		s.i++
	}
}

// peekKind reports the kind of the next value after whitespace.
func (s *jscan) peekKind() jkind {
	s.ws()
	if s.i >= len(s.b) {
		return jInvalid
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return jObject
	case c == '[':
		return jArray
	case c == '"':
		return jString
	case c == 't' || c == 'f':
		return jBool
	case c == 'n':
		return jNull
	case c == '-' || (c >= '0' && c <= '9'):
		return jNumber
	}
	return jInvalid
}

// skip validates and skips one value, returning its kind and raw span.
func (s *jscan) skip() (jkind, []byte, error) {
	k := s.peekKind()
	start := s.i
	var err error
	switch k {
	case jObject:
		err = s.skipObject()
	case jArray:
		err = s.skipArray()
	case jString:
		_, err = s.rawString()
	case jBool:
		if hasPrefix(s.b[s.i:], "true") {
			s.i += 4
		} else if hasPrefix(s.b[s.i:], "false") {
			s.i += 5
		} else {
			err = errJSON
		}
	case jNull:
		if hasPrefix(s.b[s.i:], "null") {
			s.i += 4
		} else {
			err = errJSON
		}
	case jNumber:
		err = s.number()
	default:
		err = errJSON
	}
	if err != nil {
		return jInvalid, nil, err
	}
	return k, s.b[start:s.i], nil
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

func (s *jscan) number() error {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return errJSON
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return errJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return errJSON
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return errJSON
		}
	}
	s.i = i
	return nil
}

// rawString validates a string at s.i and returns its contents between the
// quotes, escapes unresolved.
func (s *jscan) rawString() ([]byte, error) {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return nil, errJSON
	}
	i := s.i + 1
	start := i
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return b[start:i], nil
		case c == '\\':
			if i+1 >= len(b) {
				return nil, errJSON
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return nil, errJSON
				}
				for _, h := range b[i+2 : i+6] {
					if unhex(h) < 0 {
						return nil, errJSON
					}
				}
				i += 6
			default:
				return nil, errJSON
			}
		case c < 0x20:
			return nil, errJSON
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, errJSON
			}
			i += n
		}
	}
	return nil, errJSON
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape appends the decoded form of a raw (validated) string to dst.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(raw[i+2:]))
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				r2 := rune(hex4(raw[i+2:]))
				if r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					i += 6
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

func hasEscape(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' {
			return true
		}
	}
	return false
}

func (s *jscan) skipObject() error {
	s.depth++
	if s.depth > maxDepth {
		return errJSON
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if _, err := s.rawString(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errJSON
		}
		s.i++
		if _, _, err := s.skip(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errJSON
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.b[s.i] == '}' {
			s.i++
			s.depth--
			return nil
		}
		return errJSON
	}
}

func (s *jscan) skipArray() error {
	s.depth++
	if s.depth > maxDepth {
		return errJSON
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if _, _, err := s.skip(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errJSON
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.b[s.i] == ']' {
			s.i++
			s.depth--
			return nil
		}
		return errJSON
	}
}

// validDocument reports whether b is exactly one valid JSON value.
func validDocument(b []byte) bool {
	s := jscan{b: b}
	if _, _, err := s.skip(); err != nil {
		return false
	}
	s.ws()
	return s.i == len(b)
}

// objIter walks the members of an already validated object value.
type objIter struct {
	s jscan
}

// newObjIter starts at raw, which must be a validated object.
func newObjIter(raw []byte) objIter {
	it := objIter{s: jscan{b: raw}}
	it.s.ws()
	it.s.i++ // {
	return it
}

// next returns the next member's raw key (escapes unresolved), the value
// kind and raw value. ok is false after the last member.
func (it *objIter) next() (key []byte, k jkind, val []byte, ok bool) {
	s := &it.s
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] == '}' {
		return nil, jInvalid, nil, false
	}
	if s.b[s.i] == ',' {
		s.i++
		s.ws()
	}
	key, _ = s.rawString()
	s.ws()
	s.i++ // :
	k, val, _ = s.skip()
	return key, k, val, true
}

// arrIter walks the elements of a validated array value.
type arrIter struct {
	s jscan
}

func newArrIter(raw []byte) arrIter {
	it := arrIter{s: jscan{b: raw}}
	it.s.ws()
	it.s.i++ // [
	return it
}

func (it *arrIter) next() (k jkind, val []byte, ok bool) {
	s := &it.s
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] == ']' {
		return jInvalid, nil, false
	}
	if s.b[s.i] == ',' {
		s.i++
	}
	k, val, _ = s.skip()
	return k, val, true
}

// keyIs compares a raw key with a plain ASCII name (keys with escapes are
// decoded into a small stack buffer first).
func keyIs(raw []byte, name string) bool {
	if !hasEscape(raw) {
		return string(raw) == name
	}
	var buf [64]byte
	if len(raw) > len(buf) {
		return false
	}
	return string(unescape(buf[:0], raw)) == name
}

// parseInt parses a JSON number that must be an integer (a float with a
// zero fraction is accepted, like pydantic's lax mode). ok=false otherwise.
func parseInt(raw []byte) (int64, bool) {
	neg := false
	i := 0
	if i < len(raw) && raw[i] == '-' {
		neg = true
		i++
	}
	var v int64
	for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
		if v > (1<<62)/10 {
			return 0, false
		}
		v = v*10 + int64(raw[i]-'0')
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		for ; i < len(raw) && raw[i] == '0'; i++ {
		}
	}
	if i != len(raw) {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
