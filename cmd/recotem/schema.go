package main

import (
	"fmt"
	"io"

	"github.com/recotem/recotem/internal/recipe"
)

const schemaUsage = `Usage: recotem schema

Print the recipe JSON Schema (2-space indent). "source" is a oneOf
discriminated by "type" over csv, parquet, bigquery and sql. Point an
editor's YAML language server at it to validate recipes while typing.

Flags:
`

func runSchema(args []string, stdout, stderr io.Writer) int {
	c := newCLI("schema", schemaUsage, stderr)
	if code, done := c.parse(args, stdout); done {
		return code
	}
	if code, done := c.noArgs(); done {
		return code
	}
	b, err := recipe.JSONSchema()
	if err != nil {
		fmt.Fprintf(stderr, "recotem schema: %v\n", err)
		return 1
	}
	stdout.Write(append(b, '\n'))
	return 0
}
