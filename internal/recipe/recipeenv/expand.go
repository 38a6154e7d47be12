package recipeenv

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one ${NAME} that was not expanded: at Line and Col (1-based)
// of the scalar holding it, under the dotted field Path
// ("source.path", "training.algorithms[1]").
type Problem struct {
	Line, Col int
	Path      string
	Msg       string
}

// Expand substitutes ${NAME} in every string scalar value under root, in
// place: one pass, left to right, substituted values are not rescanned;
// NAME is upper-cased and must be allowed (Prefix, not Blacklisted); the
// subtrees under the keys query, query_parameters and dsn_env (any depth,
// any case) are left alone. lookup reads a variable (not set: a problem).
// empty, when not nil, is told of each variable that expands to "" with
// the field path.
func Expand(root *yaml.Node, lookup func(name string) (string, bool), empty func(name, path string)) []Problem {
	x := &expander{lookup: lookup, empty: empty}
	x.walk(root, "")
	return x.problems
}

// noExpand reports the keys whose whole subtree is never expanded.
func noExpand(key string) bool {
	switch strings.ToLower(key) {
	case "query", "query_parameters", "dsn_env":
		return true
	}
	return false
}

type expander struct {
	lookup   func(string) (string, bool)
	empty    func(name, path string)
	problems []Problem
}

// walk expands ${NAME} in every string scalar value under n.
func (x *expander) walk(n *yaml.Node, path string) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			x.walk(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && noExpand(k.Value) {
				continue
			}
			sub := k.Value
			if path != "" {
				sub = path + "." + k.Value
			}
			x.walk(n.Content[i+1], sub)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			x.walk(c, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.ScalarNode:
		if n.Tag != "!!str" || !strings.Contains(n.Value, "${") {
			return
		}
		x.expand(n, path)
	}
}

// expand substitutes one pass, left to right, with no rescan of values.
func (x *expander) expand(n *yaml.Node, path string) {
	s := n.Value
	var b strings.Builder
	changed := false
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			break
		}
		raw := s[i+2 : i+2+j]
		name := strings.ToUpper(raw)
		b.WriteString(s[:i])
		s = s[i+3+j:]
		switch {
		case Blacklisted(name):
			x.fail(n, path, "environment variable %s is blacklisted", name)
			continue
		case !strings.HasPrefix(name, Prefix):
			x.fail(n, path, "environment variable %s is not allowed (only %s* may be expanded)", name, Prefix)
			continue
		}
		v, ok := "", false
		if x.lookup != nil {
			v, ok = x.lookup(name)
		}
		if !ok {
			x.fail(n, path, "environment variable %s is not set", name)
			continue
		}
		if v == "" && x.empty != nil {
			x.empty(name, path)
		}
		b.WriteString(v)
		changed = true
	}
	if !changed {
		return
	}
	b.WriteString(s)
	n.Value = b.String()
}

func (x *expander) fail(n *yaml.Node, path, format string, args ...any) {
	x.problems = append(x.problems, Problem{Line: n.Line, Col: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}
