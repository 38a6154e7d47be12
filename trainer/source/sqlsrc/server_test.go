package sqlsrc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/source"
)

// server is a real database reached through the .ci/services scripts'
// variables, with a private table of 1,500 rows.
type server struct {
	dialect string
	dsn     string // URL with credentials, as a recipe's dsn_env holds it
	host    string
	pw      string
	table   string
	db      *sql.DB
}

// connectServer opens the dialect's test server and names a fresh table
// (dropped at cleanup); it skips loudly when the server is not configured.
func connectServer(tb testing.TB, dialect string) *server {
	tb.Helper()
	prefix := map[string]string{Postgres: "RECOTEM_TEST_POSTGRES", MySQL: "RECOTEM_TEST_MYSQL"}[dialect]
	raw := testenv.Getenv(tb, map[string]testenv.Need{Postgres: testenv.Postgres, MySQL: testenv.MySQL}[dialect], prefix+"_URL")
	user, pw := os.Getenv(prefix+"_USER"), os.Getenv(prefix+"_PASSWORD")
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	u.User = url.UserPassword(user, pw)
	s := &server{dialect: dialect, dsn: u.String(), host: u.Hostname(), pw: pw, table: fmt.Sprintf("recotem_sqlsrc_%d", time.Now().UnixNano()%1e9)}
	if dialect == Postgres {
		s.db, err = sql.Open("pgx", u.String())
	} else {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, pw, "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		cfg.ParseTime = true
		if c, cerr := mysql.NewConnector(cfg); cerr == nil {
			s.db = sql.OpenDB(c)
		} else {
			err = cerr
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.db.Exec("DROP TABLE IF EXISTS " + s.table); s.db.Close() })
	return s
}

func realServer(t *testing.T, dialect string) *server {
	t.Helper()
	s := connectServer(t, dialect)
	if _, err := s.db.Exec("CREATE TABLE " + s.table + " (user_id VARCHAR(32), item_id BIGINT, ts TIMESTAMP, score DOUBLE PRECISION)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	var vals []string
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < 1500; i++ {
		vals = append(vals, fmt.Sprintf("('u%d', %d, '%s', %g)", i%11, 100+i, t0.Add(time.Duration(i)*time.Second).Format("2006-01-02 15:04:05"), float64(i)/4))
	}
	if _, err := s.db.Exec("INSERT INTO " + s.table + " VALUES " + strings.Join(vals, ",")); err != nil {
		t.Fatalf("insert: %v", err)
	}
	return s
}

func (s *server) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM " + s.table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRealServers(t *testing.T) {
	for _, dialect := range []string{Postgres, MySQL} {
		t.Run(dialect, func(t *testing.T) {
			s := realServer(t, dialect)
			allow := env(dsnVar, s.dsn)
			private := source.Settings{SQLAllowPrivate: true} // RECOTEM_SQL_ALLOW_PRIVATE=1
			t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()

			// Rows via dsn_env, with a named parameter and typed values.
			log, lb := newLog()
			r := sqlRecipe("SELECT user_id, item_id, ts FROM "+s.table+" WHERE item_id < :lim AND user_id <> :skip ORDER BY item_id", map[string]any{"lim": 104, "skip": "u1"})
			rows, err := fetchRows(t, r, source.Options{Logger: log, LookupEnv: allow, Settings: private})
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("S:u0 I:100 T:%d|S:u2 I:102 T:%d|S:u3 I:103 T:%d", t0, t0+2e9, t0+3e9)
			if got := strings.Join(rows, "|"); got != want {
				t.Fatalf("rows\n got %s\nwant %s", got, want)
			}
			if ev := lb.Events(t, "sql_fetch_complete"); len(ev) != 1 || ev[0]["n_rows"] != float64(3) {
				t.Fatalf("sql_fetch_complete: %v", ev)
			}
			if len(lb.Events(t, "sql_dsn_tls_not_configured")) != 1 {
				t.Fatal("no sql_dsn_tls_not_configured warning for a DSN without TLS settings")
			}
			if strings.Contains(lb.String(), s.pw) {
				t.Fatal("the log holds the DSN password")
			}
			all := sqlRecipe("SELECT user_id, item_id, ts, score FROM "+s.table, nil)
			if rows, err := fetchRows(t, all, source.Options{LookupEnv: allow, Settings: private}); err != nil || len(rows) != 1500 {
				t.Fatalf("all rows: %d, %v", len(rows), err)
			}

			// 127.0.0.1 is refused without the opt-in (exit 7), fetch and probe.
			_, err = fetchRows(t, all, source.Options{LookupEnv: env(dsnVar, s.dsn)})
			if failure.ExitCode(err) != 7 || !errors.Is(err, ErrRefused) {
				t.Fatalf("private host without opt-in: %v (exit %d), want 7", err, failure.ExitCode(err))
			}
			src, _ := source.New(all, source.Options{LookupEnv: env(dsnVar, s.dsn)})
			if err := src.Probe(context.Background()); failure.ExitCode(err) != 7 {
				t.Fatalf("probe without opt-in: %v", err)
			}
			src, _ = source.New(all, source.Options{LookupEnv: allow, Settings: private})
			if err := src.Probe(context.Background()); err != nil {
				t.Fatalf("probe with opt-in: %v", err)
			}

			// Row cap.
			_, err = fetchRows(t, all, source.Options{LookupEnv: allow, Settings: source.Settings{SQLAllowPrivate: true, MaxSQLRows: 1000}})
			if failure.ExitCode(err) != 3 || err.Error() != "query result exceeds RECOTEM_MAX_SQL_ROWS=1000 rows" {
				t.Fatalf("row cap: %v", err)
			}

			// Writes fail in the read-only session, DDL included.
			writes := []string{
				"DELETE FROM " + s.table + " WHERE item_id < 110",
				"UPDATE " + s.table + " SET user_id = 'w'",
				"INSERT INTO " + s.table + " (user_id) VALUES ('w')",
				"DROP TABLE " + s.table,
				"CREATE TABLE " + s.table + "_w (x INT)",
			}
			if dialect == Postgres {
				writes = append(writes, "DELETE FROM "+s.table+" RETURNING user_id, item_id, ts")
			}
			for _, q := range writes {
				_, err := fetchRows(t, sqlRecipe(q, nil), source.Options{LookupEnv: allow, Settings: private})
				t.Logf("write %q: %v", q, err)
				low := strings.ToLower(err.Error())
				if failure.ExitCode(err) != 3 || !strings.Contains(strings.ReplaceAll(low, "-", " "), "read only") {
					t.Fatalf("write %q: %v, want exit 3 from the read-only session", q, err)
				}
			}
			if n := s.count(t); n != 1500 {
				t.Fatalf("rows after write attempts: %d", n)
			}
			var created int
			s.db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '" + s.table + "_w'").Scan(&created)
			if created != 0 {
				s.db.Exec("DROP TABLE " + s.table + "_w")
				t.Fatal("DDL ran despite the read-only session")
			}

			// Statement timeout.
			sleep := map[string]string{Postgres: "SELECT pg_sleep(3)::text AS user_id, 1 AS item_id, 1 AS ts", MySQL: "SELECT SLEEP(3) AS user_id, 1 AS item_id, 1 AS ts"}[dialect]
			slow := sqlRecipe(sleep, nil)
			slow.Source.SQL.StatementTimeoutSeconds = 1
			start := time.Now()
			_, err = fetchRows(t, slow, source.Options{LookupEnv: allow, Settings: private})
			t.Logf("statement timeout: %v", err)
			if failure.ExitCode(err) != 3 || time.Since(start) > 2500*time.Millisecond {
				t.Fatalf("statement timeout: %v after %v, want 3 within ~1 s", err, time.Since(start))
			}

			// Bad password: 3, and neither password nor DSN in the message.
			bad, _ := url.Parse(s.dsn)
			bad.User = url.UserPassword(bad.User.Username(), "wrong-"+s.pw)
			_, err = fetchRows(t, all, source.Options{LookupEnv: env(dsnVar, bad.String()), Settings: private})
			if failure.ExitCode(err) != 3 || strings.Contains(err.Error(), s.pw) || strings.Contains(err.Error(), s.dsn) {
				t.Fatalf("bad password: %v", err)
			}

			// The guarded path: a name resolved (by a fake resolver) to the
			// server, with the address test widened to let loopback pass,
			// connects through the pinned addresses.
			orig := internal
			internal = func(a netip.Addr) bool { return !a.IsLoopback() && orig(a) }
			defer func() { internal = orig }()
			pinned, _ := url.Parse(s.dsn)
			pinned.Host = strings.Replace(pinned.Host, s.host, "db.recotem.test", 1)
			src, _ = source.New(all, source.Options{LookupEnv: env(dsnVar, pinned.String())})
			src.(*Source).resolver = &fakeResolver{first: map[string][]string{"db.recotem.test": {s.host}}}
			n := 0
			if err := src.Fetch(context.Background(), source.SinkFunc(func([]source.Value) error { n++; return nil })); err != nil || n != 1500 {
				t.Fatalf("pinned connection: %d rows, %v", n, err)
			}
		})
	}
}
