package sqlstore

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Typed JSON for params and attributes: each value is stored as
// {"t": kind, "v": value} so ints stay ints after a round trip.
type typedValue struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v"`
}

func encodeValues(m map[string]any) (string, error) {
	out := make(map[string]typedValue, len(m))
	for k, v := range m {
		var tv typedValue
		switch x := v.(type) {
		case int:
			tv = typedValue{"int", json.RawMessage(strconv.Itoa(x))}
		case int64:
			tv = typedValue{"int", json.RawMessage(strconv.FormatInt(x, 10))}
		case float64:
			tv.T = "float"
			tv.V = json.RawMessage(strconv.FormatFloat(x, 'g', -1, 64))
			if x != x || x > 1.7976931348623157e308 || x < -1.7976931348623157e308 {
				tv.V = json.RawMessage(strconv.Quote(strconv.FormatFloat(x, 'g', -1, 64)))
			}
		case string:
			b, _ := json.Marshal(x)
			tv = typedValue{"str", b}
		case bool:
			tv = typedValue{"bool", json.RawMessage(strconv.FormatBool(x))}
		default:
			b, err := json.Marshal(x)
			if err != nil {
				return "", fmt.Errorf("encode %q: %w", k, err)
			}
			tv = typedValue{"json", b}
		}
		out[k] = tv
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeValues(s string) (map[string]any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var in map[string]typedValue
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(in))
	for k, tv := range in {
		var err error
		switch tv.T {
		case "int":
			var n int
			err = json.Unmarshal(tv.V, &n)
			out[k] = n
		case "float":
			var f float64
			if len(tv.V) > 0 && tv.V[0] == '"' {
				var q string
				if err = json.Unmarshal(tv.V, &q); err == nil {
					f, err = strconv.ParseFloat(q, 64)
				}
			} else {
				err = json.Unmarshal(tv.V, &f)
			}
			out[k] = f
		case "str":
			var x string
			err = json.Unmarshal(tv.V, &x)
			out[k] = x
		case "bool":
			var x bool
			err = json.Unmarshal(tv.V, &x)
			out[k] = x
		default:
			var x any
			err = json.Unmarshal(tv.V, &x)
			out[k] = x
		}
		if err != nil {
			return nil, fmt.Errorf("decode %q: %w", k, err)
		}
	}
	return out, nil
}

func encodeIntermediate(m map[int]float64) (string, error) {
	vals := make(map[string]any, len(m))
	for k, v := range m {
		vals[strconv.Itoa(k)] = v
	}
	return encodeValues(vals)
}

func decodeIntermediate(s string) (map[int]float64, error) {
	vals, err := decodeValues(s)
	if err != nil {
		return nil, err
	}
	out := make(map[int]float64, len(vals))
	for k, v := range vals {
		step, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("decode step %q: %w", k, err)
		}
		var f float64 // 0 unless a number
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		}
		out[step] = f
	}
	return out, nil
}
