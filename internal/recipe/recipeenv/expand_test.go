package recipeenv

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestExpand(t *testing.T) {
	src := "a: 'x${RECOTEM_RECIPE_V}y${recotem_recipe_e}'\n" +
		"list: ['${RECOTEM_RECIPE_NOPE}']\n" +
		"source: {QUERY: '${HOME}', params: {dsn_env: '${HOME}'}}\n" +
		"b: '${HOME}'\n" +
		"n: 3\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RECOTEM_RECIPE_V": "${RECOTEM_RECIPE_E}", "RECOTEM_RECIPE_E": ""}
	var empty []string
	ps := Expand(&doc, func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		func(name, path string) { empty = append(empty, name+" at "+path) })
	root := doc.Content[0]
	// One pass, no rescan; names are upper-cased; empty values are reported.
	if got := root.Content[1].Value; got != "x${RECOTEM_RECIPE_E}y" {
		t.Errorf("a = %q", got)
	}
	if strings.Join(empty, ",") != "RECOTEM_RECIPE_E at a" {
		t.Errorf("empty = %v", empty)
	}
	// query and dsn_env subtrees (any case, any depth) are left alone.
	if len(ps) != 2 {
		t.Fatalf("problems %+v", ps)
	}
	want := []Problem{
		{Line: 2, Col: 8, Path: "list[0]", Msg: "environment variable RECOTEM_RECIPE_NOPE is not set"},
		{Line: 4, Col: 4, Path: "b", Msg: "environment variable HOME is not allowed (only RECOTEM_RECIPE_* may be expanded)"},
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("problem %d = %+v, want %+v", i, ps[i], want[i])
		}
	}
}
