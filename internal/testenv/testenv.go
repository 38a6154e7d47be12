// Package testenv owns one decision for the tests of this module: what a
// test does when something it needs from outside the repository is missing
// — a database server, an object-store emulator, the shared MovieLens
// data, a tool on PATH. On a developer's machine the test skips with a
// message naming what is missing and how to provide it. Where the
// environment variable RECOTEM_TEST_REQUIRE lists that need (a
// comma-separated list of Need names; "all" lists every one), the test
// fails instead: .ci/run sets it to everything CI provides, so a service
// that did not start fails its tests rather than hiding behind skips.
//
// Skips that are tiers (-short, the race detector) or platform facts
// (Linux-only behaviour) are not needs and stay plain t.Skip calls.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Var is the environment variable listing the needs that must be met.
const Var = "RECOTEM_TEST_REQUIRE"

// Need names one thing from outside the repository that some tests need.
type Need string

// The needs, by the names RECOTEM_TEST_REQUIRE takes.
const (
	Postgres   Need = "postgres"   // a PostgreSQL server (RECOTEM_TEST_POSTGRES_*)
	MySQL      Need = "mysql"      // a MySQL/MariaDB server (RECOTEM_TEST_MYSQL_*)
	S3         Need = "s3"         // an S3-compatible server (RECOTEM_TEST_S3_*)
	GCS        Need = "gcs"        // a GCS emulator (RECOTEM_TEST_GCS_*)
	Azure      Need = "azure"      // an Azure Blob emulator (RECOTEM_TEST_AZURE_*)
	MovieLens  Need = "movielens"  // ../shared/data/movielens beside the repository
	Quickstart Need = "quickstart" // examples/quickstart, shipped in the repository
	Python3    Need = "python3"    // python3 on PATH
	GoTool     Need = "go"         // the go command on PATH, able to build cmd/recotem
	Wrk        Need = "wrk"        // the wrk load generator on PATH
)

// provide says, per need, how a developer provides it.
var provide = map[Need]string{
	Postgres:   "source .ci/services/postgres.sh (sets RECOTEM_TEST_POSTGRES_URL, _USER, _PASSWORD)",
	MySQL:      "source .ci/services/mariadb.sh (sets RECOTEM_TEST_MYSQL_URL, _USER, _PASSWORD)",
	S3:         "source .ci/services/s3.sh (sets RECOTEM_TEST_S3_*)",
	GCS:        "source .ci/services/gcs.sh (sets RECOTEM_TEST_GCS_*)",
	Azure:      "source .ci/services/azure.sh (sets RECOTEM_TEST_AZURE_*)",
	MovieLens:  "place the MovieLens 100k ratings.csv and split-random-42/ in ../shared/data/movielens relative to the repository root",
	Quickstart: "restore examples/quickstart from the repository",
	Python3:    "install python3 (Debian package python3)",
	GoTool:     "put the go command on PATH",
	Wrk:        "install wrk (Debian package wrk)",
}

// elsewhere lists the names that tests outside this module read from the
// same variable: deploy/test, a module of its own that cannot import this
// package (deploy/test/tools.go). They are valid in RECOTEM_TEST_REQUIRE
// though no test here needs them.
var elsewhere = []string{"helm", "kustomize", "systemd"}

// Needs returns every need, sorted by name.
func Needs() []Need {
	ns := make([]Need, 0, len(provide))
	for n := range provide {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// listed returns the names RECOTEM_TEST_REQUIRE lists.
func listed() []string {
	var names []string
	for f := range strings.SplitSeq(os.Getenv(Var), ",") {
		if f = strings.TrimSpace(f); f != "" {
			names = append(names, f)
		}
	}
	return names
}

// Unknown returns the names RECOTEM_TEST_REQUIRE lists that are neither a
// Need, a name of deploy/test's, nor "all" (a typo there would otherwise
// turn a failure back into a skip).
func Unknown() []string {
	var bad []string
	for _, f := range listed() {
		if _, ok := provide[Need(f)]; !ok && f != "all" && !slices.Contains(elsewhere, f) {
			bad = append(bad, f)
		}
	}
	return bad
}

// Required reports whether RECOTEM_TEST_REQUIRE lists need or "all".
func Required(need Need) bool {
	names := listed()
	return slices.Contains(names, string(need)) || slices.Contains(names, "all")
}

// Require returns if available; otherwise it ends the test: t.Fatalf when
// RECOTEM_TEST_REQUIRE lists need, else t.Skipf. format and args say what
// exactly is missing; the message adds how to provide it.
func Require(t testing.TB, need Need, available bool, format string, args ...any) {
	t.Helper()
	if available {
		return
	}
	how, ok := provide[need]
	if !ok {
		t.Fatalf("testenv: unknown need %q", need)
		return
	}
	what := fmt.Sprintf(format, args...)
	if Required(need) {
		t.Fatalf("missing %s, which %s=%s requires: %s; to provide it, %s", need, Var, os.Getenv(Var), what, how)
		return
	}
	t.Skipf("missing %s: %s; to run this test, %s (with %s=%s this skip is a failure)", need, what, how, Var, need)
}

// Getenv returns the value of the environment variable name, which a
// service script for need sets; an unset or empty name ends the test as
// Require does.
func Getenv(t testing.TB, need Need, name string) string {
	t.Helper()
	v := os.Getenv(name)
	Require(t, need, v != "", "%s is unset", name)
	return v
}

// LookPath returns the path of the program file on PATH (exec.LookPath);
// a missing program ends the test as Require does.
func LookPath(t testing.TB, need Need, file string) string {
	t.Helper()
	p, err := exec.LookPath(file)
	Require(t, need, err == nil, "%s not on PATH (%v)", file, err)
	return p
}
