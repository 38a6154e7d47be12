// Package recipeenv is the environment policy of recipes
// (recotem-behavior.md §3.4): which variables a recipe may expand (a
// RECOTEM_RECIPE_ name that is not blacklisted), the --env-var flags that
// inject them, and the ${NAME} expansion of a parsed YAML tree that
// package recipe runs before decoding. Messages name variables, never
// their values. The package never reads the process environment itself:
// Expand takes a lookup function.
package recipeenv

import (
	"fmt"
	"strings"
)

// Prefix is the only prefix a recipe may expand.
const Prefix = "RECOTEM_RECIPE_"

var (
	blacklistExact  = []string{"RECOTEM_SIGNING_KEYS", "RECOTEM_API_KEYS"}
	blacklistPrefix = []string{"AWS_", "GCP_", "GOOGLE_", "AZURE_", "ALIYUN_", "ALICLOUD_", "OCI_", "IBM_", "DO_", "HCLOUD_", "DIGITALOCEAN_"}
	blacklistSubstr = []string{"SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "AUTH", "BEARER", "CRED", "PRIVATE"}
)

// Blacklisted reports whether a variable name (any case) may never be
// expanded into a recipe nor named by one.
func Blacklisted(name string) bool {
	name = strings.ToUpper(name)
	for _, x := range blacklistExact {
		if name == x {
			return true
		}
	}
	for _, p := range blacklistPrefix {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, s := range blacklistSubstr {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// CheckName validates the name of a --env-var injection: it must be a
// RECOTEM_RECIPE_* name that is not blacklisted. The error never holds a value.
func CheckName(name string) error {
	up := strings.ToUpper(name)
	switch {
	case Blacklisted(up):
		return fmt.Errorf("environment variable %s is blacklisted", name)
	case !strings.HasPrefix(up, Prefix):
		return fmt.Errorf("environment variable %s is not allowed (only %s* may be expanded)", name, Prefix)
	}
	return nil
}

// ParseFlags parses repeated --env-var KEY=VALUE flags (split at the first
// '='); a missing '=' or a refused name is an error (exit 2). Keys are
// stored upper-cased.
func ParseFlags(kvs []string) (map[string]string, error) {
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
		if err := CheckName(k); err != nil {
			return nil, fmt.Errorf("--env-var: %w", err)
		}
		out[strings.ToUpper(k)] = v
	}
	return out, nil
}
