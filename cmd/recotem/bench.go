package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/recotem/recotem/bench"
	"github.com/recotem/recotem/bench/report"
	"github.com/recotem/recotem/bench/workload"
	"github.com/recotem/recotem/internal/envconfig"
	"github.com/recotem/recotem/internal/logx"
)

const benchUsage = `Usage: recotem bench --recipe NAME [--url URL | --uds PATH] [--endpoint E]...
                     [--connections N] [--rate R] [--duration D | --requests N] [--json]

Load-generate against a running recotem server and report latency
(p50/p90/p99/p99.9/max), throughput and errors by status and by transport.

Without --rate the loop is closed: N connections each wait for their answer.
With --rate it is open: requests are scheduled at exactly R per second and
each latency runs from its scheduled start, so a server that falls behind
shows its backlog instead of hiding it.

Ids: --artifact reads user_ids/item_ids from a verified artifact
(RECOTEM_SIGNING_KEYS); --ids-file/--user-ids-file/--item-ids-file read one
id per line; otherwise ids are "1".."1000". The API key comes from
--api-key-file, else RECOTEM_API_PLAINTEXT. Targets must be loopback
addresses or a Unix socket unless --allow-remote.

Flags:
`

func runBench(args []string, stdout, stderr io.Writer) int {
	fl := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	fl.SetOutput(io.Discard)
	url := fl.String("url", "http://127.0.0.1:8080", "base URL of the server")
	uds := fl.String("uds", "", "reach the server through this Unix socket (the URL then gives only Host and path prefix)")
	recipes := fl.StringArray("recipe", nil, "recipe name (repeatable: requests spread over them)")
	endpoints := fl.StringArray("endpoint", nil, "predict, recommend, related, batch or batch-related (repeatable = mix; default recommend)")
	conns := fl.IntP("connections", "c", 10, "closed loop: connections; open loop: most requests in flight")
	rate := fl.Float64("rate", 0, "open loop: requests per second (0: closed loop)")
	duration := fl.DurationP("duration", "d", 10*time.Second, "length of the measured run")
	requests := fl.Int64P("requests", "n", 0, "stop after this many requests (alone: no duration bound)")
	warmup := fl.Duration("warmup", 0, "warm-up before measuring (discarded)")
	timeout := fl.Duration("timeout", 10*time.Second, "per-request timeout")
	asJSON := fl.Bool("json", false, "print one JSON object instead of the table")
	keyFile := fl.String("api-key-file", "", "file holding the API key (else RECOTEM_API_PLAINTEXT)")
	allowRemote := fl.Bool("allow-remote", false, "allow non-loopback targets")
	compare := fl.String("compare", "", "second base URL measured in the same run, alternating slices; prints ratios")
	compareUDS := fl.String("compare-uds", "", "Unix socket of the --compare target")
	slice := fl.Duration("compare-slice", 500*time.Millisecond, "length of each target's turn in a compare run")
	artifact := fl.String("artifact", "", "draw users and items from this artifact's id tables")
	idsFile := fl.String("ids-file", "", "ids, one per line, used for users and items")
	userFile := fl.String("user-ids-file", "", "user ids, one per line")
	itemFile := fl.String("item-ids-file", "", "item ids, one per line")
	dist := fl.String("dist", "uniform", "how ids are drawn: uniform or zipf")
	zipfS := fl.Float64("zipf-s", 1.0, "Zipf exponent")
	limit := fl.Int("limit", 10, "cutoff/limit of each (sub)request")
	seeds := fl.Int("seeds", 1, "seed items per related request")
	batchSize := fl.Int("batch-size", 8, "sub-requests per batch call")
	seed := fl.Uint64("seed", 1, "random seed of the id draws")
	noProgress := fl.Bool("no-progress", false, "no live progress line even on a terminal")
	help := fl.BoolP("help", "h", false, "show this help")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, benchUsage)
		fl.SetOutput(w)
		fl.PrintDefaults()
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "recotem bench: "+format+"\n", a...)
		printUsage(stderr)
		return 2
	}
	if err := fl.Parse(args); err != nil {
		return usageErr("%v", err)
	}
	if *help {
		printUsage(stdout)
		return 0
	}
	if fl.NArg() > 0 {
		return usageErr("unexpected argument %q", fl.Arg(0))
	}
	if len(*recipes) == 0 {
		return usageErr("--recipe is required")
	}
	if len(*endpoints) == 0 {
		*endpoints = []string{"recommend"}
	}
	var eps []workload.Endpoint
	for _, s := range *endpoints {
		for _, part := range strings.Split(s, ",") {
			e, err := workload.ParseEndpoint(part)
			if err != nil {
				return usageErr("%v", err)
			}
			eps = append(eps, e)
		}
	}
	d, err := workload.ParseDist(*dist)
	if err != nil {
		return usageErr("%v", err)
	}
	if *requests > 0 && !fl.Changed("duration") {
		*duration = 0
	}

	logger := logx.New(stderr, logx.FormatAuto, slog.LevelInfo)
	env, err := envconfig.Load(os.LookupEnv, envconfig.Options{Command: envconfig.CmdBench, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "Configuration error: %v\n", err)
		return 8
	}
	apiKey := env.APIPlaintext()
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return usageErr("--api-key-file: %v", err)
		}
		apiKey = strings.TrimRight(string(b), "\r\n")
	}

	wl := workload.Workload{Dist: d, ZipfS: *zipfS, Limit: *limit, Seeds: *seeds, BatchSize: *batchSize, Seed: *seed, Recipes: *recipes, Endpoints: eps}
	if *artifact != "" {
		ring, err := env.KeyRing()
		if err != nil {
			fmt.Fprintf(stderr, "Configuration error: %v\n", err)
			return 8
		}
		if ring == nil {
			fmt.Fprintln(stderr, "Configuration error: RECOTEM_SIGNING_KEYS is required to verify --artifact")
			return 8
		}
		wl.Users, wl.Items, err = workload.ArtifactIDs(*artifact, ring, env.Limits())
		if errors.Is(err, fs.ErrNotExist) {
			return usageErr("--artifact: %v", err)
		}
		if err != nil {
			fmt.Fprintf(stderr, "Artifact parse failed: %v\n", err)
			return 5
		}
	}
	readIDs := func(flag, path string, dst **workload.IDs) int {
		if path == "" {
			return 0
		}
		x, err := workload.ReadIDsFile(path)
		if err != nil {
			return usageErr("%s: %v", flag, err)
		}
		*dst = x
		return 0
	}
	if rc := readIDs("--ids-file", *idsFile, &wl.Users); rc != 0 {
		return rc
	}
	if *idsFile != "" {
		wl.Items = wl.Users
	}
	if rc := readIDs("--user-ids-file", *userFile, &wl.Users); rc != 0 {
		return rc
	}
	if rc := readIDs("--item-ids-file", *itemFile, &wl.Items); rc != 0 {
		return rc
	}
	if wl.Users == nil || wl.Items == nil {
		def, _ := workload.NumericIDs(1, 1000)
		if wl.Users == nil {
			wl.Users = def
		}
		if wl.Items == nil {
			wl.Items = def
		}
	}

	cfg := bench.Config{
		Target:       bench.Target{URL: *url, UDS: *uds},
		AllowRemote:  *allowRemote,
		APIKey:       apiKey,
		Connections:  *conns,
		Rate:         *rate,
		Duration:     *duration,
		Requests:     *requests,
		Warmup:       *warmup,
		Timeout:      *timeout,
		CompareSlice: *slice,
		Workload:     wl,
	}
	if *compare != "" || *compareUDS != "" {
		cfg.Compare = bench.Target{URL: *compare, UDS: *compareUDS}
		if cfg.Compare.URL == "" {
			cfg.Compare.URL = *url
		}
	}
	if f, ok := stderr.(*os.File); ok && !*noProgress && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	switch {
	case errors.Is(err, bench.ErrRemoteTarget):
		fmt.Fprintf(stderr, "Configuration error: %v\n", err)
		return 8
	case errors.Is(err, bench.ErrConfig), errors.Is(err, workload.ErrNoIDs):
		return usageErr("%v", err)
	case err != nil:
		fmt.Fprintf(stderr, "recotem bench: %v\n", err)
		return 1
	}
	rep := report.New(res)
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "recotem bench: %v\n", err)
		return 1
	}
	return 0
}
