package sqlsrc

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/failure"
)

func TestBindNamed(t *testing.T) {
	params := map[string]any{"uid": "u1", "n": 3, "f": 1.5, "b": true, "ü": "x"}
	f := func(dialect, q, want string, wantArgs ...any) {
		t.Helper()
		got, args, err := bindNamed(q, params, dialect)
		if err != nil {
			t.Fatalf("%s %q: %v", dialect, q, err)
		}
		if got != want || fmt.Sprintf("%#v", args) != fmt.Sprintf("%#v", []any(wantArgs)) {
			t.Fatalf("%s %q:\n got %q %v\nwant %q %v", dialect, q, got, args, want, wantArgs)
		}
	}
	f(Postgres, "SELECT * FROM t WHERE u = :uid AND n > :n", "SELECT * FROM t WHERE u = $1 AND n > $2", "u1", int64(3))
	f(Postgres, "SELECT :uid, :n, :uid", "SELECT $1, $2, $1", "u1", int64(3))
	f(MySQL, "SELECT :uid, :n, :uid", "SELECT ?, ?, ?", "u1", int64(3), "u1")
	f(SQLite, "SELECT * FROM t WHERE f=:f AND b=:b", "SELECT * FROM t WHERE f=? AND b=?", 1.5, true)
	// Casts, quotes, identifiers, comments and escapes are left alone.
	f(Postgres, "SELECT ts::date, ':uid', \":uid\", E'it''s :n' FROM t WHERE u=:uid", "SELECT ts::date, ':uid', \":uid\", E'it''s :n' FROM t WHERE u=$1", "u1")
	f(Postgres, "SELECT 1 -- :uid\n, :n /* :uid */", "SELECT 1 -- :uid\n, $1 /* :uid */", int64(3))
	f(Postgres, "SELECT $$ :uid $$, $tag$ :n $tag$, :b", "SELECT $$ :uid $$, $tag$ :n $tag$, $1", true)
	f(Postgres, `SELECT '12:30', a\:b, x:y, :n`, `SELECT '12:30', a:b, x:y, $1`, int64(3))
	f(MySQL, "SELECT `c:uid`, 'it\\'s :uid', :n # :uid", "SELECT `c:uid`, 'it\\'s :uid', ? # :uid", int64(3))
	f(MySQL, "SELECT :n: FROM t", "SELECT :n: FROM t")
	f(SQLite, "SELECT :ü", "SELECT ?", "x")
	f(SQLite, "SELECT ':", "SELECT ':")

	bad := func(q string, params map[string]any, want string) {
		t.Helper()
		_, _, err := bindNamed(q, params, Postgres)
		if err == nil {
			err = checkParams(params)
		}
		if failure.ExitCode(err) != 3 || !errors.Is(err, ErrParam) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: %v, want exit 3 containing %q", q, err, want)
		}
	}
	bad("SELECT :missing", params, ":missing has no value")
	bad("SELECT :l", map[string]any{"l": []any{1, 2}}, "must be a string, integer, float or boolean")
	bad("SELECT 1", map[string]any{"m": map[string]any{}}, "parameter m must be")
	bad("SELECT :z", map[string]any{"z": nil}, "parameter z must be")
}

// FuzzBindNamed: rewriting never panics, and a query without ':' is
// returned unchanged with no arguments.
func FuzzBindNamed(f *testing.F) {
	for _, s := range []string{"SELECT :a", "SELECT '::a' :a", "$$:a$$ :a", "/* :a", "-- :a", "`:a", "\\:a", ":", "$a$:a"} {
		f.Add(s)
	}
	params := map[string]any{"a": int64(1)}
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 4096 {
			return
		}
		for _, d := range []string{Postgres, MySQL, SQLite} {
			out, args, err := bindNamed(q, params, d)
			if !strings.Contains(q, ":") && (err != nil || out != q || len(args) != 0) {
				t.Fatalf("%s %q changed: %q %v %v", d, q, out, args, err)
			}
		}
	})
}
