package sqlsrc

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recotem/recotem/trainer/source"
)

// Fetch throughput: 100,000 rows of (user TEXT, item INT, ts INT) through
// the whole source (DSN, session, query, scan, Value conversion) into a
// sink that only counts.
//
//	go test -run '^$' -bench 'Fetch' -benchtime 5x ./trainer/source/sqlsrc
//
// The PostgreSQL and MariaDB variants need the .ci/services variables.
const benchRows = 100_000

func benchFetch(b *testing.B, dsn, table string, settings source.Settings) {
	r := sqlRecipe("SELECT user_id, item_id, ts FROM "+table, nil)
	src, err := source.New(r, source.Options{LookupEnv: env(dsnVar, dsn), Settings: settings})
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	sink := source.SinkFunc(func(v []source.Value) error {
		if v[1].Kind == source.Int {
			n++
		}
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := src.Fetch(context.Background(), sink); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n != int64(b.N)*benchRows {
		b.Fatalf("%d int items over %d runs, want %d per run", n, b.N, benchRows)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(n)/sec, "rows/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n), "ns/row")
	b.ReportMetric(0, "ns/op")
}

func benchValues(from, to int) string {
	var vals []string
	for i := from; i < to; i++ {
		vals = append(vals, fmt.Sprintf("('u%d', %d, %d)", i%5000, i%20000, 1700000000+i))
	}
	return strings.Join(vals, ",")
}

func BenchmarkFetchSQLite(b *testing.B) {
	p := filepath.Join(b.TempDir(), "bench.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		b.Fatal(err)
	}
	db.Exec(`CREATE TABLE t (user_id TEXT, item_id INTEGER, ts INTEGER)`)
	for i := 0; i < benchRows; i += 5000 {
		if _, err := db.Exec("INSERT INTO t VALUES " + benchValues(i, i+5000)); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	dsn := "sqlite:///" + p
	benchFetch(b, dsn, "t", source.Settings{})
}

func BenchmarkFetchPostgres(b *testing.B) { benchServer(b, Postgres) }
func BenchmarkFetchMariaDB(b *testing.B)  { benchServer(b, MySQL) }

func benchServer(b *testing.B, dialect string) {
	s := connectServer(b, dialect)
	if _, err := s.db.Exec("CREATE TABLE " + s.table + " (user_id VARCHAR(32), item_id BIGINT, ts BIGINT)"); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchRows; i += 5000 {
		if _, err := s.db.Exec("INSERT INTO " + s.table + " (user_id, item_id, ts) VALUES " + benchValues(i, i+5000)); err != nil {
			b.Fatal(err)
		}
	}
	benchFetch(b, s.dsn, s.table, source.Settings{SQLAllowPrivate: true})
}
