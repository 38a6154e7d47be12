package recipe

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into recipe types: strict (unknown and
// duplicate keys are errors), lax on scalars (number and bool fields accept
// their string spellings), and position-aware (every value node is recorded
// by dotted path so validation can point at it).
type decoder struct {
	file  string
	errs  []*Error
	nodes map[string]*yaml.Node
}

func newDecoder(file string, root *yaml.Node) *decoder {
	return &decoder{file: file, nodes: map[string]*yaml.Node{"": root}}
}

func (d *decoder) add(n *yaml.Node, path, cat, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Category: cat, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// at returns the node recorded for path, or the nearest recorded ancestor.
func (d *decoder) at(path string) *yaml.Node {
	for {
		if n, ok := d.nodes[path]; ok {
			return n
		}
		if path == "" {
			return nil
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
	}
}

// errf records a schema problem at path (positioned at its node).
func (d *decoder) errf(path, format string, args ...any) {
	d.add(d.at(path), path, CatSchema, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// resolve follows aliases and unwraps documents.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

var sourceType = reflect.TypeOf(Source{})

// fieldIndex maps yaml keys of struct type t to field indexes.
func fieldIndex(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		m[tag] = i
		names = append(names, tag)
	}
	return m, names
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if n == nil {
		return
	}
	d.nodes[path] = n
	t := v.Type()
	if t == sourceType {
		d.decodeSource(n, v.Addr().Interface().(*Source), path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.Set(reflect.Zero(t))
			return
		}
		if v.IsNil() {
			v.Set(newDefault(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		if isNull(n) {
			return // keep defaults
		}
		if n.Kind != yaml.MappingNode {
			d.add(n, path, CatSchema, "must be a mapping")
			return
		}
		idx, _ := fieldIndex(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolve(n.Content[i]), n.Content[i+1]
			if k == nil || k.Kind != yaml.ScalarNode {
				d.add(n.Content[i], path, CatSchema, "keys must be strings")
				continue
			}
			kp := join(path, k.Value)
			if seen[k.Value] {
				d.add(k, kp, CatSchema, "duplicate key")
				continue
			}
			seen[k.Value] = true
			fi, ok := idx[k.Value]
			if !ok {
				d.add(k, kp, CatSchema, "unknown key")
				continue
			}
			d.decode(val, v.Field(fi), kp)
		}
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int64:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, ok := parseInt(n, s)
			if !ok {
				d.add(n, path, CatSchema, "must be an integer")
				return
			}
			v.SetInt(i)
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || n.Tag == "!!bool" || math.IsNaN(f) || math.IsInf(f, 0) {
				d.add(n, path, CatSchema, "must be a finite number")
				return
			}
			v.SetFloat(f)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "a boolean"); ok {
			b, ok := parseBool(s)
			if !ok {
				d.add(n, path, CatSchema, "must be a boolean")
				return
			}
			v.SetBool(b)
		}
	case reflect.Slice:
		if isNull(n) {
			v.Set(reflect.Zero(t))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.add(n, path, CatSchema, "must be a list")
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			v.Set(reflect.Zero(t))
			return
		}
		if n.Kind != yaml.MappingNode {
			d.add(n, path, CatSchema, "must be a mapping")
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolve(n.Content[i]), resolve(n.Content[i+1])
			if k == nil || k.Kind != yaml.ScalarNode || isNull(k) {
				d.add(n.Content[i], path, CatSchema, "keys must be strings")
				continue
			}
			kp := join(path, k.Value)
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.add(k, kp, CatSchema, "duplicate key")
				continue
			}
			ev := reflect.New(t.Elem()).Elem()
			if t.Elem().Kind() == reflect.Interface {
				x, ok := scalarAny(val)
				if !ok {
					d.add(val, kp, CatSchema, "must be a bool, int, float or string")
					continue
				}
				if x != nil {
					ev.Set(reflect.ValueOf(x))
				}
				d.nodes[kp] = val
			} else {
				d.decode(val, ev, kp)
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	default:
		d.add(n, path, CatSchema, "unsupported field type %s", t)
	}
}

// scalar returns a non-null scalar's text.
func (d *decoder) scalar(n *yaml.Node, path, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.add(n, path, CatSchema, "must be %s", what)
		return "", false
	}
	return n.Value, true
}

func parseInt(n *yaml.Node, s string) (int64, bool) {
	if n.Tag == "!!bool" {
		return 0, false
	}
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on", "y", "t":
		return true, true
	case "false", "0", "no", "off", "n", "f":
		return false, true
	}
	return false, false
}

// scalarAny types a query parameter by its YAML tag.
func scalarAny(n *yaml.Node) (any, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil, false
	}
	switch n.Tag {
	case "!!null":
		return nil, false
	case "!!bool":
		b, ok := parseBool(n.Value)
		return b, ok
	case "!!int":
		i, ok := parseInt(n, n.Value)
		return i, ok
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		return f, err == nil
	}
	return n.Value, true
}

func newDefault(t reflect.Type) reflect.Value {
	switch t {
	case reflect.TypeOf(ItemMetadata{}):
		return reflect.ValueOf(defaultItemMetadata())
	}
	return reflect.New(t)
}

// mapGet returns the value node of key in mapping n.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

func knownTypes() string {
	s := append([]string(nil), SourceTypes...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func (d *decoder) decodeSource(n *yaml.Node, s *Source, path string) {
	if n.Kind != yaml.MappingNode {
		d.add(n, path, CatSchema, "must be a mapping")
		return
	}
	tn := mapGet(n, "type")
	if isNull(tn) || tn.Kind != yaml.ScalarNode {
		d.add(n, join(path, "type"), CatSchema, "required (one of %s)", knownTypes())
		return
	}
	var v any
	switch tn.Value {
	case TypeCSV:
		s.CSV = defaultCSV()
		v = s.CSV
	case TypeParquet:
		s.Parquet = &ParquetSource{}
		v = s.Parquet
	case TypeSQL:
		s.SQL = defaultSQL()
		v = s.SQL
	case TypeBigQuery:
		s.BigQuery = &BigQuerySource{}
		v = s.BigQuery
	default:
		d.add(tn, join(path, "type"), CatSchema, "unknown source type (want one of %s)", knownTypes())
		return
	}
	s.Type = tn.Value
	d.decode(n, reflect.ValueOf(v).Elem(), path)
}
