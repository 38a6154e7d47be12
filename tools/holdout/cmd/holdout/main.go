// Command holdout writes fixed train/test split files of an interaction CSV:
//
//	go run ./tools/holdout/cmd/holdout -in ../shared/data/movielens/ratings.csv \
//	    -user userId -time timestamp -heldout 0.1 -o /tmp/ml-time-user
//
// writes /tmp/ml-time-user/train.csv and test.csv: per user, the most
// recent ⌊0.1·n⌋ rows go to test (the product's time_user scheme).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/recotem/recotem/tools/holdout"
)

func main() {
	in := flag.String("in", "", "interaction CSV with a header")
	user := flag.String("user", "userId", "user column")
	tcol := flag.String("time", "timestamp", "integer time column")
	h := flag.Float64("heldout", 0.1, "fraction of each user's rows held out, most recent first")
	out := flag.String("o", "", "output directory (created)")
	flag.Parse()
	if err := run(*in, *user, *tcol, *h, *out); err != nil {
		fmt.Fprintln(os.Stderr, "holdout:", err)
		os.Exit(1)
	}
}

func run(in, user, tcol string, h float64, out string) error {
	if in == "" || out == "" {
		return fmt.Errorf("-in and -o are required")
	}
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	train, err := os.Create(filepath.Join(out, "train.csv"))
	if err != nil {
		return err
	}
	defer train.Close()
	test, err := os.Create(filepath.Join(out, "test.csv"))
	if err != nil {
		return err
	}
	defer test.Close()
	st, err := holdout.TimeUser(src, user, tcol, h, train, test)
	if err != nil {
		return err
	}
	if err := train.Close(); err != nil {
		return err
	}
	if err := test.Close(); err != nil {
		return err
	}
	fmt.Printf("users %d, test users %d, train rows %d, test rows %d\n", st.Users, st.TestUsers, st.TrainRows, st.TestRows)
	return nil
}
