package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/recotem/recotem/tools/keygen"
)

const keygenUsage = `Usage: recotem keygen [--type signing|api] [--kid KID]

Generate a signing key (for RECOTEM_SIGNING_KEYS) or an API key (for
RECOTEM_API_KEYS) and print exactly four lines: kid=, plaintext=,
fingerprint= or hash=sha256:, env_entry=.

Flags:
`

func runKeygen(args []string, stdout, stderr io.Writer) int {
	c := newCLI("keygen", keygenUsage, stderr)
	fs := c.fs
	typ := fs.String("type", keygen.TypeSigning, "key type: signing or api")
	kid := fs.String("kid", "", "key id, 1..32 bytes without ',' or ':' (default: 8 random hex)")
	if code, done := c.parse(args, stdout); done {
		return code
	}
	if code, done := c.noArgs(); done {
		return code
	}
	if fs.Changed("kid") && *kid == "" {
		fmt.Fprintln(stderr, "Configuration error: --kid must be 1..32 bytes")
		return 8
	}
	k, err := keygen.Generate(*typ, *kid)
	if err != nil {
		if errors.Is(err, keygen.ErrType) || errors.Is(err, keygen.ErrKid) {
			fmt.Fprintf(stderr, "Configuration error: %v\n", err)
			return 8
		}
		fmt.Fprintf(stderr, "recotem keygen: %v\n", err)
		return 1
	}
	if _, err := stdout.Write(k.AppendText(nil)); err != nil {
		return 1
	}
	return 0
}
