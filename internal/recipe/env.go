package recipe

import (
	"fmt"
	"log/slog"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix is the only prefix a recipe may expand.
const EnvPrefix = "RECOTEM_RECIPE_"

var (
	envBlacklistExact  = []string{"RECOTEM_SIGNING_KEYS", "RECOTEM_API_KEYS"}
	envBlacklistPrefix = []string{"AWS_", "GCP_", "GOOGLE_", "AZURE_", "ALIYUN_", "ALICLOUD_", "OCI_", "IBM_", "DO_", "HCLOUD_", "DIGITALOCEAN_"}
	envBlacklistSubstr = []string{"SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "AUTH", "BEARER", "CRED", "PRIVATE"}
)

// EnvBlacklisted reports whether an (upper-cased) variable name may never be
// expanded into a recipe (recotem-behavior.md §3.4).
func EnvBlacklisted(name string) bool {
	name = strings.ToUpper(name)
	for _, x := range envBlacklistExact {
		if name == x {
			return true
		}
	}
	for _, p := range envBlacklistPrefix {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, s := range envBlacklistSubstr {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// CheckEnvVarName validates the name of a --env-var injection: it must be a
// RECOTEM_RECIPE_* name that is not blacklisted. The error never holds a value.
func CheckEnvVarName(name string) error {
	up := strings.ToUpper(name)
	switch {
	case EnvBlacklisted(up):
		return fmt.Errorf("environment variable %s is blacklisted", name)
	case !strings.HasPrefix(up, EnvPrefix):
		return fmt.Errorf("environment variable %s is not allowed (only %s* may be expanded)", name, EnvPrefix)
	}
	return nil
}

// ParseEnvVars parses repeated --env-var KEY=VALUE flags (split at the first
// '='); a missing '=' or a refused name is an error (exit 2). Keys are
// stored upper-cased.
func ParseEnvVars(kvs []string) (map[string]string, error) {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			name := kv
			if len(name) > 64 {
				name = name[:64] + "..."
			}
			return nil, fmt.Errorf("--env-var %q: expected KEY=VALUE", name)
		}
		if err := CheckEnvVarName(k); err != nil {
			return nil, fmt.Errorf("--env-var: %w", err)
		}
		out[strings.ToUpper(k)] = v
	}
	return out, nil
}

// noExpandKeys are keys whose whole subtree is never expanded, at any depth
// and in any case.
func noExpand(key string) bool {
	switch strings.ToLower(key) {
	case "query", "query_parameters", "dsn_env":
		return true
	}
	return false
}

type expander struct {
	file     string
	opt      Options
	errs     []*Error
	expanded map[*yaml.Node]bool
	logger   *slog.Logger
}

func (x *expander) lookup(name string) (string, bool) {
	if v, ok := x.opt.EnvVars[name]; ok {
		return v, true
	}
	if x.opt.LookupEnv != nil {
		return x.opt.LookupEnv(name)
	}
	return "", false
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
			x.walk(n.Content[i+1], join(path, k.Value))
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
		case EnvBlacklisted(name):
			x.fail(n, path, "environment variable %s is blacklisted", name)
			continue
		case !strings.HasPrefix(name, EnvPrefix):
			x.fail(n, path, "environment variable %s is not allowed (only %s* may be expanded)", name, EnvPrefix)
			continue
		}
		v, ok := x.lookup(name)
		if !ok {
			x.fail(n, path, "environment variable %s is not set", name)
			continue
		}
		if v == "" && x.logger != nil {
			x.logger.Warn("recipe_env_var_empty", "name", name, "file", x.file, "field", path)
		}
		b.WriteString(v)
		changed = true
	}
	if !changed {
		return
	}
	b.WriteString(s)
	n.Value = b.String()
	x.expanded[n] = true
}

func (x *expander) fail(n *yaml.Node, path, format string, args ...any) {
	x.errs = append(x.errs, &Error{File: x.file, Line: n.Line, Col: n.Column, Path: path, Category: CatEnv, Msg: fmt.Sprintf(format, args...)})
}
