package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The command table is the spec's list of subcommands (§1.1), in order,
// each reachable by name and shown in the usage.
func TestCommandTable(t *testing.T) {
	var names []string
	for _, c := range commandTable {
		name, _, _ := strings.Cut(c.synopsis, " ")
		names = append(names, name)
		if commands[name] == nil || c.run == nil {
			t.Errorf("%s: no function", name)
		}
		if !strings.Contains(usage, "\n  "+c.synopsis+" ") || !strings.Contains(usage, c.summary+"\n") {
			t.Errorf("usage lacks %q / %q", c.synopsis, c.summary)
		}
	}
	if want := []string{"train", "serve", "inspect", "validate", "schema", "keygen", "bench"}; !slices.Equal(names, want) || len(commands) != len(want) {
		t.Fatalf("commands %v (%d in the map), want %v", names, len(commands), want)
	}
}

// run in-process: usage conventions of §1.1 and one real command.
func TestRunDispatch(t *testing.T) {
	f := func(args []string, code int, inStdout, inStderr string) {
		t.Helper()
		var out, errb bytes.Buffer
		if got := run(args, &out, &errb); got != code {
			t.Fatalf("run %v = %d, want %d; stderr %s", args, got, code, errb.String())
		}
		if !strings.Contains(out.String(), inStdout) || !strings.Contains(errb.String(), inStderr) {
			t.Fatalf("run %v: stdout %q, stderr %q; want %q and %q", args, out.String(), errb.String(), inStdout, inStderr)
		}
	}
	f(nil, 2, "", "Usage:\n  recotem <command>")
	for _, h := range []string{"-h", "--help", "help"} {
		f([]string{h}, 0, "Commands:\n  train RECIPE.yaml", "")
	}
	f([]string{"frobnicate"}, 2, "", `recotem: unknown command "frobnicate"`)
	f([]string{"train", "--help"}, 0, "Usage: recotem train RECIPE.yaml", "")
	var out bytes.Buffer
	if code := run([]string{"schema"}, &out, &bytes.Buffer{}); code != 0 || !json.Valid(out.Bytes()) {
		t.Fatalf("schema: %d %q", code, out.String())
	}
}
