package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// cli is one subcommand's flag set with the conventions of §1.1:
// --help prints usage on stdout and exits 0; a flag error prints the error
// and the usage on stderr and exits 2.
type cli struct {
	name, usage string
	fs          *pflag.FlagSet
	help        *bool
	stderr      io.Writer
}

func newCLI(name, usage string, stderr io.Writer) *cli {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &cli{name: name, usage: usage, fs: fs, help: fs.BoolP("help", "h", false, "show this help"), stderr: stderr}
}

func (c *cli) printUsage(w io.Writer) {
	fmt.Fprint(w, c.usage)
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
}

// parse parses args; done reports that the command must return code now.
func (c *cli) parse(args []string, stdout io.Writer) (code int, done bool) {
	if err := c.fs.Parse(args); err != nil {
		return c.fail("%v", err), true
	}
	if *c.help {
		c.printUsage(stdout)
		return 0, true
	}
	return 0, false
}

// noArgs fails (exit 2) when positional arguments were given.
func (c *cli) noArgs() (int, bool) {
	if c.fs.NArg() > 0 {
		return c.fail("unexpected argument %q", c.fs.Arg(0)), true
	}
	return 0, false
}

// fail prints "recotem <name>: <msg>" and the usage on stderr; exit 2.
func (c *cli) fail(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "recotem %s: %s\n", c.name, fmt.Sprintf(format, args...))
	c.printUsage(c.stderr)
	return 2
}
