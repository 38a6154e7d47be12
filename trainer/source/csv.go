package source

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"unicode/utf8"
	"unsafe"

	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
)

func init() {
	Register(recipe.TypeCSV, newCSV)
	Register(recipe.TypeParquet, newParquet)
}

// IsNullText reports whether a CSV cell reads as null: empty, or one of
// pandas' default na_values spellings.
func IsNullText(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(b) > 8 {
		return false
	}
	switch b[0] { // every spelling starts with one of these
	case '#', '-', '1', '<', 'N', 'n':
	default:
		return false
	}
	switch string(b) {
	case "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
		"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null":
		return true
	}
	return false
}

// stringBytes is a read-only view of s's bytes.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

type csvSource struct {
	c   *recipe.CSVSource
	opt Options
	// Tests: block overrides csvBlock; carefulOnly turns the fast path off.
	block       int
	carefulOnly bool
}

func newCSV(r *recipe.Recipe, opt Options) (Source, error) {
	if r.Source.CSV == nil {
		return nil, dsErr("recipe source is not csv")
	}
	return &csvSource{c: r.Source.CSV, opt: opt}, nil
}

func (s *csvSource) Probe(ctx context.Context) error { return probe(ctx, s.c.Path, s.opt) }

func (s *csvSource) Fetch(ctx context.Context, sink Sink) error {
	log := s.opt.log()
	log.Info("csv_source_fetch_start", "path", s.c.Path)
	in, err := open(ctx, s.c.Path, s.c.SHA256, s.opt)
	if err != nil {
		return err
	}
	defer in.Close()
	var r io.Reader = in.r
	if recipe.NormEncoding(s.c.Encoding) == "latin-1" {
		r = &latin1Reader{r: bufio.NewReaderSize(in.r, 1<<16)}
	}
	// encoding/csv reads the header straight from br (a *bufio.Reader it
	// does not wrap again), so br then holds exactly the rows after it.
	br := bufio.NewReaderSize(r, 1<<16)
	cr := newCSVReader(br, rune(s.c.Delimiter[0]))

	var header []string
	for i := 0; i <= s.c.Header; i++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return dsErr("source %s is empty (no header row)", s.c.Path)
		}
		if err != nil {
			return s.readErr(err)
		}
		if i == s.c.Header {
			header = append([]string(nil), rec...)
		}
	}
	if len(header) > 0 {
		h := header[0]
		if len(h) >= 3 && h[:3] == "\ufeff" {
			header[0] = h[3:]
		}
	}
	idx, err := ColumnIndex(s.opt.Columns, header)
	if err != nil {
		return err
	}
	rows, err := s.fetchRows(ctx, br, cr, idx, sink)
	if err != nil {
		return err
	}
	if err := in.finish(s.c.SHA256); err != nil {
		return err
	}
	if rows == 0 {
		return dsErr("source %s has a header but no rows", s.c.Path)
	}
	log.Info("csv_source_fetch_done", "path", s.c.Path, "n_rows", rows, "bytes", in.raw.n, "compression", in.comp)
	return nil
}

func (s *csvSource) readErr(err error) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return dsErr("parse csv %s: line %d: %v", s.c.Path, pe.Line, pe.Err)
	}
	return classify(s.c.Path, err)
}

// latin1Reader transcodes ISO-8859-1 bytes to UTF-8.
type latin1Reader struct {
	r       *bufio.Reader
	pending []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.pending) > 0 {
			k := copy(p[n:], l.pending)
			l.pending = l.pending[k:]
			n += k
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < utf8.RuneSelf {
			p[n] = b
			n++
			continue
		}
		var buf [2]byte
		utf8.EncodeRune(buf[:], rune(b))
		l.pending = append(l.pending[:0], buf[:]...)
	}
	return n, nil
}
