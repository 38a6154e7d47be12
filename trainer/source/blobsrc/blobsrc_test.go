package blobsrc

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/source"
)

// repoRoot walks up to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	d, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("go.mod not found")
		}
		d = p
	}
}

// s3Base points the AWS SDK at the versitygw of .ci/services/s3.sh and
// returns a unique "s3://<bucket>/<prefix>"; it skips when none runs.
func s3Base(t testing.TB) string {
	t.Helper()
	ep := testenv.Getenv(t, testenv.S3, "RECOTEM_TEST_S3_ENDPOINT")
	t.Setenv("AWS_ENDPOINT_URL", ep)
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv("RECOTEM_TEST_S3_ACCESS_KEY"))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("RECOTEM_TEST_S3_SECRET_KEY"))
	t.Setenv("AWS_REGION", os.Getenv("RECOTEM_TEST_S3_REGION"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return fmt.Sprintf("s3://%s/%s-%d", os.Getenv("RECOTEM_TEST_S3_BUCKET"), strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

func csvRecipe(path string) *recipe.Recipe {
	return &recipe.Recipe{
		Name:   "t",
		Source: recipe.Source{Type: recipe.TypeCSV, CSV: &recipe.CSVSource{Type: "csv", Path: path, Delimiter: ",", Encoding: "utf-8"}},
		Schema: recipe.Schema{UserColumn: "userId", ItemColumn: "movieId"},
	}
}

func count(t *testing.T, r *recipe.Recipe, opt source.Options) (int, string, error) {
	t.Helper()
	src, err := source.New(r, opt)
	if err != nil {
		return 0, "", err
	}
	n := 0
	var last string
	err = src.Fetch(context.Background(), source.SinkFunc(func(v []source.Value) error {
		n++
		last = string(v[0].Str) + "|" + string(v[1].Str)
		return nil
	}))
	return n, last, err
}

func TestS3CSVMovieLens(t *testing.T) {
	base := s3Base(t)
	local := filepath.Join(repoRoot(t), "..", "shared", "data", "movielens", "ratings.csv")
	data, err := os.ReadFile(local)
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data absent: %v", err)
	ctx := context.Background()
	uri := base + "/ratings.csv"
	if err := Store().Put(ctx, uri, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	wantN, wantLast, err := count(t, csvRecipe(local), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, last, err := count(t, csvRecipe(uri), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n != wantN || last != wantLast || n < 1000 {
		t.Fatalf("s3 read %d rows (last %s), local %d (last %s)", n, last, wantN, wantLast)
	}

	// Over the cap: refused by the size probe, exit 3, naming the variable.
	_, _, err = count(t, csvRecipe(uri), source.Options{Settings: source.Settings{MaxDownloadBytes: int64(len(data)) - 1}})
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "RECOTEM_MAX_DOWNLOAD_BYTES") {
		t.Fatalf("over cap: exit %d, %v", failure.ExitCode(err), err)
	}
}

func TestS3Failures(t *testing.T) {
	base := s3Base(t)
	ctx := context.Background()
	var logs bytes.Buffer
	opt := source.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}

	// Missing object: the probe is skipped with a warning, the read fails with 3.
	_, _, err := count(t, csvRecipe(base+"/absent.csv"), opt)
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing: exit %d, %v", failure.ExitCode(err), err)
	}
	if !strings.Contains(logs.String(), "size_cap_probe_skipped_credential") {
		t.Fatalf("no size_cap_probe_skipped_credential event: %s", logs.String())
	}

	// Empty object → 3.
	if err := Store().Put(ctx, base+"/empty.csv", strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	_, _, err = count(t, csvRecipe(base+"/empty.csv"), opt)
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty: exit %d, %v", failure.ExitCode(err), err)
	}

	// Gzip over S3 is undone by the source.
	var gz bytes.Buffer
	gzipWrite(t, &gz, "userId,movieId\n1,2\n3,4\n")
	if err := Store().Put(ctx, base+"/r.csv.gz", &gz); err != nil {
		t.Fatal(err)
	}
	n, last, err := count(t, csvRecipe(base+"/r.csv.gz"), opt)
	if err != nil || n != 2 || last != "3|4" {
		t.Fatalf("gzip: %d %q %v", n, last, err)
	}

	// An unreachable endpoint is a probe failure, exit 3.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	fresh := blob.NewStore()
	defer fresh.Close()
	old := store
	store = fresh
	defer func() { store = old }()
	_, _, err = count(t, csvRecipe(base+"/r.csv.gz"), opt)
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), "size_cap_probe_failed") {
		t.Fatalf("unreachable: exit %d, %v", failure.ExitCode(err), err)
	}
}

func TestSchemesRegistered(t *testing.T) {
	// A path of each scheme reaches this opener: a bad URI shape is this
	// package's DataSource error, not "not available in this build".
	for _, s := range Schemes {
		_, _, err := count(t, csvRecipe(s+"://only-bucket"), source.Options{})
		if failure.ExitCode(err) != 3 || strings.Contains(err.Error(), "not available") {
			t.Fatalf("%s: exit %d, %v", s, failure.ExitCode(err), err)
		}
	}
}
