package recipe

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/recotem/recotem/internal/failure"
)

// Problem kinds of lenient directory loading.
const (
	KindSecurity  = "security"
	KindLoadError = "load_error"
	KindDuplicate = "duplicate"
)

// Problem is one skipped file of a lenient LoadDir. Name is the stub name
// (the file stem, with _1, _2 … on collisions); Err is the load error; Msg is
// the stub's error text ("YAML parse failed: <msg>" for load errors).
type Problem struct {
	File     string
	Kind     string
	Name     string
	Category string
	Err      error
	Msg      string
}

// LoadDir loads the direct *.yaml children of dir in filename order
// (recotem-behavior.md §3.6). Each file must resolve inside dir. Strict:
// the first problem (including a duplicate name) is returned as the error.
// Lenient: problems are returned, good recipes kept, and the §3.6 events
// logged when opt.Logger is set. The error is non-nil in lenient mode only
// when the directory itself cannot be read.
func LoadDir(dir string, opt Options, strict bool) ([]*Recipe, []Problem, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, wrap([]*Error{{File: dir, Category: CatIO, Msg: ioMsg(err)}})
	}
	rdir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, wrap([]*Error{{File: dir, Category: CatIO, Msg: ioMsg(err)}})
	}
	rdir, _ = filepath.Abs(rdir)
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") && !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)

	var (
		recipes  []*Recipe
		problems []Problem
		byName   = map[string]string{} // recipe name -> file
		used     = map[string]bool{}   // names taken by recipes and stubs
	)
	stub := func(file string) string {
		stem := strings.TrimSuffix(filepath.Base(file), ".yaml")
		n := stem
		for i := 1; used[n]; i++ {
			n = fmt.Sprintf("%s_%d", stem, i)
		}
		used[n] = true
		return n
	}
	logProblem := func(p Problem) {
		if opt.Logger == nil {
			return
		}
		switch p.Kind {
		case KindSecurity:
			opt.Logger.Error("recipe_security_violation_skipped", "file", p.File, "error_class", "RecipeError", "error", p.Err.Error(), "category", p.Category)
		case KindDuplicate:
			opt.Logger.Warn("recipe_duplicate_name_skipped", "file", p.File, "name", p.Name)
		default:
			opt.Logger.Warn("recipe_load_error_skipped", "file", p.File, "error_class", "RecipeError", "error", p.Err.Error(), "category", p.Category)
		}
	}

	var pending []Problem // stubs are named after every good recipe claimed its name
	for _, n := range names {
		file := filepath.Join(dir, n)
		var r *Recipe
		var lerr error
		if secErr := insideDir(rdir, file); secErr != nil {
			lerr = wrap([]*Error{{File: file, Category: CatSecurity, Msg: secErr.Error()}})
		} else {
			r, lerr = Load(file, opt)
		}
		if lerr != nil {
			if strict {
				return nil, nil, lerr
			}
			p := Problem{File: file, Kind: KindLoadError, Category: Category(lerr), Err: lerr}
			if p.Category == CatSecurity {
				p.Kind = KindSecurity
			}
			p.Msg = "YAML parse failed: " + strings.Replace(lerr.Error(), "YAML parse failed: ", "", 1)
			pending = append(pending, p)
			logProblem(p)
			continue
		}
		if first, dup := byName[r.Name]; dup {
			e := &Error{File: file, Category: CatSchema, Path: "name", Msg: fmt.Sprintf("duplicate recipe name %q (first defined in %s)", r.Name, first)}
			if strict {
				return nil, nil, wrap([]*Error{e})
			}
			p := Problem{File: file, Kind: KindDuplicate, Name: r.Name, Category: CatSchema, Err: &failure.Error{Class: failure.Recipe, Code: "recipe_error", Err: e}}
			p.Msg = e.Error()
			logProblem(p)
			p.Name = ""
			pending = append(pending, p)
			continue
		}
		byName[r.Name] = file
		used[r.Name] = true
		recipes = append(recipes, r)
	}
	for _, p := range pending {
		p.Name = stub(p.File)
		problems = append(problems, p)
	}
	if !strict && opt.Logger != nil {
		opt.Logger.Info("recipes_directory_loaded_lenient", "path", dir, "ok", len(recipes), "errors", len(problems))
	}
	return recipes, problems, nil
}

// insideDir refuses a directory entry whose resolved path leaves rdir.
func insideDir(rdir, file string) error {
	rp, err := filepath.EvalSymlinks(file)
	if err != nil {
		return nil // Load reports the read error
	}
	rp, _ = filepath.Abs(rp)
	if filepath.Dir(rp) != rdir && !within(rdir, rp) {
		return fmt.Errorf("resolves outside the recipes directory")
	}
	return nil
}
