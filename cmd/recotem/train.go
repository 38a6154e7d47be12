package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer"
)

func init() { commands["train"] = runTrain }

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
	env := os.Getenv("RECOTEM_ENV")
	logFormat := os.Getenv("RECOTEM_LOG_FORMAT")
	if !logx.ValidFormat(logFormat) {
		logFormat = "auto" // train falls back (§2)
	}
	log := logx.New(stderr, logFormat, slog.LevelInfo)
	configErr := func(msg string) int {
		fmt.Fprintf(stderr, "Configuration error: %s\n", msg)
		return 8
	}
	if err := devFlagsOK(*devUnsigned, *companion, env); err != nil {
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
	vars, err := recipe.ParseEnvVars(*envVars)
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
		RecipePath: recipePath, EnvVars: vars, LookupEnv: os.LookupEnv, RunID: *runID,
		Quiet: *quiet, Verbose: *verbose, NoLock: *noLock, FailOnBusy: *failOnBusy, LockTimeout: timeout,
		LockDir:          os.Getenv("RECOTEM_LOCK_DIR"),
		ArtifactRoot:     os.Getenv("RECOTEM_ARTIFACT_ROOT"),
		MaxDownloadBytes: envBytes("RECOTEM_MAX_DOWNLOAD_BYTES", 256<<20, 1<<20, 16<<30, log),
		Logger:           log,
	}
	if opt.LockDir == "" {
		opt.LockDir = filepath.Join(os.TempDir(), "recotem-locks")
	}
	switch spec := os.Getenv("RECOTEM_SIGNING_KEYS"); {
	case *devUnsigned:
		opt.Ring = format.DevKeyRing()
	case strings.TrimSpace(spec) == "":
		// Missing keys beat recipe errors (§1.2 priority): report before loading.
		opt.Ring = nil
	default:
		ring, err := format.ParseKeyRing(spec)
		if err != nil {
			return configErr(err.Error())
		}
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

// envBytes reads an integer byte size with default and clamp (§2).
func envBytes(name string, def, lo, hi int64, log *slog.Logger) int64 {
	raw, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(raw) == "" {
		return def
	}
	v, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil {
		log.Warn("env_var_unparseable", "name", name, "raw", raw, "fallback", def)
		return def
	}
	if v < lo || v > hi {
		c := min(max(v, lo), hi)
		log.Warn("env_var_clamped", "name", name, "requested", v, "clamped", c, "lo", lo, "hi", hi)
		return c
	}
	return v
}
