package recipe

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/failure"
)

const dirRecipe = "source: {type: csv, path: d.csv}\nschema: {user_column: u, item_column: i}\ntraining: {algorithms: [TopPop]}\noutput: {path: o.recotem}\n"

// Spec §3.6 and §10 items 76–77 (loader side).
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), "name: news\n"+dirRecipe)
	write(t, filepath.Join(dir, "b.yaml"), "name: news\n"+dirRecipe) // duplicate name
	write(t, filepath.Join(dir, "c.yaml"), "name: [broken\n")        // parse error
	write(t, filepath.Join(dir, "d.yaml"), "name: d\n"+strings.Replace(dirRecipe, "path: d.csv", "path: 'a::b'", 1))
	write(t, filepath.Join(dir, "e.yml"), "not: loaded\n")
	write(t, filepath.Join(dir, "news.yaml"), "name: [broken\n") // stub would be "news": collides with the good recipe
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub", "x.yaml"), "name: x\n"+dirRecipe)
	write(t, filepath.Join(outside, "evil.yaml"), "name: evil\n"+dirRecipe)
	if err := os.Symlink(filepath.Join(outside, "evil.yaml"), filepath.Join(dir, "f.yaml")); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	rs, probs, err := LoadDir(dir, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Name != "news" || filepath.Base(rs[0].File) != "a.yaml" {
		t.Fatalf("recipes: %+v", rs)
	}
	var got []string
	for _, p := range probs {
		got = append(got, filepath.Base(p.File)+"="+p.Kind+":"+p.Name)
	}
	want := "b.yaml=duplicate:b c.yaml=load_error:c d.yaml=security:d f.yaml=security:f news.yaml=load_error:news_1"
	if strings.Join(got, " ") != want {
		t.Errorf("problems:\n got  %s\n want %s", strings.Join(got, " "), want)
	}
	for _, p := range probs {
		if p.Kind == KindLoadError && !strings.HasPrefix(p.Msg, "YAML parse failed: ") {
			t.Errorf("stub message %q", p.Msg)
		}
	}
	for _, ev := range []string{"recipe_duplicate_name_skipped", "recipe_load_error_skipped", "recipe_security_violation_skipped", `"msg":"recipes_directory_loaded_lenient","path":"` + dir + `","ok":1,"errors":5`} {
		if !strings.Contains(logs.String(), ev) {
			t.Errorf("log lacks %s:\n%s", ev, logs.String())
		}
	}

	// Strict: the first problem aborts with exit 2.
	_, _, err = LoadDir(dir, Options{}, true)
	if failure.ExitCode(err) != 2 || !strings.Contains(err.Error(), "b.yaml") || !strings.Contains(err.Error(), "duplicate recipe name") {
		t.Errorf("strict: %v", err)
	}
}
