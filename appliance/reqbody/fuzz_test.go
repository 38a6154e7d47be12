package reqbody

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzRequestParse: the scanner agrees with encoding/json (plus UTF-8) on validity, the
// parsers never panic, and a body they accept decodes the same way.
func FuzzRequestParse(f *testing.F) {
	for _, s := range []string{`{"user_id":"u1","cutoff":3}`, `{"user_id":"\u00e9\ud83d\ude00","limit":10,"exclude_items":["a","b"]}`,
		`{"seed_items":["x"],"limit":1.0}`, `{"requests":[{"user_id":"a"},1,null,[]],"include_metadata":true}`, `[1,2`, `{"a":}`, `"\x00"`, `1e5`, `-0.5e-3`, `{"a":[{"b":{"c":[]}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 4096 {
			return
		}
		// RFC 8259 text is UTF-8; encoding/json tolerates invalid bytes
		// inside strings, upstream (Python) refuses them, and so do we.
		if got, want := validDocument(body), json.Valid(body) && utf8.Valid(body); got != want {
			t.Fatalf("validDocument(%q) = %v, want %v", body, got, want)
		}
		var r Request
		r.Reset()
		if r.ParseLegacy(body) {
			var v struct {
				UserID string `json:"user_id"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.UserID != string(r.Str(r.UserID)) {
				t.Fatalf("user_id %q vs %q (%v)", r.Str(r.UserID), v.UserID, err)
			}
		}
		r.Reset()
		if obj, ok := r.ParseBody(body); ok {
			r.ParseV1(obj, false)
			r.Reset()
			r.ParseV1(obj, true)
		}
		r.Reset()
		if r.ParseBatch(body) {
			for _, el := range r.Elems {
				if len(el) > 0 && el[0] == '{' {
					r.ParseV1(el, false)
				}
			}
		}
	})
}
