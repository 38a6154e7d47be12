package metadata

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/recotem/recotem/internal/fetch"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCSV(t *testing.T) {
	p := writeFile(t, "m.csv", "item_id,title,year,score,Secret\ni1,\"Toy \"\"Story\"\"\",1995,9,x\ni2,,1996,8,y\n,Nobody,1,1,z\ni1,Dup,2000,1,w\n")
	f := func(spec Spec, opt Options, id, want string) {
		t.Helper()
		tb, err := Load(t.Context(), spec, opt)
		if err != nil {
			t.Fatal(err)
		}
		got, bad := tb.Fragment([]byte(id))
		if bad || string(got) != want {
			t.Fatalf("%s: %q (bad=%v), want %q", id, got, bad, want)
		}
	}
	spec := Spec{Type: "csv", Path: p, Fields: []string{"title", "year", "score", "item_id", "Secret"}}
	f(spec, Options{}, "i1", `"title":"Toy \"Story\"","year":"1995","Secret":"x",`)
	f(spec, Options{}, "i2", `"title":null,"year":"1996","Secret":"y",`)
	f(spec, Options{Deny: []string{" secret ", "YEAR"}}, "i1", `"title":"Toy \"Story\"",`)
	f(spec, Options{}, "zzz", ``)

	_, err := Load(t.Context(), Spec{Type: "csv", Path: p, Fields: []string{"nope"}}, Options{})
	if !errors.Is(err, ErrFieldMissing) {
		t.Fatalf("missing field: %v", err)
	}
	f(Spec{Type: "csv", Path: p, Fields: []string{"nope", "title"}, OnFieldMissing: "null"}, Options{}, "i1", `"nope":null,"title":"Toy \"Story\"",`)
	if _, err := Load(t.Context(), Spec{Type: "csv", Path: p, Fields: []string{"title"}, ItemIDColumn: "id"}, Options{}); !errors.Is(err, ErrIDColumn) {
		t.Fatalf("id column: %v", err)
	}
	if _, err := Load(t.Context(), Spec{Type: "csv", Path: p, Fields: []string{"title"}, SHA256: strings.Repeat("0", 64)}, Options{}); !errors.Is(err, ErrSHA256) {
		t.Fatalf("sha: %v", err)
	}
	if _, err := Load(t.Context(), Spec{Type: "csv", Path: p, Fields: []string{"title"}}, Options{MaxBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("cap: %v", err)
	}
	if _, err := Load(t.Context(), Spec{Type: "csv", Path: p + ".absent", Fields: []string{"title"}}, Options{}); !errors.Is(err, ErrSource) {
		t.Fatalf("absent: %v", err)
	}
	if _, err := Load(t.Context(), Spec{Type: "csv", Path: p, Fields: nil}, Options{}); !errors.Is(err, ErrSpec) {
		t.Fatalf("no fields: %v", err)
	}
}

func TestCSVInvalidUTF8Degrades(t *testing.T) {
	p := writeFile(t, "m.csv", "item_id,title\ni1,ok\ni2,bad\xff\n")
	tb, err := Load(t.Context(), Spec{Path: p, Fields: []string{"title"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, bad := tb.Fragment([]byte("i2")); !bad {
		t.Fatal("invalid UTF-8 not degraded")
	}
	if fr, bad := tb.Fragment([]byte("i1")); bad || string(fr) != `"title":"ok",` {
		t.Fatalf("i1 %q", fr)
	}
}

type pqRow struct {
	ItemID string   `parquet:"item_id"`
	Title  string   `parquet:"title"`
	Rating float64  `parquet:"rating"`
	Count  int64    `parquet:"count"`
	Flag   bool     `parquet:"flag"`
	Opt    *float64 `parquet:"opt,optional"`
}

func TestParquet(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.parquet")
	x := 1.5
	rows := []pqRow{{"i1", "A", 4.5, 3, true, &x}, {"i2", "B", 2, 7, false, nil}}
	if err := parquet.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	tb, err := Load(t.Context(), Spec{Type: "parquet", Path: p, Fields: []string{"title", "rating", "count", "flag", "opt"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fr, _ := tb.Fragment([]byte("i1")); string(fr) != `"title":"A","rating":4.5,"count":3,"flag":true,"opt":1.5,` {
		t.Fatalf("i1 %q", fr)
	}
	if fr, _ := tb.Fragment([]byte("i2")); string(fr) != `"title":"B","rating":2,"count":7,"flag":false,"opt":null,` {
		t.Fatalf("i2 %q", fr)
	}
}

func TestHTTPSource(t *testing.T) {
	body := "item_id,title\ni1,Remote\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	spec := Spec{Type: "csv", Path: srv.URL + "/m.csv", Fields: []string{"title"}}
	// loopback is refused by the address guard unless private addresses are allowed
	if _, err := Load(t.Context(), spec, Options{HTTP: &fetch.Fetcher{}}); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "internal address") {
		t.Fatalf("guard: %v", err)
	}
	if _, err := Load(t.Context(), spec, Options{}); !errors.Is(err, ErrSource) {
		t.Fatalf("no fetcher: %v", err)
	}
	tb, err := Load(t.Context(), spec, Options{HTTP: &fetch.Fetcher{AllowPrivate: true}})
	if err != nil {
		t.Fatal(err)
	}
	if fr, _ := tb.Fragment([]byte("i1")); string(fr) != `"title":"Remote",` {
		t.Fatalf("%q", fr)
	}
	spec.SHA256 = strings.Repeat("a", 64)
	if _, err := Load(t.Context(), spec, Options{HTTP: &fetch.Fetcher{AllowPrivate: true}}); err == nil {
		t.Fatal("wrong pin accepted")
	}
}
