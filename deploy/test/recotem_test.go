package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain builds recotem once (from this repository, the go build cache
// makes it cheap after `make build` or `make test`) so that every recipe a
// rendering ships is checked by `recotem validate`: the recipe must parse
// ("schema OK"); its data source probe may fail here (the data is not on
// this machine), which validate reports after the parse.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "recotem-deploy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "recotem")
	build := exec.Command("go", "build", "-o", bin, "./cmd/recotem")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building recotem for recipe validation: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	ValidateRecipe = func(name, text string) error { return validateWith(bin, dir, name, text) }
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func validateWith(bin, dir, name, text string) error {
	f := filepath.Join(dir, "recipe-"+strings.ReplaceAll(name, "/", "_"))
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		return err
	}
	defer os.Remove(f)
	cmd := exec.Command(bin, "validate", f)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if bytes.Contains(out.Bytes(), []byte("schema OK")) {
		return nil // parsed; only the data source probe may have failed
	}
	return fmt.Errorf("recotem validate: %v\n%s", err, out.String())
}

// A broken recipe in a rendering must fail the rules.
func TestRecipeValidationCatchesBadRecipe(t *testing.T) {
	if ValidateRecipe == nil {
		t.Fatal("ValidateRecipe not set")
	}
	good := "name: q\nsource: {type: csv, path: /data/in.csv}\nschema: {user_column: u, item_column: i}\ntraining: {algorithms: [TopPop]}\noutput: {path: /data/q.recotem}\n"
	if err := ValidateRecipe("q.yaml", good); err != nil {
		t.Fatalf("good recipe: %v", err)
	}
	bad := strings.Replace(good, "user_column", "user_colum", 1)
	if err := ValidateRecipe("q.yaml", bad); err == nil {
		t.Fatal("a recipe with an unknown key passed recotem validate")
	}
}
