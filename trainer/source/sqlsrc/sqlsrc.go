package sqlsrc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/recotem/recotem/internal/envconfig"
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/logx"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
)

func init() { source.Register(recipe.TypeSQL, New) }

// RECOTEM_MAX_SQL_ROWS default (§2), used when Options.MaxSQLRows is 0, and
// the chunk size (§5.4).
const (
	DefaultMaxRows = 50_000_000
	chunkRows      = 100_000
)

// config is what a SQL source reads besides the recipe (settings builds it
// from the DSN variable and the typed source.Settings).
type config struct {
	DSN          string // the DSN URL (from the dsn_env variable)
	AllowPrivate bool   // RECOTEM_SQL_ALLOW_PRIVATE
	MaxRows      int64  // RECOTEM_MAX_SQL_ROWS; 0 → DefaultMaxRows
	Resolver     Resolver
	Logger       *slog.Logger
}

// Source is one recipe's SQL source.
type Source struct {
	rec     *recipe.SQLSource
	columns []string
	opt     source.Options
	// resolver overrides DNS (tests); nil → net.DefaultResolver.
	resolver Resolver
}

// New is the source.Factory of type sql.
func New(r *recipe.Recipe, opt source.Options) (source.Source, error) {
	if r.Source.SQL == nil {
		return nil, dsErr(nil, "recipe source is not sql")
	}
	cols := opt.Columns
	if cols == nil {
		cols = source.Columns(r)
	}
	return &Source{rec: r.Source.SQL, columns: cols, opt: opt}, nil
}

func (s *Source) log() *slog.Logger {
	if s.opt.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.opt.Logger
}

func (s *Source) lookup(name string) (string, bool) {
	if s.opt.LookupEnv == nil {
		return "", false
	}
	return s.opt.LookupEnv(name)
}

// settings reads the DSN variable and takes the typed settings.
func (s *Source) settings() (config, error) {
	raw, _ := s.lookup(s.rec.DSNEnv)
	if strings.TrimSpace(raw) == "" {
		return config{}, dsErr(ErrDSN, "sql.dsn_env %s is not set or empty", s.rec.DSNEnv)
	}
	maxRows := s.opt.MaxSQLRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	return config{
		DSN:          raw,
		AllowPrivate: s.opt.SQLAllowPrivate,
		MaxRows:      maxRows,
		Resolver:     s.resolver,
		Logger:       s.log(),
	}, nil
}

// session is an open, guarded, read-only transaction.
type session struct {
	d       *dsn
	db      *sql.DB
	tx      *sql.Tx
	mariadb bool
}

func (ss *session) close() {
	if ss.tx != nil {
		ss.tx.Rollback()
	}
	if ss.db != nil {
		ss.db.Close()
	}
}

// open parses and guards the DSN, connects within the connect timeout and
// starts the read-only transaction with the statement timeout.
func (s *Source) open(ctx context.Context, cfg config, readOnly bool) (*session, error) {
	log := cfg.Logger
	d, err := parseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	var p pins
	if d.dialect != SQLite && !cfg.AllowPrivate {
		if p, err = d.guard(ctx, cfg.Resolver); err != nil {
			return nil, err
		}
	}
	if !d.tlsConfigured() {
		log.Warn("sql_dsn_tls_not_configured", "dialect", d.dialect,
			"advice", map[string]string{Postgres: "add ?sslmode=verify-full (or require)", MySQL: "add ?ssl_ca=/path/to/ca.pem"}[d.dialect])
	}
	connectTimeout := time.Duration(max(s.rec.ConnectTimeoutSeconds, 1)) * time.Second
	if p != nil {
		// Re-resolve right before connecting; dial only the overlap.
		if p, err = p.repin(ctx, cfg.Resolver); err != nil {
			return nil, err
		}
	}
	ss := &session{d: d}
	switch d.dialect {
	case Postgres:
		ss.db, err = openPostgres(d, p, connectTimeout)
	case MySQL:
		ss.db, err = openMySQL(d, p, connectTimeout)
	case SQLite:
		ss.db, err = sql.Open("sqlite", "file:"+d.path+"?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	}
	if err != nil {
		return nil, driverErr(d, "connect", err)
	}
	ss.db.SetMaxOpenConns(1)
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	err = ss.db.PingContext(cctx)
	cancel()
	if err != nil {
		ss.close()
		if d.dialect == SQLite {
			if _, serr := os.Stat(d.path); serr != nil {
				return nil, dsErr(nil, "sqlite database file not found or not readable")
			}
		}
		return nil, driverErr(d, "connect", err)
	}
	if !readOnly {
		return ss, nil
	}
	stmtMS := int64(s.rec.StatementTimeoutSeconds) * 1000
	if stmtMS <= 0 {
		stmtMS = 300_000
	}
	switch d.dialect {
	case Postgres:
		// Session default too, so nothing after an early COMMIT can write.
		if _, err = ss.db.ExecContext(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"); err == nil {
			ss.tx, err = ss.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		}
		if err == nil {
			_, err = ss.tx.ExecContext(ctx, "SET LOCAL statement_timeout = "+strconv.FormatInt(stmtMS, 10))
		}
	case MySQL:
		var version string
		if err = ss.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err == nil {
			ss.mariadb = strings.Contains(strings.ToLower(version), "mariadb")
			if ss.mariadb {
				_, err = ss.db.ExecContext(ctx, fmt.Sprintf("SET SESSION max_statement_time = %g", float64(stmtMS)/1000))
			} else {
				_, err = ss.db.ExecContext(ctx, "SET SESSION max_execution_time = "+strconv.FormatInt(stmtMS, 10))
			}
		}
		// Session default too: DDL commits the transaction implicitly and
		// would otherwise run outside it.
		if err == nil {
			_, err = ss.db.ExecContext(ctx, "SET SESSION TRANSACTION READ ONLY")
		}
		if err == nil {
			ss.tx, err = ss.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		}
	case SQLite:
		log.Warn("sql_statement_timeout_unsupported_on_sqlite", "statement_timeout_seconds", s.rec.StatementTimeoutSeconds)
		ss.tx, err = ss.db.BeginTx(ctx, nil)
	}
	if err != nil {
		ss.close()
		return nil, driverErr(d, "set read-only session and statement timeout", err)
	}
	return ss, nil
}

func openPostgres(d *dsn, p pins, timeout time.Duration) (*sql.DB, error) {
	// pgx parses multi-host URLs itself; only the scheme needs normalising.
	_, rest, _ := strings.Cut(d.raw, "://")
	cfg, err := pgx.ParseConfig("postgresql://" + rest)
	if err != nil {
		return nil, errors.New("invalid postgresql dsn")
	}
	cfg.ConnectTimeout = timeout
	if p != nil {
		cfg.LookupFunc = p.lookup
	}
	cfg.RuntimeParams["application_name"] = "recotem"
	return stdlib.OpenDB(*cfg), nil
}

func openMySQL(d *dsn, p pins, timeout time.Duration) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = d.u.User.Username()
	cfg.Passwd, _ = d.u.User.Password()
	cfg.DBName = strings.TrimPrefix(d.u.Path, "/")
	q := d.u.Query()
	host, port := "", "3306"
	if len(d.hosts) > 0 {
		last := d.hosts[len(d.hosts)-1] // a host parameter overrides the URL host
		host, port = last.host, last.port
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	if sock := q.Get("unix_socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	}
	cfg.Timeout = timeout
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cs := q.Get("charset"); cs != "" {
		cfg.Apply(mysql.Charset(cs, ""))
	}
	if p != nil && cfg.Net == "tcp" {
		cfg.DialFunc = p.dial
	}
	tc, err := mysqlTLS(q, host)
	if err != nil {
		return nil, err
	}
	cfg.TLS = tc
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, errors.New("invalid mysql dsn")
	}
	return sql.OpenDB(conn), nil
}

// mysqlTLS maps the PyMySQL-style ssl_* parameters to a tls.Config:
// ssl_ca (CA file), ssl_cert + ssl_key (client pair), ssl_verify_cert and
// ssl_check_hostname (false relaxes), ssl_disabled (true: plain), and
// ssl / ssl_mode (any other value: TLS with verification unless
// ssl_mode=REQUIRED, which encrypts without verifying, as MySQL defines).
func mysqlTLS(q url.Values, host string) (*tls.Config, error) {
	hasSSL := false
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "ssl") {
			hasSSL = true
		}
	}
	if !hasSSL || envconfig.Truthy(q.Get("ssl_disabled")) {
		return nil, nil
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if ca := q.Get("ssl_ca"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, errors.New("mysql ssl_ca file is not readable")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("mysql ssl_ca holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if c, k := q.Get("ssl_cert"), q.Get("ssl_key"); c != "" || k != "" {
		pair, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			return nil, errors.New("mysql ssl_cert/ssl_key are not a readable key pair")
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	off := func(k string) bool {
		v := strings.ToLower(strings.TrimSpace(q.Get(k)))
		return v == "0" || v == "false" || v == "no" || v == "off" || v == "none" || v == "cert_none"
	}
	if off("ssl_verify_cert") || off("ssl_check_hostname") || strings.EqualFold(q.Get("ssl_mode"), "required") || strings.EqualFold(q.Get("ssl-mode"), "required") {
		tc.InsecureSkipVerify = true
	}
	return tc, nil
}

// driverErr names the driver's error class (and SQLSTATE or number) and a
// scrubbed message; it never holds the DSN or the password.
func driverErr(d *dsn, stage string, err error) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return dsErr(nil, "sql %s: timed out", stage)
	}
	class := reflect.TypeOf(err).String()
	msg := err.Error()
	var pe *pgconn.PgError
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &pe):
		class, msg = "PgError "+pe.Code, pe.Message
	case errors.As(err, &me):
		class, msg = "MySQLError "+strconv.Itoa(int(me.Number)), me.Message
	}
	return dsErr(nil, "sql %s failed: %s: %s", stage, class, scrub(d, msg))
}

func scrub(d *dsn, msg string) string {
	if d.raw != "" {
		msg = strings.ReplaceAll(msg, d.raw, "<dsn>")
	}
	if d.secret != "" {
		msg = strings.ReplaceAll(msg, d.secret, "***")
	}
	return logx.RedactString(msg)
}

// Probe is validate's check: the DSN, the guards, a connection and SELECT 1.
func (s *Source) Probe(ctx context.Context) error {
	cfg, err := s.settings()
	if err != nil {
		return err
	}
	ss, err := s.open(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer ss.close()
	var one int
	if err := ss.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		if err == nil {
			err = errors.New("SELECT 1 returned no 1")
		}
		return driverErr(ss.d, "probe", err)
	}
	return nil
}

// Fetch runs the query and streams its rows.
func (s *Source) Fetch(ctx context.Context, sink source.Sink) error {
	start := time.Now()
	cfg, err := s.settings()
	if err != nil {
		return err
	}
	if err := checkParams(s.rec.QueryParameters); err != nil {
		return err
	}
	d, err := parseDSN(cfg.DSN)
	if err != nil {
		return err
	}
	query, args, err := bindNamed(s.rec.Query, s.rec.QueryParameters, d.dialect)
	if err != nil {
		return err
	}
	ss, err := s.open(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer ss.close()
	rows, err := ss.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return driverErr(ss.d, "query", err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return driverErr(ss.d, "query", err)
	}
	types, _ := rows.ColumnTypes()
	idx, err := source.ColumnIndex(s.columns, names)
	if err != nil {
		return err
	}
	conv := make([]func(any, *source.Value), len(idx))
	for i, j := range idx {
		dbType := ""
		if j < len(types) && types[j] != nil {
			dbType = types[j].DatabaseTypeName()
		}
		conv[i] = converter(dbType)
	}
	cells := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	vals := make([]source.Value, len(idx))
	chunk := min(int64(chunkRows), cfg.MaxRows)
	var n, chunks int64
	for rows.Next() {
		n++
		if n > cfg.MaxRows {
			return dsErr(ErrRowCap, "query result exceeds RECOTEM_MAX_SQL_ROWS=%d rows", cfg.MaxRows)
		}
		if (n-1)%chunk == 0 {
			chunks++
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return driverErr(ss.d, "read row", err)
		}
		for i, j := range idx {
			conv[i](cells[j], &vals[i])
		}
		if err := sink.Row(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return driverErr(ss.d, "read rows", err)
	}
	if n == 0 {
		return dsErr(nil, "sql query returned no rows")
	}
	cfg.Logger.Info("sql_fetch_complete", "dialect", d.dialect, "n_rows", n, "n_chunks", chunks, "seconds", time.Since(start).Seconds())
	return nil
}

// converter turns a scanned cell into a Value. Text-protocol drivers hand
// numbers as bytes: the column's database type decides how to read them.
func converter(dbType string) func(any, *source.Value) {
	t := strings.ToUpper(dbType)
	isInt := strings.Contains(t, "INT") || t == "SERIAL" || t == "BIGSERIAL" || t == "YEAR"
	isFloat := t == "FLOAT" || t == "DOUBLE" || t == "REAL" || t == "FLOAT4" || t == "FLOAT8" || t == "DOUBLE PRECISION"
	text := func(b []byte, v *source.Value) {
		switch {
		case isInt:
			if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
				*v = source.Value{Kind: source.Int, Int: i}
				return
			}
		case isFloat:
			if f, err := strconv.ParseFloat(string(b), 64); err == nil {
				*v = source.Value{Kind: source.Float, Float: f}
				return
			}
		}
		*v = source.Value{Kind: source.String, Str: b}
	}
	return func(c any, v *source.Value) {
		switch x := c.(type) {
		case nil:
			*v = source.Value{Kind: source.Null}
		case int64:
			*v = source.Value{Kind: source.Int, Int: x}
		case int32:
			*v = source.Value{Kind: source.Int, Int: int64(x)}
		case int:
			*v = source.Value{Kind: source.Int, Int: int64(x)}
		case uint64:
			*v = source.Value{Kind: source.Int, Int: int64(x)}
		case float64:
			*v = source.Value{Kind: source.Float, Float: x}
		case float32:
			*v = source.Value{Kind: source.Float, Float: float64(x)}
		case bool:
			*v = source.Value{Kind: source.Bool}
			if x {
				v.Int = 1
			}
		case time.Time:
			*v = source.Value{Kind: source.Time, Int: x.UTC().UnixNano()}
		case []byte:
			text(x, v)
		case string:
			// A read-only view, valid until the next Scan (the Value contract).
			text(unsafe.Slice(unsafe.StringData(x), len(x)), v)
		default:
			*v = source.Value{Kind: source.String, Str: fmt.Append(nil, x)}
		}
	}
}
