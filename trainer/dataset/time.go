package dataset

import (
	"math"
	"strconv"
	"time"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/trainer/source"
)

func unitNanos(u string) int64 {
	switch u {
	case "s":
		return 1e9
	case "ms":
		return 1e6
	case "us":
		return 1e3
	case "ns":
		return 1
	}
	return 0
}

// Timestamp layouts tried for text times, most common first. Text without
// a zone is UTC.
var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006/01/02 15:04:05",
	"2006/01/02",
}

// timeParser turns time cells into unix nanoseconds (UTC).
type timeParser struct {
	column string
	unit   int64 // ns per unit; 0 = not configured
	last   int   // index of the last layout that matched
}

func (p *timeParser) parse(v source.Value, row int) (int64, error) {
	switch v.Kind {
	case source.Time:
		return v.Int, nil
	case source.Int:
		return p.fromInt(v.Int, row)
	case source.Float:
		return p.fromFloat(v.Float, row)
	case source.String:
		if i, ok := parseDecimal(v.Str); ok {
			return p.fromInt(i, row)
		}
		s := string(v.Str)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return p.fromInt(i, row)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return p.fromFloat(f, row)
		}
		for k := range layouts {
			l := layouts[(p.last+k)%len(layouts)]
			if t, err := time.Parse(l, s); err == nil {
				p.last = (p.last + k) % len(layouts)
				return t.UnixNano(), nil
			}
		}
		return 0, p.fail(row, "cannot parse the value as a timestamp")
	case source.Null:
		return 0, p.fail(row, "null time value")
	}
	return 0, p.fail(row, "not a time value")
}

func (p *timeParser) needUnit() error {
	return failure.New(failure.Training, "time_unit_required",
		"time_unit_required: time column %q is numeric; set schema.time_unit to s, ms, us or ns", p.column)
}

func (p *timeParser) fromInt(i int64, row int) (int64, error) {
	if p.unit == 0 {
		return 0, p.needUnit()
	}
	if i > math.MaxInt64/p.unit || i < math.MinInt64/p.unit {
		return 0, p.fail(row, "numeric time out of range")
	}
	return i * p.unit, nil
}

func (p *timeParser) fromFloat(f float64, row int) (int64, error) {
	if p.unit == 0 {
		return 0, p.needUnit()
	}
	ns := math.Round(f * float64(p.unit))
	if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
		return 0, p.fail(row, "numeric time out of range")
	}
	return int64(ns), nil
}

// fail reports a bad time at row (counted within the chunk; the builder
// resolves it to the data row of the source).
func (p *timeParser) fail(row int, why string) error {
	return &rowError{row: row, column: p.column, why: why}
}

func timeFailure(column string, row int, why string) error {
	return failure.New(failure.Training, "time_column_parse_error",
		"time_column_parse_error: time column %q, data row %d: %s", column, row, why)
}

// parseDecimal is strconv.ParseInt(string(b), 10, 64) for texts of at most
// 18 digits (which cannot overflow), without allocating; ok is false for
// anything else, which the caller hands to strconv.
func parseDecimal(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	u, ok := digits(b, 18)
	if neg {
		return -int64(u), ok
	}
	return int64(u), ok
}
