package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/recotem/recotem/trainer/search"
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
	dialectMySQL
)

func (d dialect) String() string {
	return [...]string{"sqlite", "postgresql", "mysql"}[d]
}

// SQLStore keeps trials in SQLite, PostgreSQL or MySQL/MariaDB. Its schema
// (tables recotem_studies and recotem_trials) is Go's own. Claims serialise
// on the study row (FOR UPDATE; SQLite: an immediate transaction), so
// processes on several hosts can share one study. Liveness uses each
// process's wall clock, so hosts' clocks must agree to well within Grace.
type SQLStore struct {
	db    *sql.DB
	d     dialect
	grace time.Duration

	mu      sync.Mutex
	studies map[string]int64
}

var _ search.Store = (*SQLStore)(nil)

func openSQL(d dialect, dsn string, opt Options) (search.Store, error) {
	var db *sql.DB
	var err error
	switch d {
	case dialectSQLite:
		path := strings.TrimPrefix(dsn, "file:")
		if i := strings.Index(path, "?_pragma"); i >= 0 {
			path = path[:i]
		}
		if dir := filepath.Dir(path); dir != "" {
			_ = os.MkdirAll(dir, 0o700)
		}
		db, err = sql.Open("sqlite", dsn)
		if err == nil {
			db.SetMaxOpenConns(1)
		}
	case dialectPostgres:
		var cfg *pgx.ConnConfig
		cfg, err = pgx.ParseConfig(dsn)
		if err != nil {
			return nil, searchErr(fmt.Errorf("%w: malformed postgresql URL", ErrBadStorage))
		}
		if opt.Lookup != nil {
			if v, ok := opt.Lookup("PGUSER"); ok && v != "" {
				cfg.User = v
			}
			if v, ok := opt.Lookup("PGPASSWORD"); ok {
				cfg.Password = v
			}
		}
		db = stdlib.OpenDB(*cfg)
	case dialectMySQL:
		db, err = sql.Open("mysql", dsn) // driver registered by go-sql-driver/mysql (open.go)
	}
	if err != nil {
		return nil, searchErr(fmt.Errorf("open %s trial store: %w", d, err))
	}
	s := &SQLStore{db: db, d: d, grace: opt.Grace, studies: map[string]int64{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, searchErr(fmt.Errorf("open %s trial store: %w", d, err))
	}
	return s, nil
}

func (s *SQLStore) schema() []string {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	switch s.d {
	case dialectPostgres:
		id = "BIGSERIAL PRIMARY KEY"
	case dialectMySQL:
		id = "BIGINT AUTO_INCREMENT PRIMARY KEY"
	}
	text := "TEXT"
	if s.d == dialectMySQL {
		text = "MEDIUMTEXT"
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS recotem_studies (
			id ` + id + `,
			name VARCHAR(255) NOT NULL UNIQUE,
			created_us BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS recotem_trials (
			study_id BIGINT NOT NULL,
			num INTEGER NOT NULL,
			cls VARCHAR(255) NOT NULL,
			state VARCHAR(16) NOT NULL,
			val DOUBLE PRECISION NULL,
			params ` + text + ` NOT NULL,
			attrs ` + text + ` NOT NULL,
			inter ` + text + ` NOT NULL,
			timed_out SMALLINT NOT NULL DEFAULT 0,
			heartbeat_us BIGINT NOT NULL,
			finished_us BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (study_id, num))`,
	}
}

// migrate creates the tables; concurrent creators may collide, so retry.
func (s *SQLStore) migrate(ctx context.Context) error {
	var err error
	for attempt := range 8 {
		err = nil
		for _, q := range s.schema() {
			if _, err = s.db.ExecContext(ctx, q); err != nil {
				break
			}
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return err
}

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *SQLStore) q(query string) string {
	if s.d != dialectPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func nowUS() int64 { return time.Now().UnixMicro() }

func (s *SQLStore) studyID(ctx context.Context, name string, create bool) (int64, bool, error) {
	s.mu.Lock()
	id, ok := s.studies[name]
	s.mu.Unlock()
	if ok {
		return id, true, nil
	}
	if create {
		var ins string
		switch s.d {
		case dialectPostgres:
			ins = "INSERT INTO recotem_studies (name, created_us) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
		case dialectMySQL:
			ins = "INSERT IGNORE INTO recotem_studies (name, created_us) VALUES (?, ?)"
		default:
			ins = "INSERT OR IGNORE INTO recotem_studies (name, created_us) VALUES (?, ?)"
		}
		if _, err := s.db.ExecContext(ctx, s.q(ins), name, nowUS()); err != nil {
			return 0, false, fmt.Errorf("create study: %w", err)
		}
	}
	err := s.db.QueryRowContext(ctx, s.q("SELECT id FROM recotem_studies WHERE name = ?"), name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("find study: %w", err)
	}
	s.mu.Lock()
	s.studies[name] = id
	s.mu.Unlock()
	return id, true, nil
}

func (s *SQLStore) Claim(ctx context.Context, study string, classes []string, budgets []int) (int, string, bool, error) {
	id, _, err := s.studyID(ctx, study, true)
	if err != nil {
		return 0, "", false, err
	}
	for attempt := 0; ; attempt++ {
		n, c, ok, err := s.claimOnce(ctx, id, classes, budgets)
		if err == nil || attempt >= 6 || ctx.Err() != nil {
			if err != nil {
				err = fmt.Errorf("claim trial: %w", err)
			}
			return n, c, ok, err
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
}

func (s *SQLStore) claimOnce(ctx context.Context, id int64, classes []string, budgets []int) (number int, class string, ok bool, err error) {
	var opts *sql.TxOptions
	if s.d != dialectSQLite {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return 0, "", false, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if s.d != dialectSQLite {
		var got int64
		if err = tx.QueryRowContext(ctx, s.q("SELECT id FROM recotem_studies WHERE id = ? FOR UPDATE"), id).Scan(&got); err != nil {
			return 0, "", false, err
		}
	}
	now := nowUS()
	if _, err = tx.ExecContext(ctx, s.q("UPDATE recotem_trials SET state = 'FAIL', finished_us = ? WHERE study_id = ? AND state = 'RUNNING' AND heartbeat_us < ?"),
		now, id, now-s.grace.Microseconds()); err != nil {
		return 0, "", false, err
	}
	rows, err := tx.QueryContext(ctx, s.q("SELECT cls, COUNT(*) FROM recotem_trials WHERE study_id = ? AND state IN ('RUNNING', 'COMPLETE', 'PRUNED') GROUP BY cls"), id)
	if err != nil {
		return 0, "", false, err
	}
	used := map[string]int{}
	for rows.Next() {
		var c string
		var k int
		if err = rows.Scan(&c, &k); err != nil {
			rows.Close()
			return 0, "", false, err
		}
		used[c] = k
	}
	if err = rows.Close(); err != nil {
		return 0, "", false, err
	}
	for i, c := range classes {
		if i < len(budgets) && used[c] < budgets[i] {
			class = c
			break
		}
	}
	if class == "" {
		return 0, "", false, tx.Commit()
	}
	if err = tx.QueryRowContext(ctx, s.q("SELECT COALESCE(MAX(num), -1) + 1 FROM recotem_trials WHERE study_id = ?"), id).Scan(&number); err != nil {
		return 0, "", false, err
	}
	if _, err = tx.ExecContext(ctx, s.q(`INSERT INTO recotem_trials
		(study_id, num, cls, state, val, params, attrs, inter, timed_out, heartbeat_us, finished_us)
		VALUES (?, ?, ?, 'RUNNING', NULL, '{}', '{}', '{}', 0, ?, 0)`), id, number, class, now); err != nil {
		return 0, "", false, err
	}
	if err = tx.Commit(); err != nil {
		return 0, "", false, err
	}
	return number, class, true, nil
}

func (s *SQLStore) Heartbeat(ctx context.Context, study string, numbers []int) error {
	if len(numbers) == 0 {
		return nil
	}
	id, ok, err := s.studyID(ctx, study, false)
	if err != nil || !ok {
		return err
	}
	args := []any{nowUS(), id}
	ph := make([]string, len(numbers))
	for i, n := range numbers {
		ph[i] = "?"
		args = append(args, n)
	}
	_, err = s.db.ExecContext(ctx, s.q("UPDATE recotem_trials SET heartbeat_us = ? WHERE study_id = ? AND state = 'RUNNING' AND num IN ("+strings.Join(ph, ", ")+")"), args...)
	return err
}

func (s *SQLStore) Finish(ctx context.Context, study string, t search.Trial) error {
	id, ok, err := s.studyID(ctx, study, false)
	if err != nil {
		return err
	}
	if !ok {
		return search.ErrTrialLost
	}
	params, err := encodeValues(t.Params)
	if err != nil {
		return err
	}
	attrs, err := encodeValues(t.Attrs)
	if err != nil {
		return err
	}
	inter, err := encodeIntermediate(t.Intermediate)
	if err != nil {
		return err
	}
	var val any
	if t.State == search.Complete {
		val = t.Value
	}
	timedOut := 0
	if t.TimedOut {
		timedOut = 1
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE recotem_trials SET state = ?, val = ?, params = ?, attrs = ?, inter = ?,
		timed_out = ?, finished_us = ? WHERE study_id = ? AND num = ? AND state = 'RUNNING'`),
		string(t.State), val, params, attrs, inter, timedOut, nowUS(), id, t.Number)
	if err != nil {
		return fmt.Errorf("finish trial %d: %w", t.Number, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return search.ErrTrialLost
	}
	return nil
}

func (s *SQLStore) Trials(ctx context.Context, study string) ([]search.Trial, error) {
	id, ok, err := s.studyID(ctx, study, false)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT num, cls, state, val, params, attrs, inter, timed_out, finished_us
		FROM recotem_trials WHERE study_id = ? ORDER BY num`), id)
	if err != nil {
		return nil, fmt.Errorf("read trials: %w", err)
	}
	defer rows.Close()
	var out []search.Trial
	for rows.Next() {
		var t search.Trial
		var state, params, attrs, inter string
		var val sql.NullFloat64
		var timedOut int
		if err := rows.Scan(&t.Number, &t.Class, &state, &val, &params, &attrs, &inter, &timedOut, &t.FinishSeq); err != nil {
			return nil, fmt.Errorf("read trials: %w", err)
		}
		t.State = search.State(state)
		t.Value = val.Float64
		t.TimedOut = timedOut != 0
		if t.Params, err = decodeValues(params); err != nil {
			return nil, fmt.Errorf("trial %d params: %w", t.Number, err)
		}
		if t.Attrs, err = decodeValues(attrs); err != nil {
			return nil, fmt.Errorf("trial %d attrs: %w", t.Number, err)
		}
		if t.Intermediate, err = decodeIntermediate(inter); err != nil {
			return nil, fmt.Errorf("trial %d reports: %w", t.Number, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *SQLStore) MaxParallelism() int {
	if s.d == dialectSQLite {
		return 1
	}
	return 0
}

func (s *SQLStore) HeartbeatInterval() time.Duration { return s.grace / 4 }

func (s *SQLStore) Close() error { return s.db.Close() }
