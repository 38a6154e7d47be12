package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/recotem/recotem/internal/envconfig"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
)

const validateUsage = `Usage: recotem validate RECIPE.yaml|DIR

Load a recipe like train does (env expansion, path policy, schema) and run
its data source's cheap probe. A directory is loaded strictly: every direct
*.yaml child must load and names must be unique. Prints, per recipe:
  Recipe '<name>': schema OK
  DataSource: probe OK (<type>)
then "Validation passed.". Exit 2 on a recipe error, 3 (7 when an address
guard refuses) on a probe failure.

Flags:
`

func runValidate(args []string, stdout, stderr io.Writer) int {
	c := newCLI("validate", validateUsage, stderr)
	fs := c.fs
	if code, done := c.parse(args, stdout); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "recotem validate: expected exactly one RECIPE.yaml or DIR")
		c.printUsage(stderr)
		return 2
	}
	target := fs.Arg(0)
	fi, err := os.Stat(target)
	if err != nil {
		fmt.Fprintf(stderr, "recotem validate: %s: no such file or directory\n", target)
		c.printUsage(stderr)
		return 2
	}

	cfg, err := envconfig.Load(os.LookupEnv, envconfig.Options{Command: envconfig.CmdValidate})
	if err != nil {
		fmt.Fprintf(stderr, "Configuration error: %v\n", err)
		return 8
	}
	logger := logx.New(stderr, cfg.LogFormat, slog.LevelWarn)
	opt := recipe.Options{LookupEnv: cfg.RecipeVar, ArtifactRoot: cfg.ArtifactRoot, Logger: logger}

	var recipes []*recipe.Recipe
	if fi.IsDir() {
		recipes, _, err = recipe.LoadDir(target, opt, true)
	} else {
		var r *recipe.Recipe
		r, err = recipe.Load(target, opt)
		recipes = []*recipe.Recipe{r}
	}
	if err != nil {
		fmt.Fprintf(stderr, "Recipe error: %v\n", err)
		return failure.ExitCode(err)
	}
	ctx := context.Background()
	for _, r := range recipes {
		fmt.Fprintf(stdout, "Recipe '%s': schema OK\n", r.Name)
		src, err := source.New(r, source.Options{Settings: sourceSettings(cfg), Logger: logger, LookupEnv: cfg.External})
		if err == nil {
			err = src.Probe(ctx)
		}
		if err != nil {
			fmt.Fprintf(stderr, "DataSource error: %v\n", err)
			code := failure.ExitCode(err)
			if code == int(failure.Unknown) {
				code = int(failure.DataSource)
			}
			return code
		}
		fmt.Fprintf(stdout, "DataSource: probe OK (%s)\n", r.Source.Type)
	}
	fmt.Fprintln(stdout, "Validation passed.")
	return 0
}
