package reqbody

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// Limits of the request bodies (recotem-behavior.md).
const (
	DefaultLimit   = 10
	maxLimit       = 1000
	maxIDChars     = 256
	maxExclude     = 1000
	maxSeeds       = 100
	maxBatch       = 256
	AggregateLimit = 5000    // sum of the accepted limits of one batch
	MaxBodyBytes   = 8 << 20 // larger bodies are refused before parsing
)

// Loc is one element of a problem's location: a key, or an index when Key
// is "".
type Loc struct {
	Key string
	Idx int
}

// Err is one validation problem, as pydantic reports it.
type Err struct {
	Loc  []Loc
	Msg  string
	Type string
}

// Span is a string of the body, unescaped into the Request's buffer.
type Span struct{ off, n int32 }

// Request is the parsed and validated body of one request. It is reused:
// Reset keeps capacities. Spans and Elems alias the body and the Request's
// buffer and live until the next Reset.
type Request struct {
	strBuf      []byte
	UserID      Span
	hasUser     bool
	Limit       int
	Exclude     []Span
	Seeds       []Span
	Errs        []Err
	Elems       [][]byte // batch elements, unparsed
	IncludeMeta bool
	LocBase     []Loc // prefix of the locs AddErr records
}

// JSONContentType accepts a Content-Type that is absent, application/json
// or application/*+json (parameters ignored, ASCII case-insensitive).
func JSONContentType(ct []byte) bool {
	if len(ct) == 0 {
		return true
	}
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	for _, c := range ct {
		if c >= utf8.RuneSelf {
			return false // no match, and bytes.EqualFold folds non-ASCII look-alikes
		}
	}
	const app, suffix = "application/", "+json"
	if bytes.EqualFold(ct, []byte("application/json")) {
		return true
	}
	return len(ct) > len(app)+len(suffix) && bytes.EqualFold(ct[:len(app)], []byte(app)) &&
		bytes.EqualFold(ct[len(ct)-len(suffix):], []byte(suffix))
}

// Name checks a recipe name from the path against ^[A-Za-z0-9_-]{1,64}$;
// a bad one is recorded at ["path", "name"].
func (r *Request) Name(name []byte) bool {
	ok := len(name) >= 1 && len(name) <= 64
	for _, c := range name {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-')
	}
	if !ok {
		r.AddErr("String should match pattern '^[A-Za-z0-9_-]{1,64}$'", "string_pattern_mismatch", Key("path"), Key("name"))
	}
	return ok
}

// Reset empties r for the next request.
func (r *Request) Reset() {
	r.strBuf = r.strBuf[:0]
	r.UserID = Span{}
	r.hasUser = false
	r.Limit = DefaultLimit
	r.Exclude = r.Exclude[:0]
	r.Seeds = r.Seeds[:0]
	r.Errs = r.Errs[:0]
	r.Elems = r.Elems[:0]
	r.IncludeMeta = false
	r.LocBase = r.LocBase[:0]
}

// ResetElement forgets the string buffer, the problems and LocBase before
// the next batch element is parsed (Elems stay).
func (r *Request) ResetElement() {
	r.strBuf = r.strBuf[:0]
	r.Errs = r.Errs[:0]
	r.LocBase = r.LocBase[:0]
}

// Str returns the bytes of s.
func (r *Request) Str(s Span) []byte { return r.strBuf[s.off : s.off+s.n] }

// AddErr records a validation problem at LocBase + extra.
func (r *Request) AddErr(msg, typ string, extra ...Loc) {
	loc := make([]Loc, 0, len(r.LocBase)+len(extra))
	loc = append(loc, r.LocBase...)
	loc = append(loc, extra...)
	r.Errs = append(r.Errs, Err{Loc: loc, Msg: msg, Type: typ})
}

// Key and Index make Locs.
func Key(key string) Loc { return Loc{Key: key} }
func Index(i int) Loc    { return Loc{Idx: i} }

func keyString(raw []byte) string {
	if !hasEscape(raw) {
		return string(raw)
	}
	return string(unescape(nil, raw))
}

// stringField stores a string value with a 1..maxChars length check
// (maxChars 0: no upper bound, minimum 0). ok reports success.
func (r *Request) stringField(k jkind, val []byte, minChars, maxChars int, loc ...Loc) (Span, bool) {
	if k != jString {
		r.AddErr("Input should be a valid string", "string_type", loc...)
		return Span{}, false
	}
	raw := val[1 : len(val)-1]
	off := len(r.strBuf)
	if hasEscape(raw) {
		r.strBuf = unescape(r.strBuf, raw)
	} else {
		r.strBuf = append(r.strBuf, raw...)
	}
	s := Span{off: int32(off), n: int32(len(r.strBuf) - off)}
	n := utf8.RuneCount(r.Str(s))
	if n < minChars {
		r.AddErr("String should have at least 1 character", "string_too_short", loc...)
		return s, false
	}
	if maxChars > 0 && n > maxChars {
		r.AddErr("String should have at most "+strconv.Itoa(maxChars)+" characters", "string_too_long", loc...)
		return s, false
	}
	return s, true
}

func (r *Request) intField(k jkind, val []byte, lo, hi int, loc ...Loc) (int, bool) {
	if k != jNumber {
		r.AddErr("Input should be a valid integer", "int_type", loc...)
		return 0, false
	}
	v, ok := parseInt(val)
	if !ok {
		r.AddErr("Input should be a valid integer", "int_type", loc...)
		return 0, false
	}
	if v < int64(lo) {
		r.AddErr("Input should be greater than or equal to "+strconv.Itoa(lo), "greater_than_equal", loc...)
		return 0, false
	}
	if v > int64(hi) {
		r.AddErr("Input should be less than or equal to "+strconv.Itoa(hi), "less_than_equal", loc...)
		return 0, false
	}
	return int(v), true
}

// idList parses a list of 1..256-char strings with length bounds.
func (r *Request) idList(k jkind, val []byte, minN, maxN int, dst []Span, field string) []Span {
	if k != jArray {
		r.AddErr("Input should be a valid list", "list_type", Key(field))
		return dst
	}
	it := newArrIter(val)
	n := 0
	for {
		ek, ev, ok := it.next()
		if !ok {
			break
		}
		if n < maxN {
			if s, ok := r.stringField(ek, ev, 1, maxIDChars, Key(field), Index(n)); ok {
				dst = append(dst, s)
			}
		}
		n++
	}
	if n < minN {
		r.AddErr("List should have at least "+strconv.Itoa(minN)+" item after validation, not "+strconv.Itoa(n), "too_short", Key(field))
	} else if n > maxN {
		r.AddErr("List should have at most "+strconv.Itoa(maxN)+" items after validation, not "+strconv.Itoa(n), "too_long", Key(field))
	}
	return dst
}

// ParseBody checks that body is one valid JSON document whose top level is
// an object; problems are recorded with loc ["body"].
func (r *Request) ParseBody(body []byte) ([]byte, bool) {
	if !validDocument(body) {
		r.AddErr("JSON decode error", "json_invalid", Key("body"))
		return nil, false
	}
	s := jscan{b: body}
	if s.peekKind() != jObject {
		r.AddErr("Input should be a valid dictionary or object to extract fields from", "model_attributes_type", Key("body"))
		return nil, false
	}
	return body[s.i:], true
}

// ParseLegacy validates a /predict body: user_id (string, required),
// cutoff (1..1000, default 10); other keys are ignored.
func (r *Request) ParseLegacy(body []byte) bool {
	obj, ok := r.ParseBody(body)
	if !ok {
		return false
	}
	r.LocBase = append(r.LocBase[:0], Key("body"))
	it := newObjIter(obj)
	for {
		key, k, val, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(key, "user_id"):
			if s, ok := r.stringField(k, val, 0, 0, Key("user_id")); ok {
				r.UserID, r.hasUser = s, true
			} else {
				r.hasUser = true // present but invalid: no "missing"
			}
		case keyIs(key, "cutoff"):
			if v, ok := r.intField(k, val, 1, maxLimit, Key("cutoff")); ok {
				r.Limit = v
			}
		}
	}
	if !r.hasUser {
		r.AddErr("Field required", "missing", Key("user_id"))
	}
	return len(r.Errs) == 0
}

// ParseV1 validates one :recommend / :recommend-related object (obj must be
// a validated object) relative to r.LocBase. Extra keys are forbidden.
func (r *Request) ParseV1(obj []byte, related bool) bool {
	before := len(r.Errs)
	r.UserID, r.hasUser = Span{}, false
	r.Limit = DefaultLimit
	r.Exclude = r.Exclude[:0]
	r.Seeds = r.Seeds[:0]
	seen := false
	it := newObjIter(obj)
	for {
		key, k, val, ok := it.next()
		if !ok {
			break
		}
		switch {
		case !related && keyIs(key, "user_id"):
			r.hasUser = true
			if s, ok := r.stringField(k, val, 1, maxIDChars, Key("user_id")); ok {
				r.UserID = s
			}
		case related && keyIs(key, "seed_items"):
			seen = true
			r.Seeds = r.idList(k, val, 1, maxSeeds, r.Seeds, "seed_items")
		case keyIs(key, "limit"):
			if v, ok := r.intField(k, val, 1, maxLimit, Key("limit")); ok {
				r.Limit = v
			}
		case keyIs(key, "exclude_items"):
			if k != jNull {
				r.Exclude = r.idList(k, val, 0, maxExclude, r.Exclude, "exclude_items")
			}
		default:
			r.AddErr("Extra inputs are not permitted", "extra_forbidden", Key(keyString(key)))
		}
	}
	if !related && !r.hasUser {
		r.AddErr("Field required", "missing", Key("user_id"))
	}
	if related && !seen {
		r.AddErr("Field required", "missing", Key("seed_items"))
	}
	return len(r.Errs) == before
}

// ParseBatch validates the batch envelope; each element's raw bytes go to
// r.Elems for per-element validation later.
func (r *Request) ParseBatch(body []byte) bool {
	obj, ok := r.ParseBody(body)
	if !ok {
		return false
	}
	r.LocBase = append(r.LocBase[:0], Key("body"))
	it := newObjIter(obj)
	seen := false
	for {
		key, k, val, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(key, "requests"):
			seen = true
			if k != jArray {
				r.AddErr("Input should be a valid list", "list_type", Key("requests"))
				continue
			}
			ai := newArrIter(val)
			for {
				_, ev, ok := ai.next()
				if !ok {
					break
				}
				r.Elems = append(r.Elems, ev)
			}
			if n := len(r.Elems); n < 1 {
				r.AddErr("List should have at least 1 item after validation, not 0", "too_short", Key("requests"))
			} else if n > maxBatch {
				r.AddErr("List should have at most "+strconv.Itoa(maxBatch)+" items after validation, not "+strconv.Itoa(n), "too_long", Key("requests"))
			}
		case keyIs(key, "include_metadata"):
			switch {
			case k == jBool:
				r.IncludeMeta = val[0] == 't'
			case k == jNull:
				r.AddErr("Input should be a valid boolean", "bool_type", Key("include_metadata"))
			default:
				r.AddErr("Input should be a valid boolean", "bool_type", Key("include_metadata"))
			}
		default:
			r.AddErr("Extra inputs are not permitted", "extra_forbidden", Key(keyString(key)))
		}
	}
	if !seen {
		r.AddErr("Field required", "missing", Key("requests"))
	}
	return len(r.Errs) == 0
}

// DottedErr renders the first recorded error as "<dotted loc>: <msg>" for
// batch elements (loc relative to the element).
func (r *Request) DottedErr(from int) []byte {
	e := r.Errs[from]
	var b []byte
	for i, l := range e.Loc {
		if i > 0 {
			b = append(b, '.')
		}
		if l.Key != "" {
			b = append(b, l.Key...)
		} else {
			b = strconv.AppendInt(b, int64(l.Idx), 10)
		}
	}
	b = append(b, ": "...)
	return append(b, e.Msg...)
}
