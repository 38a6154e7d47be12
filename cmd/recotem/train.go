package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/envconfig"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/internal/recipe/recipeenv"
	"github.com/recotem/recotem/trainer"
	"github.com/recotem/recotem/trainer/source"
)

// devFlagsOK enforces the unsafe-flag rule (§1.3): --dev-allow-unsigned
// needs its companion and RECOTEM_ENV=development.
func devFlagsOK(dev, companion bool, env string) error {
	if !dev {
		return nil
	}
	if !companion {
		return errors.New("--dev-allow-unsigned requires --i-understand-this-loads-arbitrary-code")
	}
	if env != "development" {
		return fmt.Errorf("--dev-allow-unsigned requires RECOTEM_ENV=development (got %q)", env)
	}
	return nil
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	noLock := fs.Bool("no-lock", false, "skip the per-recipe lock")
	failOnBusy := fs.Bool("fail-on-busy", false, "exit 6 when the lock is held instead of skipping")
	lockTimeout := fs.Float64("lock-timeout", 0, "seconds to wait for the lock: 0 non-blocking, -1 forever")
	quiet := fs.BoolP("quiet", "q", false, "no per-trial events")
	verbose := fs.BoolP("verbose", "v", false, "per-trial events include params")
	runID := fs.String("run-id", "", "study run id (default: 12 random hex); same id resumes a stored study")
	envVars := fs.StringArray("env-var", nil, "KEY=VALUE for ${RECOTEM_RECIPE_*} expansion (repeatable)")
	devUnsigned := fs.Bool("dev-allow-unsigned", false, "sign with the development key (needs RECOTEM_ENV=development)")
	companion := fs.Bool("i-understand-this-loads-arbitrary-code", false, "companion of --dev-allow-unsigned")
	help := fs.BoolP("help", "h", false, "show help")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "recotem train: %v\n\nUsage: recotem train RECIPE.yaml [flags]\n%s", err, fs.FlagUsages())
		return 2
	}
	if *help {
		fmt.Fprintf(stdout, "Usage: recotem train RECIPE.yaml [flags]\n\n%s", fs.FlagUsages())
		return 0
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "recotem train: exactly one RECIPE.yaml expected\n\nUsage: recotem train RECIPE.yaml [flags]\n%s", fs.FlagUsages())
		return 2
	}
	// Every RECOTEM_* variable is read here, once (internal/envconfig); the
	// logger exists first so that the env_var_* events reach it.
	log := logx.New(stderr, envconfig.LogFormatFor(os.LookupEnv), slog.LevelInfo)
	configErr := func(msg string) int {
		fmt.Fprintf(stderr, "Configuration error: %s\n", msg)
		return 8
	}
	env, err := envconfig.Load(os.LookupEnv, envconfig.Options{Command: envconfig.CmdTrain, Logger: log})
	if err != nil {
		return configErr(err.Error())
	}
	if err := devFlagsOK(*devUnsigned, *companion, env.Env); err != nil {
		return configErr(err.Error())
	}
	var timeout time.Duration
	switch {
	case *lockTimeout == -1:
		timeout = -1
	case *lockTimeout < 0:
		return configErr("--lock-timeout must be >= 0 or -1")
	default:
		timeout = time.Duration(*lockTimeout * float64(time.Second))
	}
	vars, err := recipeenv.ParseFlags(*envVars)
	if err != nil {
		fmt.Fprintf(stderr, "Recipe error: %v\n", err)
		return 2
	}
	recipePath := fs.Arg(0)
	if _, err := os.Stat(recipePath); err != nil {
		fmt.Fprintf(stderr, "recotem train: recipe %s: %v\n", recipePath, errors.Unwrap(err))
		return 2
	}

	opt := trainer.Options{
		RecipePath: recipePath, EnvVars: vars, LookupEnv: env.External, RunID: *runID,
		Quiet: *quiet, Verbose: *verbose, NoLock: *noLock, FailOnBusy: *failOnBusy, LockTimeout: timeout,
		LockDir:      env.LockDir,
		ArtifactRoot: env.ArtifactRoot,
		Source:       sourceSettings(env),
		Logger:       log,
		MemoryLimit:  env.TrainMemoryLimit,
		// GOMEMLIMIT is the Go runtime's own setting; when the operator
		// gave one, the trainer leaves the collector's limit alone.
		SetGoMemoryLimit: os.Getenv("GOMEMLIMIT") == "",
	}
	ring, err := env.KeyRing() // nil when unset: missing keys beat recipe errors (§1.2), trainer.Run reports them
	switch {
	case *devUnsigned:
		opt.Ring = format.DevKeyRing()
	case err != nil:
		var ke *format.KeyError
		if errors.As(err, &ke) {
			return configErr(ke.Error())
		}
		return configErr(err.Error())
	default:
		opt.Ring = ring
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opt.Progress = func(line string) { fmt.Fprintf(stderr, "\r\033[K%s", line) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := trainer.Run(ctx, opt)
	if opt.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		code := failure.ExitCode(err)
		prefix := "Training failed"
		switch code {
		case 2:
			prefix = "Recipe error"
		case 8:
			prefix = "Configuration error"
		}
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return code
	}
	_ = res
	return 0
}

// sourceSettings are the data-source settings of train and validate.
func sourceSettings(env *envconfig.Config) source.Settings {
	return source.Settings{
		MaxDownloadBytes:    env.MaxDownloadBytes,
		HTTPTimeout:         env.HTTPTimeout,
		HTTPAllowPrivate:    env.HTTPAllowPrivate,
		SQLAllowPrivate:     env.SQLAllowPrivate,
		MaxSQLRows:          env.MaxSQLRows,
		BQRequireStorageAPI: env.BQRequireStorageAPI,
	}
}
