// Command recotem is the one binary of the product: train a recipe into a
// signed artifact, serve artifacts over HTTP, and the operator tools
// (inspect, validate, schema, keygen, bench). It owns flag parsing and the
// mapping of errors to exit codes; all behaviour lives in the packages.
//
// Every subcommand is a row of commandTable below: its name, the synopsis
// and summary the usage text shows, and the function that runs it. Nothing
// registers itself.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// command runs one subcommand on its arguments (the subcommand name
// removed) and returns the process exit code.
type command func(args []string, stdout, stderr io.Writer) int

// commandTable is the one list of subcommands, in usage order.
var commandTable = []struct {
	synopsis string // name first, then its arguments
	summary  string
	run      command
}{
	{"train RECIPE.yaml", "fetch, cleanse, search, refit and write a signed artifact", runTrain},
	{"serve --recipes DIR", "serve every recipe's artifact over HTTP, hot-swapping", runServe},
	{"inspect ARTIFACT", "verify an artifact and print its header", runInspect},
	{"validate RECIPE.yaml", "check a recipe and probe its data source", runValidate},
	{"schema", "print the recipe JSON Schema", runSchema},
	{"keygen", "generate a signing key or an API key", runKeygen},
	{"bench", "load-generate against a running server", runBench},
}

// commands maps a subcommand name to its function (from commandTable).
var commands = func() map[string]command {
	m := make(map[string]command, len(commandTable))
	for _, c := range commandTable {
		name, _, _ := strings.Cut(c.synopsis, " ")
		m[name] = c.run
	}
	return m
}()

// usage is the top-level help (from commandTable).
var usage = func() string {
	var b strings.Builder
	b.WriteString("recotem — one YAML recipe = one trained model = one recommendation API\n\n")
	b.WriteString("Usage:\n  recotem <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commandTable {
		fmt.Fprintf(&b, "  %-25s%s\n", c.synopsis, c.summary)
	}
	b.WriteString("\nRun 'recotem <command> --help' for a command's flags.\n")
	return b.String()
}()

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "recotem: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}
