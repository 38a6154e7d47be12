package recipe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/recotem/recotem/internal/failure"
)

// FuzzLoad: the loader never panics, always classifies its errors as
// recipe errors (exit 2), and a loaded recipe has a stable canonical form.
//
//	go test -run '^$' -fuzz FuzzLoad -parallel 1 -fuzztime 10m ./internal/recipe
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/recipes/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: a\nsource: &s {type: csv, path: x}\nschema: {user_column: u, item_column: i}\ntraining: {algorithms: [*s]}\noutput: {path: o}\n"))
	f.Add([]byte("name: ${RECOTEM_RECIPE_N}\nsource: {type: sql, dsn_env: RECOTEM_RECIPE_D, query: '${X}'}\n"))
	env := map[string]string{"RECOTEM_RECIPE_N": "n", "RECOTEM_RECIPE_P": "${RECOTEM_RECIPE_N}"}
	opt := Options{EnvVars: env}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		r, err := Parse("f.yaml", data, opt)
		if err != nil {
			if failure.ExitCode(err) != 2 {
				t.Fatalf("exit code %d for %v", failure.ExitCode(err), err)
			}
			if len(Problems(err)) == 0 {
				t.Fatalf("no *Error in %v", err)
			}
			return
		}
		if !NamePattern.MatchString(r.Name) || len(r.Training.Algorithms) == 0 {
			t.Fatalf("invalid recipe accepted: %+v", r)
		}
		h := r.Hash()
		var m map[string]any
		if err := json.Unmarshal(r.CanonicalJSON(), &m); err != nil {
			t.Fatalf("canonical JSON: %v", err)
		}
		r2, err := Parse("f.yaml", data, opt)
		if err != nil || r2.Hash() != h {
			t.Fatalf("reload differs: %v", err)
		}
	})
}

func TestAliasBomb(t *testing.T) {
	doc := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		doc += n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = n
	}
	doc += "name: ok\n"
	_, err := Parse("bomb.yaml", []byte(doc), Options{})
	if err == nil || Category(err) != CatParse || failure.ExitCode(err) != 2 {
		t.Fatalf("alias bomb: %v", err)
	}
}
