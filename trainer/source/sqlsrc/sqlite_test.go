package sqlsrc

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/dataset"
	"github.com/recotem/recotem/trainer/source"
)

func TestSQLiteRows(t *testing.T) {
	dsn := sqliteDB(t, 5)
	log, lb := newLog()
	r := sqlRecipe("SELECT user_id, item_id, ts FROM t WHERE item_id >= :lo ORDER BY item_id", map[string]any{"lo": 102})
	rows, err := fetchRows(t, r, source.Options{Logger: log, LookupEnv: env(dsnVar, dsn)})
	if err != nil {
		t.Fatal(err)
	}
	want := "S:u2 I:102 I:1700000002|S:u3 I:103 I:1700000003|S:u4 I:104 I:1700000004"
	if got := strings.Join(rows, "|"); got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}
	done := lb.Events(t, "sql_fetch_complete")
	if len(done) != 1 || done[0]["n_rows"] != float64(3) || done[0]["dialect"] != "sqlite" {
		t.Fatalf("sql_fetch_complete %v", done)
	}
	if len(lb.Events(t, "sql_statement_timeout_unsupported_on_sqlite")) != 1 {
		t.Fatal("no sql_statement_timeout_unsupported_on_sqlite warning")
	}
	if len(lb.Events(t, "sql_dsn_tls_not_configured")) != 0 {
		t.Fatal("sqlite must not warn about TLS")
	}
	// Other value kinds: float, null, bool, text timestamp.
	r = sqlRecipe("SELECT note AS user_id, score AS item_id, 1=1 AS ts FROM t ORDER BY item_id LIMIT 2", nil)
	rows, err = fetchRows(t, r, source.Options{LookupEnv: env(dsnVar, dsn)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows, "|"); got != "S:n F:0 I:1|N F:0.5 I:1" {
		t.Fatalf("kinds: %s", got)
	}
}

func TestSQLiteErrors(t *testing.T) {
	dsn := sqliteDB(t, 1500)
	f := func(r *recipe.Recipe, lookup func(string) (string, bool), wantExit int, want string) {
		t.Helper()
		_, err := fetchRows(t, r, source.Options{LookupEnv: lookup})
		if got := failure.ExitCode(err); got != wantExit || err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: %v (exit %d), want %d containing %q", r.Source.SQL.Query, err, got, wantExit, want)
		}
	}
	all := sqlRecipe("SELECT user_id, item_id, ts FROM t", nil)
	_, err := fetchRows(t, all, source.Options{LookupEnv: env(dsnVar, dsn), Settings: source.Settings{MaxSQLRows: 1000}})
	if want := "query result exceeds RECOTEM_MAX_SQL_ROWS=1000 rows"; failure.ExitCode(err) != 3 || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("row cap: %v (exit %d), want 3 containing %q", err, failure.ExitCode(err), want)
	}
	if _, err := fetchRows(t, all, source.Options{LookupEnv: env(dsnVar, dsn), Settings: source.Settings{MaxSQLRows: 1500}}); err != nil {
		t.Fatalf("exactly the cap: %v", err)
	}
	f(sqlRecipe("SELECT user_id, item_id FROM t", nil), env(dsnVar, dsn), 3, `column "ts" not found in source; available columns: user_id, item_id`)
	f(sqlRecipe("SELECT nope FROM t", nil), env(dsnVar, dsn), 3, "sql query failed")
	f(sqlRecipe("SELECT user_id, item_id, ts FROM t WHERE 0", nil), env(dsnVar, dsn), 3, "no rows")
	f(sqlRecipe("SELECT user_id, item_id, ts FROM t WHERE u = :who", nil), env(dsnVar, dsn), 3, ":who has no value")
	f(all, env(dsnVar, "sqlite:///"+filepath.Join(t.TempDir(), "missing.db")), 3, "not found")
	f(all, env(dsnVar, "ftp://x/y"), 3, "not supported")
	// Writes fail: the file is opened read-only with query_only.
	for _, q := range []string{
		"DELETE FROM t RETURNING user_id, item_id, ts",
		"INSERT INTO t (user_id) VALUES ('x') RETURNING user_id, item_id, ts",
		"UPDATE t SET note = 'w' RETURNING user_id, item_id, ts",
	} {
		f(sqlRecipe(q, nil), env(dsnVar, dsn), 3, "readonly")
	}
	rows, err := fetchRows(t, all, source.Options{LookupEnv: env(dsnVar, dsn)})
	if err != nil || len(rows) != 1500 {
		t.Fatalf("after write attempts: %d rows, %v", len(rows), err)
	}
}

func TestSQLiteProbe(t *testing.T) {
	dsn := sqliteDB(t, 1)
	src, _ := source.New(sqlRecipe("SELECT 1", nil), source.Options{LookupEnv: env(dsnVar, dsn)})
	if err := src.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	src, _ = source.New(sqlRecipe("SELECT 1", nil), source.Options{LookupEnv: env(dsnVar, "sqlite:///nonexistent/x.db")})
	if err := src.Probe(context.Background()); failure.ExitCode(err) != 3 {
		t.Fatalf("probe of a missing file: %v", err)
	}
	// The guard does not apply to sqlite, and private hosts need no opt-in.
	src, _ = source.New(sqlRecipe("SELECT 1", nil), source.Options{LookupEnv: env(dsnVar, "postgresql://u:pw@127.0.0.1:1/db")})
	if err := src.Probe(context.Background()); failure.ExitCode(err) != 7 || !errors.Is(err, ErrRefused) {
		t.Fatalf("probe of a private host: %v, want 7", err)
	}
}

// MovieLens loaded into SQLite, read back through the dataset layer (the
// trainer's ingest): every rating arrives, with typed ids.
func TestSQLiteMovieLensIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100k rows")
	}
	root, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(root) == root {
			t.Fatal("no go.mod above the test")
		}
		root = filepath.Dir(root)
	}
	f, err := os.Open(filepath.Join(root, "../shared/data/movielens/ratings.csv"))
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data absent: %v", err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ml.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`CREATE TABLE ratings (userId INTEGER, movieId INTEGER, rating REAL, timestamp INTEGER)`)
	tx, _ := db.Begin()
	ins, _ := tx.Prepare(`INSERT INTO ratings VALUES (?, ?, ?, ?)`)
	for _, r := range recs[1:] {
		ins.Exec(r[0], r[1], r[2], r[3])
	}
	ins.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := sqlRecipe(`SELECT userId, movieId, timestamp FROM ratings WHERE rating >= :min`, map[string]any{"min": 0.0})
	ts, unit := "timestamp", "s"
	r.Schema = recipe.Schema{UserColumn: "userId", ItemColumn: "movieId", TimeColumn: &ts, TimeUnit: &unit}
	r.Cleansing = recipe.Cleansing{DropNullIDs: true, Dedup: recipe.DedupKeepLast}
	d, err := dataset.Ingest(context.Background(), r, source.Options{LookupEnv: env(dsnVar, "sqlite:///"+p)})
	if err != nil {
		t.Fatal(err)
	}
	if d.NRowsFetched != 100004 || len(d.UserIDs) != 671 || len(d.ItemIDs) != 9066 {
		t.Fatalf("ingest: %d rows, %d users, %d items; want 100004, 671, 9066", d.NRowsFetched, len(d.UserIDs), len(d.ItemIDs))
	}
}
