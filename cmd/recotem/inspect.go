package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/recotem/recotem/internal/envconfig"
	"github.com/recotem/recotem/internal/fetch"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/tools/inspect"
)

const inspectUsage = `Usage: recotem inspect ARTIFACT [--dev-allow-unsigned] [--sections] [--hex]

Verify a format-1 artifact (a local path, a pointer file, a file:// URI or an
http(s):// URL fetched under the RECOTEM_HTTP_* guard)
with RECOTEM_SIGNING_KEYS and print "HMAC: OK  (kid='<kid>')" followed by
its header JSON. The payload is never interpreted.

Flags:
`

func runInspect(args []string, stdout, stderr io.Writer) int {
	c := newCLI("inspect", inspectUsage, stderr)
	fs := c.fs
	dev := fs.Bool("dev-allow-unsigned", false, "verify with the development key (kid 'dev', 32 zero bytes) when RECOTEM_SIGNING_KEYS is unset; needs RECOTEM_ENV=development")
	fs.Bool("i-understand-this-loads-arbitrary-code", false, "companion of --dev-allow-unsigned (accepted; inspect never loads the payload)")
	sections := fs.Bool("sections", false, "also print the payload section table (offset, length, padding, dtype, shape)")
	hexDump := fs.Bool("hex", false, "also print an annotated hex dump of the container")
	hexBytes := fs.Int("hex-bytes", 64, "bytes of each section shown by --hex")
	if code, done := c.parse(args, stdout); done {
		return code
	}
	if fs.NArg() != 1 {
		if fs.NArg() == 0 {
			fmt.Fprintln(stderr, "recotem inspect: missing ARTIFACT")
		} else {
			fmt.Fprintf(stderr, "recotem inspect: unexpected argument %q\n", fs.Arg(1))
		}
		c.printUsage(stderr)
		return 2
	}

	logger := logx.New(stderr, envconfig.LogFormatFor(os.LookupEnv), slog.LevelInfo)
	cfg, err := envconfig.Load(os.LookupEnv, envconfig.Options{Command: envconfig.CmdInspect, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "Configuration error: %v\n", err)
		return 8
	}
	err = inspect.Run(inspect.Options{
		Path:             fs.Arg(0),
		DevAllowUnsigned: *dev,
		Env:              cfg.Env,
		Keys:             cfg.KeyRing,
		Limits:           cfg.Limits(),
		Sections:         *sections,
		Hex:              *hexDump,
		HexPayload:       *hexBytes,
		Logger:           logger,
		Fetch: func(u string, w io.Writer) error {
			f := &fetch.Fetcher{
				AllowPrivate: cfg.HTTPAllowPrivate,
				Timeout:      cfg.HTTPTimeout,
				MaxBytes:     cfg.MaxArtifactBytes + 1,
				Prefix:       "artifact",
				Logger:       logger,
			}
			_, err := f.Fetch(context.Background(), u, "", w)
			return err
		},
	}, stdout)
	if err != nil {
		var ie *inspect.Error
		if errors.As(err, &ie) {
			fmt.Fprintln(stderr, ie.Line)
			return ie.Code
		}
		fmt.Fprintf(stderr, "recotem inspect: %v\n", err)
		return 1
	}
	return 0
}
