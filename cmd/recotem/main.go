// Command recotem is the one binary of the product: train a recipe into a
// signed artifact, serve artifacts over HTTP, and the operator tools
// (inspect, validate, schema, keygen, bench). It owns flag parsing and the
// mapping of errors to exit codes; all behaviour lives in the packages.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `recotem — one YAML recipe = one trained model = one recommendation API

Usage:
  recotem <command> [flags] [args]

Commands:
  train RECIPE.yaml        fetch, cleanse, search, refit and write a signed artifact
  serve --recipes DIR      serve every recipe's artifact over HTTP, hot-swapping
  inspect ARTIFACT         verify an artifact and print its header
  validate RECIPE.yaml     check a recipe and probe its data source
  schema                   print the recipe JSON Schema
  keygen                   generate a signing key or an API key
  bench                    load-generate against a running server

Run 'recotem <command> --help' for a command's flags.
`

type command func(args []string, stdout, stderr io.Writer) int

var commands = map[string]command{}

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

func notImplemented(name string) command {
	return func(args []string, stdout, stderr io.Writer) int {
		for _, a := range args {
			if a == "-h" || a == "--help" {
				fmt.Fprintf(stdout, "recotem %s: not implemented yet\n", name)
				return 0
			}
		}
		fmt.Fprintf(stderr, "recotem %s: not implemented yet\n", name)
		return 1
	}
}

func init() {
	for _, n := range []string{"train", "serve", "inspect", "validate", "schema", "keygen", "bench"} {
		if _, ok := commands[n]; !ok {
			commands[n] = notImplemented(n)
		}
	}
}
