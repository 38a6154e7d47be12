package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/recotem/recotem/appliance"
	"github.com/recotem/recotem/internal/envconfig"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/internal/recipe"
)

const serveUsage = `Usage: recotem serve --recipes DIR [flags]

Serve every recipe's artifact over HTTP (the legacy /predict surface and
/v1), hot-swapping artifacts as they change. SIGTERM/SIGINT drain in-flight
requests for up to RECOTEM_DRAIN_SECONDS, then exit 0.

Flags:
`

func runServe(args []string, stdout, stderr io.Writer) int {
	c := newCLI("serve", serveUsage, stderr)
	fs := c.fs
	recipes := fs.String("recipes", "", "directory of recipe *.yaml files (required)")
	port := fs.IntP("port", "p", 8080, "TCP port (RECOTEM_PORT); 0 picks a free port")
	host := fs.StringP("host", "H", "127.0.0.1", "bind address (RECOTEM_HOST); forced to 127.0.0.1 without API keys")
	uds := fs.String("uds", "", "also listen on this Unix socket (sidecars)")
	insecure := fs.Bool("insecure-no-auth", false, "disable API-key auth; needs RECOTEM_ENV development, dev or test")
	dev := fs.Bool("dev-allow-unsigned", false, "skip artifact HMAC verification; needs the companion flag and RECOTEM_ENV=development")
	understand := fs.Bool("i-understand-this-loads-arbitrary-code", false, "companion of --dev-allow-unsigned")
	if code, done := c.parse(args, stdout); done {
		return code
	}
	if code, done := c.noArgs(); done {
		return code
	}
	if *recipes == "" {
		fmt.Fprintln(stderr, "recotem serve: --recipes is required")
		c.printUsage(stderr)
		return 2
	}
	if st, err := os.Stat(*recipes); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "recotem serve: --recipes %s: not an existing directory\n", *recipes)
		c.printUsage(stderr)
		return 2
	}

	logger := logx.New(stderr, envconfig.LogFormatFor(os.LookupEnv), slog.LevelInfo)
	env, err := envconfig.Load(os.LookupEnv, envconfig.Options{Command: envconfig.CmdServe, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "Configuration error: %v\n", err)
		return 8
	}
	ring, ringErr := env.KeyRing()
	cfg := appliance.Config{
		RecipesDir:         *recipes,
		Loader:             recipeLoader{opt: recipe.Options{LookupEnv: env.RecipeVar, ArtifactRoot: env.ArtifactRoot}},
		Logger:             logger,
		Host:               env.Host,
		Port:               env.Port,
		UDS:                *uds,
		APIKeys:            env.APIKeys,
		InsecureNoAuth:     *insecure,
		DevAllowUnsigned:   *dev,
		IUnderstand:        *understand,
		Env:                env.Env,
		KeyRing:            ring,
		KeyRingErr:         ringErr,
		AllowedHosts:       env.AllowedHosts,
		AllowedOrigins:     env.AllowedOrigins,
		WatchInterval:      env.WatchInterval,
		DrainSeconds:       int(env.Drain.Seconds()),
		MetricsEnabled:     env.MetricsEnabled,
		MetadataDeny:       env.MetadataFieldDeny,
		StartupParallelism: env.StartupParallelism,
		Limits:             env.Limits(),
		MaxDownloadBytes:   env.MaxDownloadBytes,
		HTTPTimeout:        env.HTTPTimeout,
		HTTPAllowPrivate:   env.HTTPAllowPrivate,
		ResultCacheBytes:   env.ResultCacheBytes,
		CopyArtifacts:      env.ArtifactLoad == "copy",
	}
	if fs.Changed("host") {
		cfg.Host = *host
	}
	if fs.Changed("port") {
		cfg.Port = *port
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := appliance.Run(ctx, cfg); err != nil {
		if errors.Is(err, appliance.ErrConfig) {
			fmt.Fprintf(stderr, "Configuration error: %v\n", err)
			return 8
		}
		fmt.Fprintf(stderr, "recotem serve: %v\n", err)
		return 1
	}
	return 0
}

// recipeLoader adapts internal/recipe.LoadDir (lenient) to the appliance.
type recipeLoader struct{ opt recipe.Options }

var dupNameRE = regexp.MustCompile(`duplicate recipe name "([^"]*)"`)

func (l recipeLoader) LoadDir(dir string) ([]appliance.RecipeInfo, []appliance.RecipeProblem, error) {
	rs, probs, err := recipe.LoadDir(dir, l.opt, false)
	if err != nil {
		return nil, nil, err
	}
	infos := make([]appliance.RecipeInfo, 0, len(rs))
	for _, r := range rs {
		info := appliance.RecipeInfo{Name: r.Name, File: r.File, OutputPath: localPath(r.Output.Path)}
		if m := r.ItemMetadata; m != nil {
			spec := appliance.MetadataSpec{Type: m.Type, Path: localPath(m.Path), Fields: m.Fields, OnFieldMissing: m.OnFieldMissing, ItemIDColumn: m.ItemIDColumn}
			if m.SHA256 != nil {
				spec.SHA256 = *m.SHA256
			}
			info.Metadata = &spec
		}
		infos = append(infos, info)
	}
	out := make([]appliance.RecipeProblem, 0, len(probs))
	for _, p := range probs {
		rp := appliance.RecipeProblem{File: p.File, Stem: p.Name, Err: p.Err, Msg: p.Msg,
			Security: p.Kind == recipe.KindSecurity, Duplicate: p.Kind == recipe.KindDuplicate}
		if rp.Stem == "" {
			rp.Stem = strings.TrimSuffix(baseName(p.File), ".yaml")
		}
		if m := dupNameRE.FindStringSubmatch(p.Msg); m != nil {
			rp.Name = m[1]
		}
		out = append(out, rp)
	}
	return infos, out, nil
}

func localPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "file://"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			rest = rest[i:] // file://localhost/x → /x
		}
		return rest
	}
	return p
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
