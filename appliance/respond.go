package appliance

import (
	"math"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/appliance/reqbody"
	"github.com/recotem/recotem/internal/jsonstr"
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

func appendScore(b []byte, f float32) []byte {
	return strconv.AppendFloat(b, float64(f), 'g', -1, 32)
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// appendItems writes [{meta..., "item_id":..,"score":..}, ...]; it returns
// the number of items whose metadata was degraded (sent bare).
func appendItems(b []byte, l *registry.Model, hits []registry.Hit, withMeta bool) ([]byte, int) {
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
		if withMeta && l.HasMeta() {
			if frag, bad := l.Meta(h.Item); bad {
				degraded++
			} else {
				b = append(b, frag...)
			}
		}
		b = append(b, `"item_id":`...)
		b = jsonstr.Append(b, l.Scorer.ItemID(int(h.Item)))
		b = append(b, `,"score":`...)
		b = appendScore(b, h.Score)
		b = append(b, '}')
	}
	return append(b, ']'), degraded
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
	b = jsonstr.Append(b, detail)
	if code != "" {
		b = append(b, `,"code":`...)
		b = jsonstr.Append(b, code)
	}
	if rid != nil {
		b = append(b, `,"request_id":`...)
		b = jsonstr.Append(b, rid)
	}
	b = append(b, '}')
	writeJSON(ctx, status, b)
}

// appendValidation renders the 422 envelope.
func appendValidation(b []byte, code string, rid []byte, errs []reqbody.Err) []byte {
	b = append(b, `{"detail":"Request validation failed","code":`...)
	b = jsonstr.Append(b, code)
	b = append(b, `,"request_id":`...)
	b = jsonstr.Append(b, rid)
	b = append(b, `,"errors":[`...)
	for i, e := range errs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"loc":[`...)
		for j, l := range e.Loc {
			if j > 0 {
				b = append(b, ',')
			}
			if l.Key != "" {
				b = jsonstr.Append(b, l.Key)
			} else {
				b = strconv.AppendInt(b, int64(l.Idx), 10)
			}
		}
		b = append(b, `],"msg":`...)
		b = jsonstr.Append(b, e.Msg)
		b = append(b, `,"type":`...)
		b = jsonstr.Append(b, e.Type)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
