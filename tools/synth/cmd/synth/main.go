// Command synth writes a synthetic power-law interaction CSV:
//
//	go run ./tools/synth/cmd/synth -users 1000 -items 500 -rows 2000 -seed 1 -o data.csv
//
// A name ending in .gz is gzip-compressed.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/recotem/recotem/tools/synth"
)

func main() {
	var c synth.Config
	var out string
	flag.IntVar(&c.Users, "users", 1000, "distinct users")
	flag.IntVar(&c.Items, "items", 500, "distinct items")
	flag.IntVar(&c.Rows, "rows", 10000, "rows")
	flag.Float64Var(&c.Exponent, "zipf", 1.0, "Zipf exponent")
	flag.Float64Var(&c.UserExponent, "user-zipf", 0, "Zipf exponent of user activity (0: the -zipf value)")
	flag.Uint64Var(&c.Seed, "seed", 42, "seed")
	flag.IntVar(&c.Clusters, "clusters", 0, "latent user/item groups (0: plain power law)")
	flag.Float64Var(&c.Affinity, "affinity", 0, "probability that a row's item is from the user's group (0: 0.8)")
	flag.StringVar(&out, "o", "", "output file (default stdout)")
	flag.Parse()
	w := os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "synth:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
		c.Gzip = strings.HasSuffix(out, ".gz")
	}
	if _, err := synth.Write(w, c); err != nil {
		fmt.Fprintln(os.Stderr, "synth:", err)
		os.Exit(1)
	}
}
