package sqlsrc

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrParam marks a bad query parameter (exit 3).
var ErrParam = errors.New("sql query parameter")

// bindNamed rewrites the recipe query's :name parameters into the
// dialect's placeholders ($n for PostgreSQL, ? otherwise) and returns the
// arguments in placeholder order. It follows SQLAlchemy text(): a name is
// :\w+ not preceded by a word character, ':' or '\', and not followed by
// ':'; "\:" is a literal colon; nothing inside quotes, quoted identifiers,
// comments or PostgreSQL dollar-quoted strings is touched; "::" casts stay.
// A name missing from params is an error; unused params are ignored.
func bindNamed(query string, params map[string]any, dialect string) (string, []any, error) {
	var b strings.Builder
	b.Grow(len(query) + 8)
	var args []any
	index := map[string]int{} // postgres: one $n per name
	n := len(query)
	for i := 0; i < n; {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(query, i, c, dialect == MySQL)
			b.WriteString(query[i:j])
			i = j
		case c == '-' && i+1 < n && query[i+1] == '-', c == '#' && dialect == MySQL:
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = n - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && i+1 < n && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			end := n
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(query[i:end])
			i = end
		case c == '$' && dialect == Postgres && dollarTag(query[i:]) != "":
			tag := dollarTag(query[i:])
			j := strings.Index(query[i+len(tag):], tag)
			end := n
			if j >= 0 {
				end = i + len(tag) + j + len(tag)
			}
			b.WriteString(query[i:end])
			i = end
		case c == '\\' && i+1 < n && query[i+1] == ':':
			b.WriteByte(':')
			i += 2
		case c == ':' && i+1 < n && query[i+1] == ':':
			b.WriteString("::")
			i += 2
		case c == ':' && !wordBefore(query, i):
			j := i + 1
			for j < n {
				r, size := utf8.DecodeRuneInString(query[j:])
				if !isWord(r) {
					break
				}
				j += size
			}
			if j == i+1 || (j < n && query[j] == ':') {
				b.WriteString(query[i:j])
				i = j
				continue
			}
			name := query[i+1 : j]
			v, ok := params[name]
			if !ok {
				return "", nil, dsErr(ErrParam, "sql query parameter :%s has no value in query_parameters", name)
			}
			arg, err := paramValue(name, v)
			if err != nil {
				return "", nil, err
			}
			if dialect == Postgres {
				k, seen := index[name]
				if !seen {
					args = append(args, arg)
					k = len(args)
					index[name] = k
				}
				b.WriteString("$" + strconv.Itoa(k))
			} else {
				args = append(args, arg)
				b.WriteByte('?')
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), args, nil
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func wordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWord(r) || r == ':' || r == '\\'
}

// skipQuoted returns the index just past the quoted run starting at i.
// Doubled quotes escape; MySQL also honours backslash escapes.
func skipQuoted(s string, i int, q byte, backslash bool) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash && q != '`' {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// dollarTag returns the $tag$ opening s, or "".
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		c := s[j]
		if c == '$' {
			return s[:j+1]
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9' || c >= 0x80) {
			return ""
		}
	}
	return ""
}

// paramValue checks a query_parameters value: str, int, float or bool.
func paramValue(name string, v any) (any, error) {
	switch x := v.(type) {
	case string, bool, int64, float64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			break
		}
		return int64(x), nil
	case float32:
		return float64(x), nil
	}
	return nil, dsErr(ErrParam, "sql query parameter %s must be a string, integer, float or boolean, not %T", name, v)
}

// checkParams validates every configured parameter's type, used or not.
func checkParams(params map[string]any) error {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, err := paramValue(k, params[k]); err != nil {
			return err
		}
	}
	return nil
}
