package recipeenv

import (
	"strings"
	"testing"
)

func TestEnvVarFlags(t *testing.T) {
	f := func(in []string, wantErr string) {
		t.Helper()
		_, err := ParseFlags(in)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%q: %v", in, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%q: error %v, want %q", in, err, wantErr)
		}
	}
	f([]string{"RECOTEM_RECIPE_X=v", "recotem_recipe_y=a=b"}, "")
	f([]string{"NOEQ"}, "expected KEY=VALUE")
	f([]string{"HOME=/x"}, "is not allowed")
	f([]string{"RECOTEM_RECIPE_API_TOKEN=x"}, "blacklisted")
	m, _ := ParseFlags([]string{"recotem_recipe_y=a=b"})
	if m["RECOTEM_RECIPE_Y"] != "a=b" {
		t.Errorf("split at first '=': %v", m)
	}
}

func TestBlacklist(t *testing.T) {
	f := func(name string, want bool) {
		t.Helper()
		if got := Blacklisted(name); got != want {
			t.Errorf("Blacklisted(%q) = %v, want %v", name, got, want)
		}
	}
	f("RECOTEM_RECIPE_PARTITION_KEY", true)
	f("RECOTEM_RECIPE_KEYBOARD", true)
	f("RECOTEM_RECIPE_GCP_PROJECT", false)
	f("RECOTEM_RECIPE_TABLE", false)
	f("RECOTEM_SIGNING_KEYS", true)
	f("AWS_REGION", true)
	f("DO_THING", true)
	f("recotem_recipe_oauth_x", true)
}
