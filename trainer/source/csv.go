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

// nullText are the cell spellings read as null (pandas' default na_values).
var nullText = map[string]bool{
	"": true, "#N/A": true, "#N/A N/A": true, "#NA": true, "-1.#IND": true, "-1.#QNAN": true,
	"-NaN": true, "-nan": true, "1.#IND": true, "1.#QNAN": true, "<NA>": true, "N/A": true,
	"NA": true, "NULL": true, "NaN": true, "None": true, "n/a": true, "nan": true, "null": true,
}

// IsNullText reports whether a CSV cell reads as null.
func IsNullText(b []byte) bool { return len(b) == 0 || (len(b) <= 8 && nullText[string(b)]) }

type csvSource struct {
	c   *recipe.CSVSource
	opt Options
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
	cr := csv.NewReader(r)
	cr.Comma = rune(s.c.Delimiter[0])
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true

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
	vals := make([]Value, len(idx))
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.readErr(err)
		}
		if len(rec) == 1 && rec[0] == "" && len(idx) > 1 {
			continue // blank line
		}
		for i, j := range idx {
			if j >= len(rec) {
				vals[i] = Value{Kind: Null}
				continue
			}
			// A read-only view of the record's string: valid until the next
			// Read, which is after Row returns (the Value contract).
			b := unsafe.Slice(unsafe.StringData(rec[j]), len(rec[j]))
			if IsNullText(b) {
				vals[i] = Value{Kind: Null}
			} else {
				vals[i] = Value{Kind: String, Str: b}
			}
		}
		if err := sink.Row(vals); err != nil {
			return err
		}
		rows++
		if rows&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
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
