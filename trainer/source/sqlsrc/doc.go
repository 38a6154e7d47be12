// Package sqlsrc owns source.type sql (recotem-behavior.md §3.3, §5.4): it
// reads a SQLAlchemy-style DSN URL from the RECOTEM_RECIPE_* variable that
// sql.dsn_env names, applies the private-address guard to every host and
// pins the checked addresses, opens PostgreSQL (pgx), MySQL/MariaDB
// (go-sql-driver/mysql) or SQLite (modernc, pure Go) through database/sql,
// runs the recipe query with its :name parameters inside a read-only
// transaction under the statement timeout, and streams the rows to the
// source.Sink with the RECOTEM_MAX_SQL_ROWS cap. The DSN variable is read
// through Options.LookupEnv; the settings (SQLAllowPrivate, MaxSQLRows) are
// the typed source.Settings cmd/recotem read with internal/envconfig.
//
// DSN forms: postgresql://, postgres:// (and +driver forms such as
// postgresql+psycopg://), mysql://, mysql+pymysql://, mariadb://, and
// sqlite:///abs/path (also sqlite:////abs/path). Credentials may sit inside
// the URL; they come from the environment and are never logged or put in an
// error: errors name the driver's error class and code, with the DSN and its
// password scrubbed from any driver text.
//
// Address rule (unless sqlite or Options.SQLAllowPrivate, i.e.
// RECOTEM_SQL_ALLOW_PRIVATE truthy):
// ?service=, ?unix_socket=, hosts starting with "/" and a missing host are
// refused; every host (URL hosts, postgres host/hostaddr and mysql host
// parameters) is resolved and refused if any address is internal
// (internal/fetch.Internal) — class HTTPFetch, exit 7. Right before connecting
// each host is resolved again and must overlap the checked addresses (else
// DataSource, exit 3); the drivers then dial only the overlapping addresses
// (pgx LookupFunc, mysql DialFunc), so DNS cannot be rebound in between.
//
// Session: PostgreSQL BEGIN READ ONLY + SET LOCAL statement_timeout; MySQL
// START TRANSACTION READ ONLY + max_execution_time, MariaDB
// max_statement_time; SQLite opens the file read-only with query_only and
// logs sql_statement_timeout_unsupported_on_sqlite. A failure to set either
// is a DataSource error (exit 3), as is any driver error.
//
// Rows stream from the driver's cursor; the cap is checked as rows arrive in
// chunks of min(100,000, cap) rows, so memory never holds more than the
// sink keeps. Events: sql_dsn_tls_not_configured (warning),
// sql_statement_timeout_unsupported_on_sqlite (warning), sql_fetch_complete
// (dialect, n_rows, n_chunks, seconds), env_var_unparseable/env_var_clamped.
//
// A Source is not safe for concurrent Fetch calls.
package sqlsrc
