package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/recotem/recotem/internal/recipe"
)

// renderRow is one row as text, null as <nil>.
func renderRow(v []Value) string {
	parts := make([]string, len(v))
	for i, x := range v {
		if x.Kind == Null {
			parts[i] = "<nil>"
		} else {
			parts[i] = strconv.Quote(string(x.Str))
		}
	}
	return strings.Join(parts, "|")
}

// errRowSink fails on a row whose first cell is "ERR" or "ERR2".
func errRow(v []Value) error {
	if v[0].Kind == String && bytes.HasPrefix(v[0].Str, []byte("ERR")) {
		return fmt.Errorf("bad row %s", renderRow(v))
	}
	return nil
}

// parSink is a ParallelSink that keeps each chunk's rows.
type parSink struct {
	t      *testing.T
	mu     sync.Mutex
	chunks map[int]*parChunk
	inUse  map[int]int // worker → seq it is feeding
}

type parChunk struct {
	p    *parSink
	w    int
	rows []string
}

func (p *parSink) Row([]Value) error {
	p.t.Error("Row called on a ParallelSink fed by chunks")
	return nil
}

func (p *parSink) Chunk(w, seq int) Sink {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.chunks == nil {
		p.chunks, p.inUse = map[int]*parChunk{}, map[int]int{}
	}
	if _, dup := p.chunks[seq]; dup {
		p.t.Errorf("chunk %d handed out twice", seq)
	}
	c := &parChunk{p: p, w: w}
	p.chunks[seq] = c
	return c
}

func (c *parChunk) Row(v []Value) error {
	c.rows = append(c.rows, renderRow(v))
	return errRow(v)
}

// rows returns the rows of chunks 0..n-1 in order, stopping at the first
// missing chunk.
func (p *parSink) rows() []string {
	var out []string
	for seq := 0; ; seq++ {
		c, ok := p.chunks[seq]
		if !ok {
			return out
		}
		out = append(out, c.rows...)
	}
}

type fetchResult struct {
	rows []string
	err  string
}

// fetchWith reads r with the careful path, the fast path into a plain
// sink, or the fast path into a ParallelSink, with the given block size.
func fetchWith(t *testing.T, r *recipe.Recipe, opt Options, mode string, block int) fetchResult {
	t.Helper()
	src, err := New(r, opt)
	if err != nil {
		t.Fatal(err)
	}
	cs := src.(*csvSource)
	cs.block = block
	cs.carefulOnly = mode == "careful"
	var res fetchResult
	if mode == "parallel" {
		ps := &parSink{t: t}
		err = cs.Fetch(context.Background(), ps)
		res.rows = ps.rows()
		if err != nil {
			// Chunks after the failing one may have been skipped or cut
			// short: compare the rows up to and including the failing one.
			for k, row := range res.rows {
				if strings.HasPrefix(row, `"ERR`) {
					res.rows = res.rows[:k+1]
					break
				}
			}
		}
	} else {
		err = cs.Fetch(context.Background(), SinkFunc(func(v []Value) error {
			res.rows = append(res.rows, renderRow(v))
			return errRow(v)
		}))
	}
	if err != nil {
		res.err = err.Error()
	}
	return res
}

// same checks that every path and block size agrees with the careful path.
func same(t *testing.T, r *recipe.Recipe, opt Options, name string) {
	t.Helper()
	want := fetchWith(t, r, opt, "careful", 0)
	for _, mode := range []string{"plain", "parallel"} {
		for _, block := range []int{1, 2, 3, 7, 64, 0} {
			got := fetchWith(t, r, opt, mode, block)
			if got.err != want.err || strings.Join(got.rows, "\n") != strings.Join(want.rows, "\n") {
				t.Errorf("%s: %s block %d:\n got %q (err %q)\nwant %q (err %q)", name, mode, block, got.rows, got.err, want.rows, want.err)
				return
			}
		}
	}
}

func csvFile(t *testing.T, name, data string) *recipe.Recipe {
	t.Helper()
	r := csvRecipe(writeFile(t, name, []byte(data)))
	r.Schema.TimeColumn = nil
	r.Schema.UserColumn, r.Schema.ItemColumn = "a", "b"
	return r
}

func TestCSVFastMatchesCareful(t *testing.T) {
	cases := map[string]string{
		"plain":           "a,b,c\nu1,i1,1\nu2,i2,2\n",
		"no final eol":    "a,b,c\nu1,i1,1\nu2,i2,2",
		"crlf":            "a,b,c\r\nu1,i1,1\r\nu2,i2,2\r\n",
		"crlf no eol":     "a,b,c\r\nu1,i1,1\r\nu2,i2,2\r",
		"cr cr lf":        "a,b,c\nu1,i1,1\r\r\nu2,i2\r\r",
		"lone cr":         "a,b,c\nu1\ri1,x\rz,1\n\r\n\r",
		"empty lines":     "\n\na,b,c\n\nu1,i1,1\n\n\r\n\nu2,i2,2\n\n",
		"short rows":      "a,b,c\nu1\nu2,\n,i3\n,,\nu4,i4,4,extra,more\n",
		"nulls":           "a,b,c\nNA,i1,1\nu2,NaN,2\nnull,None,3\n#N/A N/A,-1.#QNAN,4\nnan1,NAN,5\n",
		"quoted header":   "\"a\",\"b\",\"c\"\nu1,i1,1\nu2,i2,2\n",
		"bom":             "\ufeffa,b,c\nu1,i1,1\n",
		"quoted comma":    "a,b,c\nu1,i1,1\n\"u,2\",i2,2\nu3,i3,3\n",
		"quoted newline":  "a,b,c\nu1,i1,1\nu2,\"i\n2\",2\nu3,i3,3\n",
		"quoted crlf":     "a,b,c\r\nu1,i1,1\r\nu2,\"i\r\n2\",2\r\nu3,i3,3",
		"bare quote":      "a,b,c\nu1,i\"1,1\nu2,i2,2\n",
		"empty quoted":    "a,b,c\nu1,i1,1\n\"\"\nu2,i2,2\n",
		"open quote":      "a,b,c\nu1,i1,1\n\"u2,i2,2\nu3,i3,3\n",
		"sink error":      "a,b,c\nu1,i1,1\nERR,i2,2\nu3,i3,3\nERR2,i4,4\n",
		"late sink error": "a,b,c\n" + strings.Repeat("u1,i1,1\n", 50) + "ERR,x,1\n" + strings.Repeat("u2,i2,2\n", 50),
		"header only":     "a,b,c\n",
		"header only eol": "a,b,c",
		"blank rows only": "a,b,c\n\n\r\n",
		"long line":       "a,b,c\n" + strings.Repeat("x", 300) + ",i1,1\nu2," + strings.Repeat("y", 200) + ",2\n",
		"utf8 and bytes":  "a,b,c\ncafé,\xff\xfe,1\n\x00,i,2\n",
	}
	for name, data := range cases {
		r := csvFile(t, "d.csv", data)
		same(t, r, Options{}, name)
		r.Source.CSV.Header = 0
		r3 := csvFile(t, "d3.csv", data)
		r3.Schema.ItemColumn = "c"
		same(t, r3, Options{Columns: []string{"c", "a", "b"}}, name+" (c,a,b)")
	}
	// Other delimiters, header row 1, latin-1, gzip.
	r := csvFile(t, "semi.csv", "skip\na;b;c\nu1;i,1;1\nu2;i2\n")
	r.Source.CSV.Delimiter, r.Source.CSV.Header = ";", 1
	same(t, r, Options{}, "semicolon, header 1")
	r = csvFile(t, "tab.csv", "a\tb\tc\nu1\ti1\t1\ncaf\xe9\ti2\t2\n")
	r.Source.CSV.Delimiter, r.Source.CSV.Encoding = "\t", "latin-1"
	same(t, r, Options{}, "tab, latin-1")
	r = csvFile(t, "hi.csv", "a\xa7b\xa7c\nu1\xa7i1\xa71\n")
	r.Source.CSV.Delimiter = "\xa7"
	same(t, r, Options{}, "delimiter byte ≥ 0x80")
	r = csvRecipe(writeFile(t, "d.csv.gz", compress(t, "gz", []byte("a,b,c\nu1,i1,1\nu2,i2,2\n"))))
	r.Schema.TimeColumn, r.Schema.UserColumn, r.Schema.ItemColumn = nil, "a", "b"
	same(t, r, Options{}, "gzip")
}

// failAfter serves data, then fails with err instead of EOF.
type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if len(p) > 5 {
		p = p[:5] // small reads, so the failure lands mid-line
	}
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func (f *failAfter) Close() error { return nil }

func TestCSVFastReadError(t *testing.T) {
	payloads := map[string]string{}
	RegisterOpener("failtest", func(_ context.Context, path string, _ Options) (io.ReadCloser, error) {
		return &failAfter{r: strings.NewReader(payloads[path]), err: errors.New("connection reset")}, nil
	})
	for name, data := range map[string]string{
		"mid line":      "a,b,c\nu1,i1,1\nu2,i2,2\nu3,i",
		"at line end":   "a,b,c\nu1,i1,1\nu2,i2,2\n",
		"quoted":        "a,b,c\nu1,i1,1\n\"u2\",i2,2\nu3,i",
		"error first":   "a,b,c\nERR,i1,1\nu2,i2,2\nu3,i",
		"in the header": "a,b",
	} {
		path := "failtest://" + strings.ReplaceAll(name, " ", "-")
		payloads[path] = data
		r := csvRecipe(path)
		r.Schema.TimeColumn, r.Schema.UserColumn, r.Schema.ItemColumn = nil, "a", "b"
		same(t, r, Options{}, name)
	}
}

func FuzzCSVFast(f *testing.F) {
	f.Add([]byte("u1,i1,1\nu2,i2,2\n"), byte(0), uint8(3), uint8(0), false)
	f.Add([]byte("u1,\"i\n1\",1\r\nERR,i2\n\n"), byte(1), uint8(1), uint8(1), true)
	f.Add([]byte("NA;;x\r\r\n\"\"\n"), byte(2), uint8(5), uint8(2), false)
	f.Fuzz(func(t *testing.T, body []byte, delim byte, block, cols uint8, gz bool) {
		d := []string{",", ";", "\t", "|", " "}[int(delim)%5]
		header := strings.Join([]string{"a", "b", "c"}, d) + "\n"
		data := append([]byte(header), body...)
		name := "f.csv"
		if gz {
			data, name = compress(t, "gz", data), "f.csv.gz"
		}
		r := csvRecipe(writeFile(t, name, data))
		r.Source.CSV.Delimiter = d
		r.Schema.TimeColumn, r.Schema.UserColumn, r.Schema.ItemColumn = nil, "a", "b"
		opt := Options{Columns: [][]string{{"a", "b"}, {"b", "a", "c"}, {"c", "a"}, {"a"}}[int(cols)%4]}
		want := fetchWith(t, r, opt, "careful", 0)
		for _, mode := range []string{"plain", "parallel"} {
			got := fetchWith(t, r, opt, mode, 1+int(block)%97)
			if got.err != want.err || strings.Join(got.rows, "\n") != strings.Join(want.rows, "\n") {
				t.Fatalf("%s block %d:\n got %q (err %q)\nwant %q (err %q)", mode, 1+int(block)%97, got.rows, got.err, want.rows, want.err)
			}
		}
	})
}
