package sqlsrc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
	"github.com/recotem/recotem/trainer/source/internal/logtest"
)

func newLog() (*slog.Logger, *logtest.LogBuf) { return logtest.New() }

var env = logtest.Env

const dsnVar = "RECOTEM_RECIPE_DSN"

func sqlRecipe(query string, params map[string]any) *recipe.Recipe {
	ts := "ts"
	if params == nil {
		params = map[string]any{}
	}
	return &recipe.Recipe{
		Name: "t",
		Source: recipe.Source{Type: recipe.TypeSQL, SQL: &recipe.SQLSource{
			Type: "sql", DSNEnv: dsnVar, Query: query, QueryParameters: params,
			ConnectTimeoutSeconds: 10, StatementTimeoutSeconds: 300,
		}},
		Schema: recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id", TimeColumn: &ts},
	}
}

var render = logtest.Render

func fetchRows(t *testing.T, r *recipe.Recipe, opt source.Options) ([]string, error) {
	t.Helper()
	src, err := source.New(r, opt)
	if err != nil {
		return nil, err
	}
	var rows []string
	err = src.Fetch(context.Background(), source.SinkFunc(func(v []source.Value) error {
		rows = append(rows, render(v))
		return nil
	}))
	return rows, err
}

// fakeResolver answers from a table; after flips calls per host it answers
// from the second table (DNS rebinding).
type fakeResolver struct {
	mu     sync.Mutex
	first  map[string][]string
	second map[string][]string
	calls  map[string]int
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[host]++
	tab := f.first
	if f.calls[host] > 1 && f.second != nil {
		tab = f.second
	}
	ips, ok := tab[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ips {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestParseDSN(t *testing.T) {
	f := func(raw, dialect string, hosts []string, path string) {
		t.Helper()
		d, err := parseDSN(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		var hs []string
		for _, h := range d.hosts {
			hs = append(hs, h.host+":"+h.port)
		}
		if d.dialect != dialect || strings.Join(hs, ",") != strings.Join(hosts, ",") || d.path != path {
			t.Fatalf("%s: %s %v %q, want %s %v %q", raw, d.dialect, hs, d.path, dialect, hosts, path)
		}
	}
	f("postgresql://u:p@db.example.com/app", Postgres, []string{"db.example.com:5432"}, "")
	f("postgres://db.example.com:6543/app?sslmode=require", Postgres, []string{"db.example.com:6543"}, "")
	f("postgresql+psycopg://u:p%40ss@10.0.0.5/app", Postgres, []string{"10.0.0.5:5432"}, "")
	f("postgresql+psycopg2://u@h1:5432,h2:5433/app", Postgres, []string{"h1:5432", "h2:5433"}, "")
	f("postgresql://u@h1/app?host=h2,h3&hostaddr=192.0.2.1&port=7000", Postgres, []string{"h1:5432", "h2:7000", "h3:7000", "192.0.2.1:7000"}, "")
	f("postgresql://u@[2001:db8::1]:5433/app", Postgres, []string{"2001:db8::1:5433"}, "")
	f("mysql://u:p@db.example.com/app", MySQL, []string{"db.example.com:3306"}, "")
	f("mysql+pymysql://u:p@db.example.com:3307/app?charset=utf8mb4", MySQL, []string{"db.example.com:3307"}, "")
	f("mariadb://u:p@db/app?host=other", MySQL, []string{"db:3306", "other:3306"}, "")
	f("postgresql:///app", Postgres, nil, "")
	f("sqlite:///abs/path.db", SQLite, nil, "/abs/path.db")
	f("sqlite:////abs/path.db", SQLite, nil, "/abs/path.db")
	f("sqlite+pysqlite:///a%20b/c.db", SQLite, nil, "/a b/c.db")

	bad := func(raw, want string) {
		t.Helper()
		_, err := parseDSN(raw)
		if failure.ExitCode(err) != 3 || !errors.Is(err, ErrDSN) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want exit 3 containing %q", raw, err, want)
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Fatalf("%s: error leaks the password: %v", raw, err)
		}
	}
	bad("oracle://u:secretpw@h/db", `dialect "oracle" is not supported`)
	bad("mssql+pyodbc://u:secretpw@h/db", "not supported")
	bad("u:secretpw@h/db", "not a URL")
	bad("sqlite://relative.db", "sqlite:///absolute/path")
	bad("sqlite:///", "names no file")
}

func TestGuard(t *testing.T) {
	res := &fakeResolver{first: map[string][]string{
		"public.example":  {"93.184.216.34"},
		"mixed.example":   {"93.184.216.34", "10.1.2.3"},
		"private.example": {"192.168.0.10"},
		"empty.example":   {},
	}}
	f := func(raw string, wantExit int, want string) {
		t.Helper()
		d, err := parseDSN(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.guard(context.Background(), res)
		if got := failure.ExitCode(err); got != wantExit || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Fatalf("%s: %v (exit %d), want exit %d containing %q", raw, err, got, wantExit, want)
		}
		if wantExit == 7 && !errors.Is(err, ErrRefused) {
			t.Fatalf("%s: %v is not ErrRefused", raw, err)
		}
	}
	f("postgresql://u:p@public.example/db", 0, "")
	f("mysql://u:p@public.example/db", 0, "")
	f("postgresql://u:p@127.0.0.1/db", 7, "internal address 127.0.0.1")
	f("postgresql://u:p@localhost6/db", 7, "resolve")
	f("postgresql://u:p@[::1]/db", 7, "internal")
	f("postgresql://u:p@[::ffff:10.0.0.1]/db", 7, "internal")
	f("postgresql://u:p@169.254.169.254/db", 7, "internal")
	f("postgresql://u:p@100.64.0.1/db", 7, "internal")
	f("mysql://u:p@mixed.example/db", 7, "internal address 10.1.2.3")
	f("mysql://u:p@private.example/db", 7, "internal address 192.168.0.10")
	f("mysql://u:p@empty.example/db", 7, "no address")
	f("postgresql://u:p@public.example/db?service=prod", 7, "?service=")
	f("mysql://u:p@public.example/db?unix_socket=/run/mysqld.sock", 7, "?unix_socket=")
	f("postgresql://u:p@public.example/db?host=/var/run/postgresql", 7, "socket path")
	f("postgresql:///db", 7, "no host")
	f("postgresql://u:p@public.example/db?hostaddr=10.0.0.1", 7, "internal address 10.0.0.1")
	f("postgresql://u:p@public.example,127.0.0.2:5433/db", 7, "internal address 127.0.0.2")
	f("mysql://u:p@public.example/db?host=private.example", 7, "192.168.0.10")
}

func TestRepin(t *testing.T) {
	res := &fakeResolver{
		first:  map[string][]string{"a.example": {"93.184.216.34", "93.184.216.35"}, "b.example": {"8.8.8.8"}},
		second: map[string][]string{"a.example": {"93.184.216.35", "1.1.1.1"}, "b.example": {"8.8.4.4"}},
	}
	d, _ := parseDSN("postgresql://u:p@a.example/db")
	p, err := d.guard(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	p, err = p.repin(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.lookup(context.Background(), "a.example"); strings.Join(got, ",") != "93.184.216.35" {
		t.Fatalf("overlap %v, want only the address seen both times", got)
	}
	if _, err := p.lookup(context.Background(), "unchecked.example"); err == nil {
		t.Fatal("an unchecked host must not resolve through the pins")
	}
	d, _ = parseDSN("postgresql://u:p@b.example/db")
	p, _ = d.guard(context.Background(), res)
	if _, err := p.repin(context.Background(), res); failure.ExitCode(err) != 3 || !errors.Is(err, ErrRebound) {
		t.Fatalf("rebound host: %v, want exit 3 ErrRebound", err)
	}
}

// Through Fetch: a host that re-resolves elsewhere fails with 3 before any
// connection (the fake addresses are never dialled).
func TestRebindingThroughFetch(t *testing.T) {
	res := &fakeResolver{
		first:  map[string][]string{"db.example": {"93.184.216.34"}},
		second: map[string][]string{"db.example": {"93.184.216.99"}},
	}
	src, err := source.New(sqlRecipe("SELECT 1", nil), source.Options{LookupEnv: env(dsnVar, "postgresql://u:pw@db.example/db?sslmode=verify-full")})
	if err != nil {
		t.Fatal(err)
	}
	src.(*Source).resolver = res
	err = src.Fetch(context.Background(), source.SinkFunc(func([]source.Value) error { return nil }))
	if failure.ExitCode(err) != 3 || !errors.Is(err, ErrRebound) {
		t.Fatalf("rebinding: %v, want 3", err)
	}
}

func TestPinnedDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p := pins{"db.recotem.test": {netip.MustParseAddr("127.0.0.1")}}
	c, err := p.dial(context.Background(), "tcp", net.JoinHostPort("db.recotem.test", port))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		t.Fatalf("pinned dial read %q %v", buf, err)
	}
	c.Close()
	if _, err := p.dial(context.Background(), "tcp", "other.test:"+port); err == nil {
		t.Fatal("dial of an unchecked host must fail")
	}
}

func TestTLSWarning(t *testing.T) {
	f := func(raw string, want bool) {
		t.Helper()
		d, err := parseDSN(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := !d.tlsConfigured(); got != want {
			t.Fatalf("%s: warn %v, want %v", raw, got, want)
		}
	}
	f("postgresql://h/db", true)
	f("postgresql://h/db?sslmode=disable", true)
	f("postgresql://h/db?sslmode=allow", true)
	f("postgresql://h/db?sslmode=prefer", true)
	f("postgresql://h/db?sslmode=require", false)
	f("postgresql://h/db?sslmode=verify-full", false)
	f("mysql://h/db", true)
	f("mysql://h/db?charset=utf8mb4", true)
	f("mysql://h/db?ssl_ca=/ca.pem", false)
	f("mysql://h/db?ssl=true", false)
	f("sqlite:///x.db", false)
}

func TestUnsetDSN(t *testing.T) {
	for _, lookup := range []func(string) (string, bool){nil, env(), env(dsnVar, ""), env(dsnVar, "  ")} {
		_, err := fetchRows(t, sqlRecipe("SELECT 1", nil), source.Options{LookupEnv: lookup})
		if failure.ExitCode(err) != 3 || !errors.Is(err, ErrDSN) || !strings.Contains(err.Error(), dsnVar) {
			t.Fatalf("unset DSN: %v, want 3 naming %s", err, dsnVar)
		}
		src, _ := source.New(sqlRecipe("SELECT 1", nil), source.Options{LookupEnv: lookup})
		if err := src.Probe(context.Background()); failure.ExitCode(err) != 3 {
			t.Fatalf("probe with unset DSN: %v", err)
		}
	}
}

// TestMaxRowsSetting: the typed setting reaches the source; its default,
// clamps and env_var_* events are internal/envconfig's (TestSourceSettings).
func TestMaxRowsSetting(t *testing.T) {
	f := func(set, want int64) {
		t.Helper()
		s := &Source{rec: sqlRecipe("x", nil).Source.SQL, opt: source.Options{LookupEnv: env(dsnVar, "sqlite:///x"), Settings: source.Settings{MaxSQLRows: set, SQLAllowPrivate: true}}}
		cfg, err := s.settings()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MaxRows != want || !cfg.AllowPrivate {
			t.Fatalf("%d: %d (allow private %v), want %d", set, cfg.MaxRows, cfg.AllowPrivate, want)
		}
	}
	f(0, 50_000_000)
	f(2000, 2000)
	f(1000, 1000)
}

// sqliteDB creates a database file with table t and returns its DSN.
func sqliteDB(t *testing.T, rows int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "events.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{
		`CREATE TABLE t (user_id TEXT, item_id INTEGER, ts TIMESTAMP, score REAL, note TEXT)`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	tx, _ := db.Begin()
	ins, _ := tx.Prepare(`INSERT INTO t VALUES (?, ?, ?, ?, ?)`)
	for i := 0; i < rows; i++ {
		var note any
		if i%2 == 0 {
			note = "n"
		}
		if _, err := ins.Exec(fmt.Sprintf("u%d", i%7), 100+i, 1700000000+i, float64(i)/2, note); err != nil {
			t.Fatal(err)
		}
	}
	ins.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return "sqlite:///" + p
}

// A server that accepts and never answers: the connect timeout ends the
// attempt (exit 3). Loopback only, with the opt-in.
func TestConnectTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a one-second connect timeout")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	for _, scheme := range []string{"postgresql", "mysql"} {
		r := sqlRecipe("SELECT 1", nil)
		r.Source.SQL.ConnectTimeoutSeconds = 1
		start := time.Now()
		_, err := fetchRows(t, r, source.Options{LookupEnv: env(dsnVar, scheme+"://u:pw@"+ln.Addr().String()+"/db"), Settings: source.Settings{SQLAllowPrivate: true}})
		if failure.ExitCode(err) != 3 || time.Since(start) > 5*time.Second {
			t.Fatalf("%s: %v after %v, want exit 3 after about 1 s", scheme, err, time.Since(start))
		}
		t.Logf("%s: %v after %v", scheme, err, time.Since(start).Round(time.Millisecond))
	}
}

// FuzzParseDSN: parsing never panics, and no error message quotes the
// password of the URL it rejects.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"postgresql://u:Secret99@h/db", "mysql://u:Secret99@h:1/db?host=x", "sqlite:///a", "oracle://u:Secret99@h/", "postgresql://u:Secret99@[::1,h2/db", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 2048 {
			return
		}
		d, err := parseDSN(raw)
		if err != nil {
			if strings.Contains(raw, "Secret99") && strings.Contains(err.Error(), "Secret99") {
				t.Fatalf("%q: error leaks the password: %v", raw, err)
			}
			return
		}
		if d.dialect != SQLite {
			d.tlsConfigured()
		}
	})
}
