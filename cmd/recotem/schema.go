package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/recotem/recotem/trainer/recipe"
)

func init() { commands["schema"] = runSchema }

const schemaUsage = `Usage: recotem schema

Print the recipe JSON Schema (2-space indent). "source" is a oneOf
discriminated by "type" over csv, parquet, bigquery and sql. Point an
editor's YAML language server at it to validate recipes while typing.

Flags:
`

func runSchema(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("schema", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	help := fs.BoolP("help", "h", false, "show this help")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, schemaUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "recotem schema: %v\n", err)
		printUsage(stderr)
		return 2
	}
	if *help {
		printUsage(stdout)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "recotem schema: unexpected argument %q\n", fs.Arg(0))
		printUsage(stderr)
		return 2
	}
	b, err := recipe.JSONSchema()
	if err != nil {
		fmt.Fprintf(stderr, "recotem schema: %v\n", err)
		return 1
	}
	stdout.Write(append(b, '\n'))
	return 0
}
