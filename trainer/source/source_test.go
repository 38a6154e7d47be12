package source

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/ulikunitz/xz"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
)

const small = "user_id,item_id,timestamp\nu1,i1,1\nu2,i2,2\n"

func csvRecipe(path string) *recipe.Recipe {
	tc := "timestamp"
	return &recipe.Recipe{
		Name:   "t",
		Source: recipe.Source{Type: recipe.TypeCSV, CSV: &recipe.CSVSource{Type: "csv", Path: path, Delimiter: ",", Encoding: "utf-8"}},
		Schema: recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id", TimeColumn: &tc},
	}
}

// fetch returns rows rendered as "user|item|time" (null as "<nil>").
func fetch(t *testing.T, r *recipe.Recipe, opt Options) ([]string, error) {
	t.Helper()
	src, err := New(r, opt)
	if err != nil {
		return nil, err
	}
	var rows []string
	err = src.Fetch(context.Background(), SinkFunc(func(v []Value) error {
		parts := make([]string, len(v))
		for i, x := range v {
			switch x.Kind {
			case Null:
				parts[i] = "<nil>"
			case String:
				parts[i] = string(x.Str)
			default:
				parts[i] = strconv.FormatInt(x.Int, 10)
			}
		}
		rows = append(rows, strings.Join(parts, "|"))
		return nil
	}))
	return rows, err
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func compress(t *testing.T, comp string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch comp {
	case "gz":
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case "zst":
		w, _ := zstd.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case "xz":
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case "zip":
		z := zip.NewWriter(&buf)
		w, _ := z.Create("data.csv")
		w.Write(data)
		z.Close()
	default:
		return data
	}
	return buf.Bytes()
}

func TestCSVCompressions(t *testing.T) {
	want := "u1|i1|1,u2|i2|2"
	f := func(name string, data []byte) {
		t.Helper()
		p := writeFile(t, name, data)
		rows, err := fetch(t, csvRecipe(p), Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if got := strings.Join(rows, ","); got != want {
			t.Errorf("%s: rows %q, want %q", name, got, want)
		}
	}
	f("plain.csv", []byte(small))
	for _, c := range []string{"gz", "zst", "xz", "zip"} {
		f("data.csv."+c, compress(t, c, []byte(small)))
		f("magic-only-"+c+".csv", compress(t, c, []byte(small))) // detected by magic without the extension
	}
	bz, err := os.ReadFile("testdata/small.csv.bz2")
	if err != nil {
		t.Fatal(err)
	}
	f("data.csv.bz2", bz)
	// file:// URI.
	p := writeFile(t, "u.csv", []byte(small))
	if rows, err := fetch(t, csvRecipe("file://"+p), Options{}); err != nil || len(rows) != 2 {
		t.Errorf("file:// %v %v", rows, err)
	}
}

func TestCSVDialect(t *testing.T) {
	data := []byte("comment line\nuser_id;item_id;timestamp\n\"u;1\";caf\xe9;10\n;i2;11\nNA;i3;12\n")
	r := csvRecipe(writeFile(t, "d.csv", data))
	r.Source.CSV.Delimiter = ";"
	r.Source.CSV.Encoding = "latin-1"
	r.Source.CSV.Header = 1
	rows, err := fetch(t, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows, ","); got != "u;1|café|10,<nil>|i2|11,<nil>|i3|12" {
		t.Errorf("rows %q", got)
	}
	// UTF-8 with a BOM on the header.
	r = csvRecipe(writeFile(t, "bom.csv", append([]byte("\ufeff"), small...)))
	if rows, err := fetch(t, r, Options{}); err != nil || len(rows) != 2 {
		t.Errorf("BOM: %v %v", rows, err)
	}
}

func TestCSVErrors(t *testing.T) {
	dir := t.TempDir()
	f := func(r *recipe.Recipe, opt Options, code int, want string) {
		t.Helper()
		_, err := fetch(t, r, opt)
		if err == nil {
			t.Errorf("%s: no error, want %q", r.Source.Path(), want)
			return
		}
		if failure.ExitCode(err) != code || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q (exit %d), want %q (exit %d)", r.Source.Path(), err, failure.ExitCode(err), want, code)
		}
	}
	f(csvRecipe(filepath.Join(dir, "missing.csv")), Options{}, 3, "source file not found")
	f(csvRecipe(writeFile(t, "empty.csv", nil)), Options{}, 3, "source file is empty")
	f(csvRecipe(writeFile(t, "big.csv", []byte(small))), Options{Settings: Settings{MaxDownloadBytes: 10}}, 3, "over RECOTEM_MAX_DOWNLOAD_BYTES=10")
	f(csvRecipe(writeFile(t, "plain.csv.gz", []byte(small))), Options{}, 3, "extension says gzip")
	f(csvRecipe(writeFile(t, "header-only.csv", []byte("user_id,item_id,timestamp\n"))), Options{}, 3, "no rows")
	wide := "a,b,c,d,e,f,g,h,i,j,k,l,user_id\n1,2,3,4,5,6,7,8,9,10,11,12,13\n"
	f(csvRecipe(writeFile(t, "cols.csv", []byte(wide))), Options{}, 3, `column "item_id" not found in source; available columns: a, b, c, d, e, f, g, h, i, j, … (3 more)`)
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, n := range []string{"a.csv", "b.csv"} {
		w, _ := z.Create(n)
		w.Write([]byte(small))
	}
	z.Close()
	f(csvRecipe(writeFile(t, "two.zip", buf.Bytes())), Options{}, 3, "exactly one file")
	sum := sha256.Sum256([]byte(small))
	good := hex.EncodeToString(sum[:])
	bad := strings.Repeat("0", 64)
	r := csvRecipe(writeFile(t, "pinned.csv", []byte(small)))
	r.Source.CSV.SHA256 = &bad
	f(r, Options{}, 7, "sha256 mismatch: got "+good[:8]+"…, expected 00000000…")
	r.Source.CSV.SHA256 = &good
	if _, err := fetch(t, r, Options{}); err != nil {
		t.Errorf("right pin: %v", err)
	}
	if _, err := New(&recipe.Recipe{Source: recipe.Source{Type: "bigquery"}}, Options{}); failure.ExitCode(err) != 3 {
		t.Errorf("unregistered type: %v", err)
	}
}

// Spec §10 item 27 and validate's probe (item 33).
func TestProbe(t *testing.T) {
	f := func(path string, opt Options, wantErr string) {
		t.Helper()
		src, err := New(csvRecipe(path), opt)
		if err != nil {
			t.Fatal(err)
		}
		err = src.Probe(context.Background())
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", path, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr) || failure.ExitCode(err) != 3):
			t.Errorf("%s: %v, want %q exit 3", path, err, wantErr)
		}
	}
	p := writeFile(t, "d.csv", []byte(small))
	f(p, Options{}, "")
	f(p+".missing", Options{}, "source file not found")
	f(p, Options{Settings: Settings{MaxDownloadBytes: 5}}, "RECOTEM_MAX_DOWNLOAD_BYTES")
	f("s3://bucket/key.csv", Options{}, "not available in this build")
}

type pqRow struct {
	User string    `parquet:"user_id"`
	Item int64     `parquet:"item_id"`
	TS   time.Time `parquet:"timestamp,timestamp(millisecond)"`
	Note *string   `parquet:"note,optional"`
}

func TestParquet(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := []pqRow{{"u1", 10, t0, nil}, {"u2", 20, t0.Add(time.Second), nil}}
	p := filepath.Join(t.TempDir(), "d.parquet")
	if err := parquet.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	tc := "timestamp"
	r := &recipe.Recipe{
		Source: recipe.Source{Type: recipe.TypeParquet, Parquet: &recipe.ParquetSource{Type: "parquet", Path: p}},
		Schema: recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id", TimeColumn: &tc},
	}
	src, err := New(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Value
	var users []string
	err = src.Fetch(context.Background(), SinkFunc(func(v []Value) error {
		users = append(users, string(v[0].Str))
		got = append(got, v[1], v[2])
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(users, ",") != "u1,u2" || got[0].Kind != Int || got[0].Int != 10 || got[1].Kind != Time || got[1].Int != t0.UnixNano() || got[3].Int != t0.Add(time.Second).UnixNano() {
		t.Errorf("values: %v %+v", users, got)
	}
	r.Schema.ItemColumn = "movie"
	src, _ = New(r, Options{})
	err = src.Fetch(context.Background(), SinkFunc(func([]Value) error { return nil }))
	if failure.ExitCode(err) != 3 || !strings.Contains(err.Error(), `column "movie" not found`) {
		t.Errorf("missing column: %v", err)
	}
	// gzip-wrapped parquet.
	data, _ := os.ReadFile(p)
	r.Schema.ItemColumn = "item_id"
	r.Source.Parquet.Path = writeFile(t, "d.parquet.gz", compress(t, "gz", data))
	src, _ = New(r, Options{})
	n := 0
	if err := src.Fetch(context.Background(), SinkFunc(func([]Value) error { n++; return nil })); err != nil || n != 2 {
		t.Errorf("gz parquet: %d rows, %v", n, err)
	}
}
