package httpsrc

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/fetch"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/internal/testenv"
	"github.com/recotem/recotem/trainer/dataset"
	"github.com/recotem/recotem/trainer/source"
	"github.com/recotem/recotem/trainer/source/internal/logtest"
)

const small = "user_id,item_id,ts\nu1,i1,1\nu1,i2,2\nu2,i1,3\n"

func newLog() (*slog.Logger, *logtest.LogBuf) { return logtest.New() }

// allow is RECOTEM_HTTP_ALLOW_PRIVATE=1 as cmd/recotem passes it down.
var allow = source.Settings{HTTPAllowPrivate: true}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// tlsServer serves body at /data.csv (and gzipped at /data.csv.gz) plus
// redirect routes, on a loopback TLS listener the opener is made to trust.
func tlsServer(t *testing.T, body []byte) *httptest.Server { return tlsServerTB(t, body) }

func tlsServerTB(t testing.TB, body []byte) *httptest.Server {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/data.csv", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "recotem/2" || r.Header.Get("Accept") != "*/*" {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		w.Write(body)
	})
	mux.HandleFunc("/data.csv.gz", func(w http.ResponseWriter, r *http.Request) { w.Write(gz.Bytes()) })
	// /r/N redirects N times before landing on /data.csv.
	mux.HandleFunc("/r/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/r/"), "%d", &n)
		if n <= 1 {
			http.Redirect(w, r, "/data.csv", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), []int{301, 302, 303, 307, 308}[n%5])
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) })
	mux.HandleFunc("/loop2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "file:///etc/passwd")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://"+r.Host+"/data.csv")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	configure = func(f *fetch.Fetcher) {
		f.Transport = func(tr *http.Transport) {
			tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	t.Cleanup(func() { configure = nil })
	return srv
}

func csvRecipe(path string, pin *string) *recipe.Recipe {
	ts := "ts"
	return &recipe.Recipe{
		Name:   "t",
		Source: recipe.Source{Type: recipe.TypeCSV, CSV: &recipe.CSVSource{Type: "csv", Path: path, Delimiter: ",", Encoding: "utf-8", SHA256: pin}},
		Schema: recipe.Schema{UserColumn: "user_id", ItemColumn: "item_id", TimeColumn: &ts},
	}
}

// fetchRows runs the recipe's source and returns its rows as text.
func fetchRows(r *recipe.Recipe, opt source.Options) ([]string, error) {
	src, err := source.New(r, opt)
	if err != nil {
		return nil, err
	}
	var rows []string
	err = src.Fetch(context.Background(), source.SinkFunc(func(v []source.Value) error {
		var parts []string
		for _, x := range v {
			parts = append(parts, string(x.Str))
		}
		rows = append(rows, strings.Join(parts, ","))
		return nil
	}))
	return rows, err
}

func TestPinnedDownload(t *testing.T) {
	srv := tlsServer(t, []byte(small))
	good := sum([]byte(small))
	bad := strings.Repeat("ab", 32)
	f := func(path string, pin string, opt source.Options, wantRows int, wantExit int, wantMsg string) {
		t.Helper()
		p := pin
		rows, err := fetchRows(csvRecipe(path, &p), opt)
		if got := failure.ExitCode(err); got != wantExit {
			t.Fatalf("%s: exit %d (%v), want %d", path, got, err, wantExit)
		}
		if wantMsg != "" && (err == nil || !strings.Contains(err.Error(), wantMsg)) {
			t.Fatalf("%s: error %v, want it to contain %q", path, err, wantMsg)
		}
		if wantExit == 0 && len(rows) != wantRows {
			t.Fatalf("%s: %d rows %q, want %d", path, len(rows), rows, wantRows)
		}
	}
	opt := source.Options{Settings: allow}
	f(srv.URL+"/data.csv", good, opt, 3, 0, "")
	f(srv.URL+"/data.csv", bad, opt, 0, 7, "sha256 mismatch: got "+good[:8]+"…, expected abababab…")
	// The pin covers the raw (compressed) bytes.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(small))
	zw.Close()
	f(srv.URL+"/data.csv.gz", sum(gz.Bytes()), opt, 3, 0, "")
	f(srv.URL+"/data.csv.gz", good, opt, 0, 7, "sha256 mismatch")
	f(srv.URL+"/nope.csv", good, opt, 0, 7, "HTTP 404")
}

func TestRowsOverHTTPS(t *testing.T) {
	srv := tlsServer(t, []byte(small))
	pin := sum([]byte(small))
	rows, err := fetchRows(csvRecipe(srv.URL+"/data.csv", &pin), source.Options{Settings: allow})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows, ";"); got != "u1,i1,1;u1,i2,2;u2,i1,3" {
		t.Errorf("rows %q", got)
	}
}

func TestSizeCap(t *testing.T) {
	body := []byte(small + strings.Repeat("u9,i9,9\n", 300000)) // ≈ 2.4 MB
	srv := tlsServer(t, body)
	pin := sum(body)
	log, lb := newLog()
	_, err := fetchRows(csvRecipe(srv.URL+"/data.csv", &pin), source.Options{Settings: source.Settings{HTTPAllowPrivate: true, MaxDownloadBytes: 1 << 20}, Logger: log})
	if failure.ExitCode(err) != 7 || !strings.Contains(err.Error(), "RECOTEM_MAX_DOWNLOAD_BYTES=1048576") {
		t.Fatalf("oversize: %v (exit %d), want 7 naming the cap", err, failure.ExitCode(err))
	}
	ev := lb.Events(t, "csv_source_size_exceeded")
	if len(ev) != 1 || ev[0]["cap"] != float64(1<<20) || ev[0]["level"] != "WARN" || ev[0]["bytes_read"].(float64) <= float64(1<<20) {
		t.Fatalf("size_exceeded events %v", ev)
	}
	// The same body under a cap that fits is read whole.
	rows, err := fetchRows(csvRecipe(srv.URL+"/data.csv", &pin), source.Options{Settings: source.Settings{HTTPAllowPrivate: true, MaxDownloadBytes: 4 << 20}})
	if err != nil || len(rows) != 300003 {
		t.Fatalf("under the cap: %d rows, %v", len(rows), err)
	}
}

func TestRedirects(t *testing.T) {
	srv := tlsServer(t, []byte(small))
	pin := sum([]byte(small))
	f := func(path string, wantExit, wantRedirectEvents int, wantMsg string) {
		t.Helper()
		log, lb := newLog()
		_, err := fetchRows(csvRecipe(srv.URL+path, &pin), source.Options{Settings: allow, Logger: log})
		if got := failure.ExitCode(err); got != wantExit {
			t.Fatalf("%s: exit %d (%v), want %d", path, got, err, wantExit)
		}
		if wantMsg != "" && !strings.Contains(err.Error(), wantMsg) {
			t.Fatalf("%s: %v, want %q", path, err, wantMsg)
		}
		ev := lb.Events(t, "csv_source_redirect")
		if len(ev) != wantRedirectEvents {
			t.Fatalf("%s: %d redirect events, want %d", path, len(ev), wantRedirectEvents)
		}
		for _, e := range ev {
			for _, k := range []string{"path", "from", "to", "status"} {
				if _, ok := e[k]; !ok {
					t.Fatalf("%s: redirect event %v lacks %s", path, e, k)
				}
			}
		}
	}
	f("/r/4", 0, 4, "")
	f("/r/1", 0, 1, "")
	f("/r/5", 7, 4, "too many redirects")
	f("/loop", 7, 1, "redirect loop")
	f("/to-file", 7, 0, "non-http(s)")
	f("/to-http", 7, 0, "same scheme only")
}

func TestAddressGuard(t *testing.T) {
	srv := tlsServer(t, []byte(small))
	pin := sum([]byte(small))
	// The loopback test server is refused without the opt-in…
	_, err := fetchRows(csvRecipe(srv.URL+"/data.csv", &pin), source.Options{})
	if failure.ExitCode(err) != 7 || !errors.Is(err, fetch.ErrRefused) {
		t.Fatalf("loopback without opt-in: %v (exit %d)", err, failure.ExitCode(err))
	}
	// …and allowed with it (its truthy spellings are internal/envconfig's).
	if _, err := fetchRows(csvRecipe(srv.URL+"/data.csv", &pin), source.Options{Settings: allow}); err != nil {
		t.Fatalf("opt-in: %v", err)
	}
	if _, err := fetchRows(csvRecipe(srv.URL+"/data.csv", &pin), source.Options{Settings: source.Settings{HTTPAllowPrivate: false}}); failure.ExitCode(err) != 7 {
		t.Fatalf("opt-in off: %v", err)
	}
	// Every internal class of §10 item 23 is refused before any connection
	// (no traffic leaves the machine: the guard fails first).
	for _, host := range []string{"10.0.0.1", "127.0.0.1", "169.254.169.254", "[::1]", "100.64.0.1", "[::ffff:127.0.0.1]", "192.168.1.1", "172.16.0.1", "[fe80::1]", "0.0.0.0", "224.0.0.1", "198.18.0.1", "203.0.113.5"} {
		u := "https://" + host + "/data.csv"
		_, err := fetchRows(csvRecipe(u, &pin), source.Options{})
		if failure.ExitCode(err) != 7 || !errors.Is(err, fetch.ErrRefused) {
			t.Errorf("%s: %v (exit %d), want guard refusal 7", u, err, failure.ExitCode(err))
		}
		if err := Probe(context.Background(), u, source.Options{}); failure.ExitCode(err) != 7 || !errors.Is(err, fetch.ErrRefused) {
			t.Errorf("probe %s: %v, want refusal 7", u, err)
		}
		if err := Probe(context.Background(), u, source.Options{Settings: allow}); err != nil {
			t.Errorf("probe %s with opt-in: %v", u, err)
		}
	}
	if err := Probe(context.Background(), "https://u:p@example.com/x.csv", source.Options{}); failure.ExitCode(err) != 7 || strings.Contains(err.Error(), "u:p") {
		t.Errorf("probe with userinfo: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits one second for the client timeout")
	}
	srv := tlsServer(t, []byte(small))
	pin := sum([]byte(small))
	start := time.Now()
	_, err := fetchRows(csvRecipe(srv.URL+"/slow", &pin), source.Options{Settings: source.Settings{HTTPAllowPrivate: true, HTTPTimeout: time.Second}})
	if failure.ExitCode(err) != 7 {
		t.Fatalf("slow server: %v, want 7", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("timeout of 1 s took %v", d)
	}
}

// TestSettings: the typed settings reach the fetcher; defaults, clamps and
// their env_var_* events are internal/envconfig's (TestSourceSettings).
func TestSettings(t *testing.T) {
	f := func(set time.Duration, want time.Duration) {
		t.Helper()
		if fe := Fetcher(source.Options{Settings: source.Settings{HTTPTimeout: set}}); fe.Timeout != want {
			t.Errorf("%v: timeout %v, want %v", set, fe.Timeout, want)
		}
	}
	f(0, 30*time.Second)
	f(45*time.Second, 45*time.Second)
	f(time.Second, time.Second)
	if fe := Fetcher(source.Options{}); fe.MaxBytes != source.DefaultMaxDownloadBytes || fe.AllowPrivate || fe.Prefix != "csv_source" {
		t.Errorf("defaults: %+v", fe)
	}
	if fe := Fetcher(source.Options{Settings: source.Settings{HTTPAllowPrivate: true, MaxDownloadBytes: 5 << 20}}); !fe.AllowPrivate || fe.MaxBytes != 5<<20 {
		t.Errorf("settings: %+v", fe)
	}
}

func TestTempFileRemoved(t *testing.T) {
	srv := tlsServer(t, []byte(small))
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	rc, err := Open(context.Background(), srv.URL+"/data.csv", source.Options{Settings: allow})
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp files while open: %d", len(ents))
	}
	var b bytes.Buffer
	b.ReadFrom(rc)
	rc.Close()
	if b.String() != small {
		t.Fatalf("body %q", b.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("temp files after close: %d", len(ents))
	}
	// A failed download leaves nothing either.
	if _, err := Open(context.Background(), srv.URL+"/nope", source.Options{Settings: allow}); failure.ExitCode(err) != 7 {
		t.Fatalf("404: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("temp files after failure: %d", len(ents))
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// MovieLens over HTTPS with the published pin, through the dataset layer
// (the trainer's ingest): every rating arrives.
func TestMovieLensIngestOverHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 100k rows")
	}
	p := filepath.Join(repoRoot(t), "../shared/data/movielens/ratings.csv")
	body, err := os.ReadFile(p)
	testenv.Require(t, testenv.MovieLens, err == nil, "MovieLens data absent: %v", err)
	srv := tlsServer(t, body)
	pin := "4648bcd05e40e0654697daac07fc98221ebe0dfa57c93f8fe89bbf720d90c8ab"
	r := csvRecipe(srv.URL+"/data.csv", &pin)
	r.Schema = recipe.Schema{UserColumn: "userId", ItemColumn: "movieId"}
	r.Cleansing = recipe.Cleansing{DropNullIDs: true, Dedup: recipe.DedupKeepLast}
	d, err := dataset.Ingest(context.Background(), r, source.Options{Settings: allow})
	if err != nil {
		t.Fatal(err)
	}
	if d.NRowsFetched != 100004 || len(d.UserIDs) != 671 || len(d.ItemIDs) != 9066 {
		t.Fatalf("ingest: %d rows, %d users, %d items; want 100004, 671, 9066", d.NRowsFetched, len(d.UserIDs), len(d.ItemIDs))
	}
	bad := strings.Repeat("0", 64)
	r.Source.CSV.SHA256 = &bad
	if _, err := dataset.Ingest(context.Background(), r, source.Options{Settings: allow}); failure.ExitCode(err) != 7 {
		t.Fatalf("wrong pin: %v, want 7", err)
	}
}
