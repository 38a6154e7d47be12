package appliance

import (
	"strconv"
	"unicode/utf8"
)

// Request-body validation. Messages and types follow pydantic's wording so
// clients written against upstream keep working; the loc of every problem
// starts with "body" as FastAPI's does.

const (
	defaultLimit   = 10
	maxLimit       = 1000
	maxIDChars     = 256
	maxExclude     = 1000
	maxSeeds       = 100
	maxBatch       = 256
	aggregateLimit = 5000
	maxBodyBytes   = 8 << 20
)

type locElem struct {
	key string
	idx int // used when key == ""
}

type valErr struct {
	loc []locElem
	msg string
	typ string
}

type span struct{ off, n int32 }

// request is the pooled per-request scratch state. Nothing in it survives
// the handler; reset keeps capacities.
type request struct {
	rid         []byte
	strBuf      []byte
	userID      span
	hasUser     bool
	limit       int
	exclude     []span
	seeds       []span
	excludeIdx  []int32
	seedIdx     []int32
	hits        []Hit
	out         []byte
	errs        []valErr
	elems       [][]byte
	includeMeta bool
	locBase     []locElem
	res         []elemResult // batch: one per element
	batchUsers  []int
	batchOut    [][]Hit
}

// elemResult is one batch element's outcome before it is written.
type elemResult struct {
	code  string
	msg   string
	dyn   []byte // dotted validation message
	hits  []Hit  // ranked individually (related, exclude_items)
	batch int    // index into batchUsers, or -1
	limit int
}

func (r *request) reset() {
	r.strBuf = r.strBuf[:0]
	r.userID = span{}
	r.hasUser = false
	r.limit = defaultLimit
	r.exclude = r.exclude[:0]
	r.seeds = r.seeds[:0]
	r.excludeIdx = r.excludeIdx[:0]
	r.seedIdx = r.seedIdx[:0]
	r.hits = r.hits[:0]
	r.out = r.out[:0]
	r.errs = r.errs[:0]
	r.elems = r.elems[:0]
	r.includeMeta = false
	r.locBase = r.locBase[:0]
}

func (r *request) str(s span) []byte { return r.strBuf[s.off : s.off+s.n] }

// addErr records a validation problem at locBase + extra.
func (r *request) addErr(msg, typ string, extra ...locElem) {
	loc := make([]locElem, 0, len(r.locBase)+len(extra))
	loc = append(loc, r.locBase...)
	loc = append(loc, extra...)
	r.errs = append(r.errs, valErr{loc: loc, msg: msg, typ: typ})
}

func lk(key string) locElem { return locElem{key: key} }
func li(i int) locElem      { return locElem{idx: i} }

func keyString(raw []byte) string {
	if !hasEscape(raw) {
		return string(raw)
	}
	return string(unescape(nil, raw))
}

// stringField stores a string value with a 1..maxChars length check
// (maxChars 0: no upper bound, minimum 0). ok reports success.
func (r *request) stringField(k jkind, val []byte, minChars, maxChars int, loc ...locElem) (span, bool) {
	if k != jString {
		r.addErr("Input should be a valid string", "string_type", loc...)
		return span{}, false
	}
	raw := val[1 : len(val)-1]
	off := len(r.strBuf)
	if hasEscape(raw) {
		r.strBuf = unescape(r.strBuf, raw)
	} else {
		r.strBuf = append(r.strBuf, raw...)
	}
	s := span{off: int32(off), n: int32(len(r.strBuf) - off)}
	n := utf8.RuneCount(r.str(s))
	if n < minChars {
		r.addErr("String should have at least 1 character", "string_too_short", loc...)
		return s, false
	}
	if maxChars > 0 && n > maxChars {
		r.addErr("String should have at most "+strconv.Itoa(maxChars)+" characters", "string_too_long", loc...)
		return s, false
	}
	return s, true
}

func (r *request) intField(k jkind, val []byte, lo, hi int, loc ...locElem) (int, bool) {
	if k != jNumber {
		r.addErr("Input should be a valid integer", "int_type", loc...)
		return 0, false
	}
	v, ok := parseInt(val)
	if !ok {
		r.addErr("Input should be a valid integer", "int_type", loc...)
		return 0, false
	}
	if v < int64(lo) {
		r.addErr("Input should be greater than or equal to "+strconv.Itoa(lo), "greater_than_equal", loc...)
		return 0, false
	}
	if v > int64(hi) {
		r.addErr("Input should be less than or equal to "+strconv.Itoa(hi), "less_than_equal", loc...)
		return 0, false
	}
	return int(v), true
}

// idList parses a list of 1..256-char strings with length bounds.
func (r *request) idList(k jkind, val []byte, minN, maxN int, dst []span, field string) []span {
	if k != jArray {
		r.addErr("Input should be a valid list", "list_type", lk(field))
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
			if s, ok := r.stringField(ek, ev, 1, maxIDChars, lk(field), li(n)); ok {
				dst = append(dst, s)
			}
		}
		n++
	}
	if n < minN {
		r.addErr("List should have at least "+strconv.Itoa(minN)+" item after validation, not "+strconv.Itoa(n), "too_short", lk(field))
	} else if n > maxN {
		r.addErr("List should have at most "+strconv.Itoa(maxN)+" items after validation, not "+strconv.Itoa(n), "too_long", lk(field))
	}
	return dst
}

// parseBody checks that body is one valid JSON document whose top level is
// an object; problems are recorded with loc ["body"].
func (r *request) parseBody(body []byte) ([]byte, bool) {
	if !validDocument(body) {
		r.addErr("JSON decode error", "json_invalid", lk("body"))
		return nil, false
	}
	s := jscan{b: body}
	if s.peekKind() != jObject {
		r.addErr("Input should be a valid dictionary or object to extract fields from", "model_attributes_type", lk("body"))
		return nil, false
	}
	return body[s.i:], true
}

// parseLegacy validates a /predict body: user_id (string, required),
// cutoff (1..1000, default 10); other keys are ignored.
func (r *request) parseLegacy(body []byte) bool {
	obj, ok := r.parseBody(body)
	if !ok {
		return false
	}
	r.locBase = append(r.locBase[:0], lk("body"))
	it := newObjIter(obj)
	for {
		key, k, val, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(key, "user_id"):
			if s, ok := r.stringField(k, val, 0, 0, lk("user_id")); ok {
				r.userID, r.hasUser = s, true
			} else {
				r.hasUser = true // present but invalid: no "missing"
			}
		case keyIs(key, "cutoff"):
			if v, ok := r.intField(k, val, 1, maxLimit, lk("cutoff")); ok {
				r.limit = v
			}
		}
	}
	if !r.hasUser {
		r.addErr("Field required", "missing", lk("user_id"))
	}
	return len(r.errs) == 0
}

// parseV1 validates one :recommend / :recommend-related object (obj must be
// a validated object) relative to r.locBase. Extra keys are forbidden.
func (r *request) parseV1(obj []byte, related bool) bool {
	before := len(r.errs)
	r.userID, r.hasUser = span{}, false
	r.limit = defaultLimit
	r.exclude = r.exclude[:0]
	r.seeds = r.seeds[:0]
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
			if s, ok := r.stringField(k, val, 1, maxIDChars, lk("user_id")); ok {
				r.userID = s
			}
		case related && keyIs(key, "seed_items"):
			seen = true
			r.seeds = r.idList(k, val, 1, maxSeeds, r.seeds, "seed_items")
		case keyIs(key, "limit"):
			if v, ok := r.intField(k, val, 1, maxLimit, lk("limit")); ok {
				r.limit = v
			}
		case keyIs(key, "exclude_items"):
			if k != jNull {
				r.exclude = r.idList(k, val, 0, maxExclude, r.exclude, "exclude_items")
			}
		default:
			r.addErr("Extra inputs are not permitted", "extra_forbidden", lk(keyString(key)))
		}
	}
	if !related && !r.hasUser {
		r.addErr("Field required", "missing", lk("user_id"))
	}
	if related && !seen {
		r.addErr("Field required", "missing", lk("seed_items"))
	}
	return len(r.errs) == before
}

// parseBatch validates the batch envelope; each element's raw bytes go to
// r.elems for per-element validation later.
func (r *request) parseBatch(body []byte) bool {
	obj, ok := r.parseBody(body)
	if !ok {
		return false
	}
	r.locBase = append(r.locBase[:0], lk("body"))
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
				r.addErr("Input should be a valid list", "list_type", lk("requests"))
				continue
			}
			ai := newArrIter(val)
			for {
				_, ev, ok := ai.next()
				if !ok {
					break
				}
				r.elems = append(r.elems, ev)
			}
			if n := len(r.elems); n < 1 {
				r.addErr("List should have at least 1 item after validation, not 0", "too_short", lk("requests"))
			} else if n > maxBatch {
				r.addErr("List should have at most "+strconv.Itoa(maxBatch)+" items after validation, not "+strconv.Itoa(n), "too_long", lk("requests"))
			}
		case keyIs(key, "include_metadata"):
			switch {
			case k == jBool:
				r.includeMeta = val[0] == 't'
			case k == jNull:
				r.addErr("Input should be a valid boolean", "bool_type", lk("include_metadata"))
			default:
				r.addErr("Input should be a valid boolean", "bool_type", lk("include_metadata"))
			}
		default:
			r.addErr("Extra inputs are not permitted", "extra_forbidden", lk(keyString(key)))
		}
	}
	if !seen {
		r.addErr("Field required", "missing", lk("requests"))
	}
	return len(r.errs) == 0
}

// dottedErr renders the first recorded error as "<dotted loc>: <msg>" for
// batch elements (loc relative to the element).
func (r *request) dottedErr(from int) []byte {
	e := r.errs[from]
	var b []byte
	for i, l := range e.loc {
		if i > 0 {
			b = append(b, '.')
		}
		if l.key != "" {
			b = append(b, l.key...)
		} else {
			b = strconv.AppendInt(b, int64(l.idx), 10)
		}
	}
	b = append(b, ": "...)
	return append(b, e.msg...)
}
