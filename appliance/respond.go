package appliance

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

var (
	hdrRequestID     = []byte("X-Request-ID")
	hdrModelVersion  = []byte("X-Recotem-Model-Version")
	hdrItemsDegraded = []byte("X-Recotem-Items-Degraded")
	hdrMetaDegraded  = []byte("X-Recotem-Metadata-Degraded")
	hdrAPIKey        = []byte("X-API-Key")
	ctJSON           = []byte("application/json")
	ctText           = []byte("text/plain; charset=utf-8")
)

const hexd = "0123456789abcdef"

// appendJSONStr appends s as a JSON string literal; invalid UTF-8 becomes
// U+FFFD.
func appendJSONStr[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				switch c {
				case '\n':
					b = append(b, '\\', 'n')
				case '\r':
					b = append(b, '\\', 'r')
				case '\t':
					b = append(b, '\\', 't')
				default:
					b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
				}
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+4, len(s))]))
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

func appendScore(b []byte, f float32) []byte {
	return strconv.AppendFloat(b, float64(f), 'g', -1, 32)
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// appendItems writes [{meta..., "item_id":..,"score":..}, ...]; it returns
// the number of items whose metadata was degraded (sent bare).
func appendItems(b []byte, l *loaded, hits []Hit, withMeta bool) ([]byte, int) {
	degraded := 0
	b = append(b, '[')
	first := true
	for _, h := range hits {
		if !finite(h.Score) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '{')
		if withMeta && l.hasMeta {
			if l.metaDegraded[h.Item] {
				degraded++
			} else {
				b = append(b, l.metaFrags[h.Item]...)
			}
		}
		b = append(b, `"item_id":`...)
		b = appendJSONStr(b, l.model.ItemID(int(h.Item)))
		b = append(b, `,"score":`...)
		b = appendScore(b, h.Score)
		b = append(b, '}')
	}
	return append(b, ']'), degraded
}

func appendLegacyModel(b []byte, name string, l *loaded) []byte {
	b = append(b, `{"recipe":`...)
	b = appendJSONStr(b, name)
	b = append(b, `,"trained_at":`...)
	b = appendJSONStr(b, l.trainedAt)
	b = append(b, `,"best_class":`...)
	b = appendJSONStr(b, l.bestClass)
	b = append(b, `,"kid":`...)
	b = appendJSONStr(b, l.kid)
	return append(b, '}')
}

func appendV1Prefix(b []byte, name, version string) []byte {
	b = append(b, `,"recipe":`...)
	b = appendJSONStr(b, name)
	b = append(b, `,"model_version":`...)
	b = appendJSONStr(b, version)
	return b
}

// writeJSON sets status, content type and body (copied).
func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentTypeBytes(ctJSON)
	ctx.SetBody(body)
}

// writeErr writes the flat {"detail","code"} envelope.
func writeErr(ctx *fasthttp.RequestCtx, buf []byte, status int, detail, code string, rid []byte) {
	b := append(buf[:0], `{"detail":`...)
	b = appendJSONStr(b, detail)
	if code != "" {
		b = append(b, `,"code":`...)
		b = appendJSONStr(b, code)
	}
	if rid != nil {
		b = append(b, `,"request_id":`...)
		b = appendJSONStr(b, rid)
	}
	b = append(b, '}')
	writeJSON(ctx, status, b)
}

// appendValidation renders the 422 envelope.
func appendValidation(b []byte, code string, rid []byte, errs []valErr) []byte {
	b = append(b, `{"detail":"Request validation failed","code":`...)
	b = appendJSONStr(b, code)
	b = append(b, `,"request_id":`...)
	b = appendJSONStr(b, rid)
	b = append(b, `,"errors":[`...)
	for i, e := range errs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"loc":[`...)
		for j, l := range e.loc {
			if j > 0 {
				b = append(b, ',')
			}
			if l.key != "" {
				b = appendJSONStr(b, l.key)
			} else {
				b = strconv.AppendInt(b, int64(l.idx), 10)
			}
		}
		b = append(b, `],"msg":`...)
		b = appendJSONStr(b, e.msg)
		b = append(b, `,"type":`...)
		b = appendJSONStr(b, e.typ)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
