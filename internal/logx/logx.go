package logx

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/recotem/recotem/internal/jsonstr"
)

// Formats accepted by New (and RECOTEM_LOG_FORMAT).
const (
	FormatAuto    = "auto"    // console on a terminal, else json
	FormatJSON    = "json"    // one compact JSON object per line
	FormatConsole = "console" // human-readable lines
)

// ValidFormat reports whether s is one of auto, json, console.
func ValidFormat(s string) bool {
	return s == FormatAuto || s == FormatJSON || s == FormatConsole
}

// DefaultLogger is the value of the "logger" field.
const DefaultLogger = "recotem"

// Options configure a Handler. The zero value logs JSON at info level.
type Options struct {
	Format string           // auto (default), json or console
	Level  slog.Leveler     // minimum level; nil means info
	Logger string           // the "logger" field; empty means "recotem"
	Now    func() time.Time // clock overriding record times (tests); nil uses the record's time
}

// New returns a logger writing to w in format (auto, json or console; an
// unknown format is treated as auto) at the given minimum level.
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	return slog.New(NewHandler(w, Options{Format: format, Level: level}))
}

// Handler is a slog.Handler that redacts, then renders §9 lines.
type Handler struct {
	out     *output
	console bool
	level   slog.Leveler
	name    string
	now     func() time.Time
	goas    []groupOrAttrs
}

type output struct {
	mu sync.Mutex
	w  io.Writer
}

type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

// NewHandler returns a Handler writing to w.
func NewHandler(w io.Writer, o Options) *Handler {
	h := &Handler{out: &output{w: w}, level: o.Level, name: o.Logger, now: o.Now}
	if h.level == nil {
		h.level = slog.LevelInfo
	}
	if h.name == "" {
		h.name = DefaultLogger
	}
	switch o.Format {
	case FormatConsole:
		h.console = true
	case FormatJSON:
	default:
		h.console = isTerminal(w)
	}
	return h
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := *h
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{attrs: slices.Clone(as)})
	return &h2
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{group: name})
	return &h2
}

// Handle implements slog.Handler: redaction first, then rendering, then one
// Write.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if h.now != nil {
		t = h.now()
	} else if t.IsZero() {
		t = time.Now()
	}
	buf := h.render(r, t)
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(buf)
	return err
}

func (h *Handler) render(r slog.Record, t time.Time) (buf []byte) {
	defer func() {
		if p := recover(); p != nil {
			buf = h.failed(r, t)
		}
	}()
	event := RedactString(r.Message)
	fields := redactAttrs(h.collect(r), nil)
	if h.console {
		return h.appendConsole(nil, event, r.Level, t, fields)
	}
	b := h.appendPrefix(nil, event, r.Level, t)
	for _, f := range fields {
		b = append(b, ',')
		b = jsonstr.Append(b, f.key)
		b = append(b, ':')
		b = f.v.appendJSON(b)
	}
	return append(b, '}', '\n')
}

// failed is the line written when redaction panics: nothing but the event.
func (h *Handler) failed(r slog.Record, t time.Time) []byte {
	orig := "<unavailable>"
	func() {
		defer func() { _ = recover() }()
		orig = RedactString(r.Message)
	}()
	b := h.appendPrefix(nil, "[redaction_failed]", r.Level, t)
	b = append(b, `,"original_event":`...)
	b = jsonstr.Append(b, orig)
	return append(b, '}', '\n')
}

func (h *Handler) appendPrefix(b []byte, event string, l slog.Level, t time.Time) []byte {
	b = append(b, `{"event":`...)
	b = jsonstr.Append(b, event)
	b = append(b, `,"level":"`...)
	b = append(b, LevelName(l)...)
	b = append(b, `","timestamp":"`...)
	b = appendTimestamp(b, t)
	b = append(b, `","logger":`...)
	return jsonstr.Append(b, h.name)
}

func appendTimestamp(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
}

// LevelName maps a slog level to §9's names: debug, info, warning, error.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warning"
	}
	return "error"
}

// collect nests the record's attributes inside the handler's groups, after
// the handler's own attributes, dropping groups that end up empty.
func (h *Handler) collect(r slog.Record) []slog.Attr {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	for i := len(h.goas) - 1; i >= 0; i-- {
		g := h.goas[i]
		if g.group != "" {
			if len(attrs) == 0 {
				continue
			}
			attrs = []slog.Attr{{Key: g.group, Value: slog.GroupValue(attrs...)}}
			continue
		}
		attrs = append(slices.Clone(g.attrs), attrs...)
	}
	return attrs
}

// A redacted value tree, ready to render.
type vkind uint8

const (
	vString vkind = iota
	vRaw          // a JSON literal: number, true, false, null
	vObject
	vArray
)

type value struct {
	kind   vkind
	s      string
	fields []field
	elems  []value
}

type field struct {
	key string
	v   value
}

func str(s string) value { return value{kind: vString, s: s} }
func raw(s string) value { return value{kind: vRaw, s: s} }

func redactAttrs(as []slog.Attr, dst []field) []field {
	for _, a := range as {
		a.Value = resolve(a.Value)
		if a.Value.Kind() == slog.KindGroup {
			kids := a.Value.Group()
			if a.Key == "" {
				dst = redactAttrs(kids, dst) // inline, as slog specifies
				continue
			}
			if len(kids) == 0 {
				continue
			}
		} else if a.Key == "" {
			continue
		}
		if SensitiveKey(a.Key) {
			dst = append(dst, field{a.Key, str(Redacted)})
			continue
		}
		dst = append(dst, field{a.Key, slogValue(a.Value)})
	}
	return dst
}

func slogValue(v slog.Value) value {
	switch v.Kind() {
	case slog.KindString:
		return str(RedactString(v.String()))
	case slog.KindInt64:
		return raw(strconv.FormatInt(v.Int64(), 10))
	case slog.KindUint64:
		return raw(strconv.FormatUint(v.Uint64(), 10))
	case slog.KindFloat64:
		return floatValue(v.Float64())
	case slog.KindBool:
		return raw(strconv.FormatBool(v.Bool()))
	case slog.KindDuration:
		return str(v.Duration().String())
	case slog.KindTime:
		return str(v.Time().UTC().Format(time.RFC3339Nano))
	case slog.KindGroup:
		return value{kind: vObject, fields: redactAttrs(v.Group(), nil)}
	case slog.KindLogValuer:
		return slogValue(resolve(v))
	}
	return anyValue(v.Any())
}

// resolve is slog.Value.Resolve without its recover: a panicking LogValue
// must turn the line into [redaction_failed], not into a stack trace.
func resolve(v slog.Value) slog.Value {
	for range 100 {
		if v.Kind() != slog.KindLogValuer {
			return v
		}
		v = v.LogValuer().LogValue()
	}
	return slog.StringValue("<LogValue loop>")
}

func floatValue(f float64) value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return str(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return raw(strconv.FormatFloat(f, 'g', -1, 64))
}

func anyValue(x any) value {
	if x == nil {
		return raw("null")
	}
	switch x := x.(type) {
	case error:
		return str(RedactString(x.Error()))
	case json.Marshaler, encoding.TextMarshaler:
		return marshalValue(x)
	case fmt.Stringer:
		return str(RedactString(x.String()))
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return str("<bytes len=" + strconv.Itoa(rv.Len()) + ">")
		}
	case reflect.String:
		return str(RedactString(rv.String()))
	case reflect.Pointer:
		if rv.IsNil() {
			return raw("null")
		}
	}
	return marshalValue(x)
}

// marshalValue renders x through encoding/json, then walks the result so
// that key and value rules apply inside maps and structs too.
func marshalValue(x any) value {
	b, err := json.Marshal(x)
	if err != nil {
		return str(RedactString(fmt.Sprintf("%+v", x)))
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return str(RedactString(string(b)))
	}
	return jsonValue(v)
}

func jsonValue(v any) value {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := value{kind: vObject, fields: make([]field, 0, len(keys))}
		for _, k := range keys {
			if SensitiveKey(k) {
				out.fields = append(out.fields, field{k, str(Redacted)})
			} else {
				out.fields = append(out.fields, field{k, jsonValue(v[k])})
			}
		}
		return out
	case []any:
		out := value{kind: vArray, elems: make([]value, len(v))}
		for i, e := range v {
			out.elems[i] = jsonValue(e)
		}
		return out
	case string:
		return str(RedactString(v))
	case json.Number:
		return raw(v.String())
	case bool:
		return raw(strconv.FormatBool(v))
	}
	return raw("null")
}

func (v value) appendJSON(b []byte) []byte {
	switch v.kind {
	case vString:
		return jsonstr.Append(b, v.s)
	case vRaw:
		return append(b, v.s...)
	case vObject:
		b = append(b, '{')
		for i, f := range v.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, f.key)
			b = append(b, ':')
			b = f.v.appendJSON(b)
		}
		return append(b, '}')
	}
	b = append(b, '[')
	for i, e := range v.elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendJSON(b)
	}
	return append(b, ']')
}

// appendConsole renders "2006-01-02T15:04:05.000000Z [info     ] event  k=v g.k=v".
func (h *Handler) appendConsole(b []byte, event string, l slog.Level, t time.Time, fields []field) []byte {
	b = appendTimestamp(b, t)
	b = append(b, " ["...)
	name := LevelName(l)
	b = append(b, name...)
	b = append(b, strings.Repeat(" ", max(0, 9-len(name)))...)
	b = append(b, "] "...)
	b = append(b, sanitizeConsole(event)...)
	if len(fields) > 0 {
		b = append(b, ' ', ' ')
	}
	b = appendConsoleFields(b, "", fields, true)
	return append(b, '\n')
}

func appendConsoleFields(b []byte, prefix string, fields []field, first bool) []byte {
	for _, f := range fields {
		key := prefix + f.key
		if f.v.kind == vObject && len(f.v.fields) > 0 {
			b = appendConsoleFields(b, key+".", f.v.fields, first)
			first = false
			continue
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, sanitizeConsole(key)...)
		b = append(b, '=')
		switch f.v.kind {
		case vString:
			if f.v.s == "" || strings.ContainsAny(f.v.s, " \t\r\n\"=\\") || !isPrintable(f.v.s) {
				b = strconv.AppendQuote(b, f.v.s)
			} else {
				b = append(b, f.v.s...)
			}
		default:
			b = f.v.appendJSON(b)
		}
	}
	return b
}

func isPrintable(s string) bool {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

func sanitizeConsole(s string) string {
	if isPrintable(s) && !strings.ContainsAny(s, "\n\r") {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
