// Package sqlstore holds the trials of hyperparameter studies in SQLite,
// PostgreSQL or MySQL/MariaDB behind search.Store, so several processes and
// hosts can share one study (recotem-behavior.md §5.3; the budget rules are
// in package search), and Open turns training.storage_path into the store
// it names (blank: search's in-memory store).
//
// Credentials never travel in storage_path: a URL that embeds a user or
// password is refused with an error that never echoes it, and the database
// login comes from the environment (Options.Lookup).
package sqlstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/trainer/search"
)

// Sentinels.
var (
	// ErrBadStorage: storage_path is malformed or unsupported.
	ErrBadStorage = errors.New("unsupported storage_path")
	// ErrCredentialsInURL: storage_path embeds a user or password.
	ErrCredentialsInURL = errors.New("storage_path must not embed credentials")
)

// Options configures Open. Zero values are the defaults.
type Options struct {
	// Lookup reads the environment for ambient database credentials
	// (MySQL: MYSQL_USER, MYSQL_PWD; PostgreSQL: the driver's own PG*
	// variables and ~/.pgpass). nil: no lookup (train passes its
	// Options.LookupEnv, envconfig.Config.External).
	Lookup func(key string) (string, bool)
	// Grace is how long a RUNNING trial may go without a heartbeat before
	// another process takes its slot. 0 → 60 s. Heartbeats run every Grace/4.
	Grace time.Duration
}

var dbURL = regexp.MustCompile(`(?i)^(postgresql|postgres|mysql|sqlite)\b`)

// Open opens the trial store named by training.storage_path
// (recotem-behavior.md §5.3): "" → search.NewMemoryStore(); a value
// starting with postgresql/postgres/mysql/sqlite at a word boundary → that
// database URL (credentials inside it are refused with a Training
// "search_error" that never echoes the URL); anything else → a SQLite file
// at that path.
func Open(storagePath string, opt Options) (search.Store, error) {
	if strings.TrimSpace(storagePath) == "" {
		return search.NewMemoryStore(), nil
	}
	if opt.Grace <= 0 {
		opt.Grace = 60 * time.Second
	}
	m := dbURL.FindStringSubmatch(storagePath)
	if m == nil {
		return openSQL(dialectSQLite, sqliteDSN(storagePath), opt)
	}
	scheme := strings.ToLower(m[1])
	rest, ok := strings.CutPrefix(storagePath[len(m[1]):], "://")
	if !ok {
		// "mysql+pymysql://…", "postgresql+psycopg2://…": drop the driver.
		if i := strings.Index(storagePath, "://"); i > 0 && storagePath[len(m[1])] == '+' {
			rest = storagePath[i+3:]
		} else {
			return nil, searchErr(fmt.Errorf("%w: %s storage needs a %s:// URL", ErrBadStorage, scheme, scheme))
		}
	}
	if scheme == "sqlite" {
		// sqlite:///relative.db, sqlite:////abs/path.db (SQLAlchemy form).
		p := strings.TrimPrefix(rest, "/")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p == "" {
			return nil, searchErr(fmt.Errorf("%w: sqlite URL without a path", ErrBadStorage))
		}
		return openSQL(dialectSQLite, sqliteDSN(p), opt)
	}
	authority := rest
	if i := strings.IndexAny(authority, "/?"); i >= 0 {
		authority = authority[:i]
	}
	if strings.Contains(authority, "@") {
		return nil, searchErr(fmt.Errorf("%w; supply them through the environment", ErrCredentialsInURL))
	}
	switch scheme {
	case "postgres", "postgresql":
		return openSQL(dialectPostgres, "postgres://"+rest, opt)
	default:
		dsn, err := mysqlDSN(rest, opt.Lookup)
		if err != nil {
			return nil, searchErr(err)
		}
		return openSQL(dialectMySQL, dsn, opt)
	}
}

// sqliteDSN is the DSN of the SQLite file at path: a 20 s busy timeout,
// WAL journal, and immediate transactions (Claim's write lock).
func sqliteDSN(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// mysqlDSN is the go-sql-driver DSN of a mysql URL after its "mysql://",
// with the login read through lookup.
func mysqlDSN(rest string, lookup func(string) (string, bool)) (string, error) {
	u, err := url.Parse("mysql://" + rest)
	if err != nil {
		return "", fmt.Errorf("%w: malformed mysql URL", ErrBadStorage)
	}
	cfg := mysql.NewConfig()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return "", fmt.Errorf("%w: mysql URL names no database", ErrBadStorage)
	}
	if sock := u.Query().Get("socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	} else {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	if lookup != nil {
		if v, ok := lookup("MYSQL_USER"); ok {
			cfg.User = v
		}
		if v, ok := lookup("MYSQL_PWD"); ok {
			cfg.Passwd = v
		}
	}
	return cfg.FormatDSN(), nil
}

// searchErr classifies err as a Training "search_error" (what Run reports
// for a store that cannot be opened).
func searchErr(err error) error {
	return failure.Wrap(failure.Training, "search_error", err)
}
