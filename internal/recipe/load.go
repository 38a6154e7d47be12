package recipe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/recotem/recotem/internal/recipe/recipeenv"
)

// Options configure loading. The zero value expands nothing from the
// environment and checks no artifact root.
type Options struct {
	// EnvVars are --env-var injections, consulted before LookupEnv. Keys
	// are upper-case names.
	EnvVars map[string]string
	// LookupEnv reads the expansion variables (envconfig.Config.RecipeVar
	// or Config.External in cmd/recotem); nil means an empty environment.
	LookupEnv func(string) (string, bool)
	// ArtifactRoot is RECOTEM_ARTIFACT_ROOT; "" disables containment.
	ArtifactRoot string
	// Logger receives recipe_loaded, recipe_env_var_empty and the §3.6
	// directory events; nil logs nothing.
	Logger *slog.Logger
}

// lookupEnv reads an expansion variable: --env-var values first, then
// LookupEnv.
func (o Options) lookupEnv(name string) (string, bool) {
	if v, ok := o.EnvVars[name]; ok {
		return v, true
	}
	if o.LookupEnv != nil {
		return o.LookupEnv(name)
	}
	return "", false
}

// MaxRecipeBytes caps the size of one recipe file.
const MaxRecipeBytes = 1 << 20

// NamePattern is the recipe name rule.
var NamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Load reads, expands, checks and validates one recipe in the order of
// recotem-behavior.md §3.1. Every failure is a *failure.Error of class
// Recipe wrapping *Error values.
func Load(path string, opt Options) (*Recipe, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, wrap([]*Error{{File: path, Category: CatIO, Msg: ioMsg(err)}})
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, wrap([]*Error{{File: path, Category: CatIO, Msg: "is a directory"}})
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxRecipeBytes+1))
	if err != nil {
		return nil, wrap([]*Error{{File: path, Category: CatIO, Msg: ioMsg(err)}})
	}
	if len(data) > MaxRecipeBytes {
		return nil, wrap([]*Error{{File: path, Category: CatIO, Msg: fmt.Sprintf("larger than %d bytes", MaxRecipeBytes)}})
	}
	r, err := Parse(path, data, opt)
	if err != nil {
		return nil, err
	}
	if opt.Logger != nil {
		opt.Logger.Info("recipe_loaded", "name", r.Name, "path", path)
	}
	return r, nil
}

func ioMsg(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// Parse is Load on bytes already read; file names the source in errors.
func Parse(file string, data []byte, opt Options) (*Recipe, error) {
	// YAML parse.
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		msg := err.Error()
		e := &Error{File: file, Category: CatParse}
		if errors.Is(err, io.EOF) {
			msg = "empty document (top level must be a mapping)"
		} else if m := yamlLine.FindStringSubmatch(msg); m != nil {
			fmt.Sscanf(m[1], "%d", &e.Line)
			msg = strings.TrimPrefix(msg, m[0])
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		e.Msg = "YAML parse failed: " + msg
		return nil, wrap([]*Error{e})
	}
	root := resolve(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		e := &Error{File: file, Category: CatParse, Msg: "top level must be a mapping"}
		if root != nil {
			e.Line, e.Col = root.Line, root.Column
		}
		return nil, wrap([]*Error{e})
	}
	if err := checkAliases(file, root); err != nil {
		return nil, wrap([]*Error{err})
	}

	// ${…} expansion.
	var empty func(name, path string)
	if opt.Logger != nil {
		empty = func(name, path string) {
			opt.Logger.Warn("recipe_env_var_empty", "name", name, "file", file, "field", path)
		}
	}
	if ps := recipeenv.Expand(root, opt.lookupEnv, empty); len(ps) > 0 {
		errs := make([]*Error, len(ps))
		for i, p := range ps {
			errs[i] = &Error{File: file, Line: p.Line, Col: p.Col, Path: p.Path, Category: CatEnv, Msg: p.Msg}
		}
		return nil, wrap(errs)
	}

	// Name.
	d := newDecoder(file, root)
	nn := mapGet(root, "name")
	switch {
	case isNull(nn):
		d.add(root, "name", CatSchema, "required")
	case nn.Kind != yaml.ScalarNode || !NamePattern.MatchString(nn.Value):
		d.add(nn, "name", CatSchema, "must match %s", NamePattern)
	}
	if len(d.errs) > 0 {
		return nil, wrap(d.errs)
	}

	// Path policy.
	for _, pp := range []struct {
		path   []string
		output bool
	}{{[]string{"source", "path"}, false}, {[]string{"item_metadata", "path"}, false}, {[]string{"output", "path"}, true}} {
		n := mapGet(mapGet(root, pp.path[0]), pp.path[1])
		if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
			continue
		}
		if msg := checkPath(n.Value, pp.output); msg != "" {
			d.add(n, strings.Join(pp.path, "."), CatSecurity, "%s", msg)
		}
	}
	if len(d.errs) > 0 {
		return nil, wrap(d.errs)
	}

	// Source discriminator, then the whole recipe.
	r := defaults()
	r.File = file
	src := mapGet(root, "source")
	if isNull(src) {
		d.add(root, "source", CatSchema, "required")
		return nil, wrap(d.errs)
	}
	d.decodeSource(src, &r.Source, "source")
	if len(d.errs) > 0 {
		return nil, wrap(d.errs)
	}
	d.decodeRest(root, r)
	d.validate(r)
	if len(d.errs) > 0 {
		return nil, wrap(d.errs)
	}

	// sha256 pins for http(s) inputs.
	if s := Scheme(r.Source.Path()); (s == "http" || s == "https") && r.Source.SHA256() == nil {
		d.add(d.at("source.path"), "source.sha256", CatSecurity, "required for %s sources", s)
	}
	if m := r.ItemMetadata; m != nil {
		if s := Scheme(m.Path); (s == "http" || s == "https") && m.SHA256 == nil {
			d.add(d.at("item_metadata.path"), "item_metadata.sha256", CatSecurity, "required for %s sources", s)
		}
	}
	if len(d.errs) > 0 {
		return nil, wrap(d.errs)
	}

	// Artifact-root containment.
	if opt.ArtifactRoot != "" && IsLocal(r.Output.Path) {
		if err := CheckContainment(opt.ArtifactRoot, r.Output.Path); err != nil {
			d.add(d.at("output.path"), "output.path", CatSecurity, "%s", err.Error())
			return nil, wrap(d.errs)
		}
	}
	return r, nil
}

// maxExpandedNodes bounds the YAML tree size with aliases followed, so
// alias bombs cannot make decoding exponential.
const maxExpandedNodes = 100_000

// checkAliases refuses trees that alias expansion makes too large.
func checkAliases(file string, root *yaml.Node) *Error {
	budget := maxExpandedNodes
	var walk func(n *yaml.Node, depth int) bool
	walk = func(n *yaml.Node, depth int) bool {
		if n == nil {
			return true
		}
		budget--
		if budget < 0 || depth > 100 {
			return false
		}
		if n.Kind == yaml.AliasNode {
			return walk(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if !walk(c, depth+1) {
				return false
			}
		}
		return true
	}
	if !walk(root, 0) {
		return &Error{File: file, Line: root.Line, Col: root.Column, Category: CatParse, Msg: "YAML parse failed: document too large or too deeply nested once aliases are expanded"}
	}
	return nil
}

// decodeRest decodes every top-level key except source (already decoded).
func (d *decoder) decodeRest(root *yaml.Node, r *Recipe) {
	v := reflect.ValueOf(r).Elem()
	idx, _ := fieldIndex(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := resolve(root.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.add(root.Content[i], "", CatSchema, "keys must be strings")
			continue
		}
		if seen[k.Value] {
			d.add(k, k.Value, CatSchema, "duplicate key")
			continue
		}
		seen[k.Value] = true
		if k.Value == "source" {
			continue
		}
		fi, ok := idx[k.Value]
		if !ok {
			d.add(k, k.Value, CatSchema, "unknown key")
			continue
		}
		d.decode(root.Content[i+1], v.Field(fi), k.Value)
	}
}
