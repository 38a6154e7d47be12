package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/recotem/recotem/internal/recipe"
)

type parquetSource struct {
	p   *recipe.ParquetSource
	opt Options
}

func newParquet(r *recipe.Recipe, opt Options) (Source, error) {
	if r.Source.Parquet == nil {
		return nil, dsErr("recipe source is not parquet")
	}
	return &parquetSource{p: r.Source.Parquet, opt: opt}, nil
}

func (s *parquetSource) Probe(ctx context.Context) error { return probe(ctx, s.p.Path, s.opt) }

// colReader decodes one leaf column into Values, page by page.
type colReader struct {
	pages  parquet.Pages
	values parquet.ValueReader
	page   parquet.Page
	buf    []parquet.Value
	pos, n int
	conv   func(parquet.Value, *Value)
}

func (c *colReader) next(v *Value) error {
	for c.pos >= c.n {
		if c.values != nil {
			n, err := c.values.ReadValues(c.buf)
			if n > 0 {
				c.pos, c.n = 0, n
				break
			}
			if err != nil && err != io.EOF {
				return err
			}
			parquet.Release(c.page)
			c.values, c.page = nil, nil
			continue
		}
		p, err := c.pages.ReadPage()
		if err != nil {
			return err // io.EOF at the end of the chunk
		}
		c.page, c.values = p, p.Values()
	}
	c.conv(c.buf[c.pos], v)
	c.pos++
	return nil
}

func converter(n parquet.Node) func(parquet.Value, *Value) {
	var unit time.Duration
	date := false
	if lt := n.Type().LogicalType(); lt != nil {
		switch t := lt.Value.(type) {
		case *format.TimestampType:
			unit = t.Unit.Value.Duration()
		case *format.DateType:
			date = true
		}
	}
	return func(pv parquet.Value, v *Value) {
		if pv.IsNull() {
			*v = Value{Kind: Null}
			return
		}
		switch pv.Kind() {
		case parquet.Boolean:
			*v = Value{Kind: Bool}
			if pv.Boolean() {
				v.Int = 1
			}
		case parquet.Int32:
			if date {
				*v = Value{Kind: Time, Int: int64(pv.Int32()) * int64(24*time.Hour)}
			} else {
				*v = Value{Kind: Int, Int: int64(pv.Int32())}
			}
		case parquet.Int64:
			if unit > 0 {
				*v = Value{Kind: Time, Int: pv.Int64() * int64(unit)}
			} else {
				*v = Value{Kind: Int, Int: pv.Int64()}
			}
		case parquet.Float:
			*v = Value{Kind: Float, Float: float64(pv.Float())}
		case parquet.Double:
			*v = Value{Kind: Float, Float: pv.Double()}
		default:
			*v = Value{Kind: String, Str: pv.ByteArray()}
		}
	}
}

func (s *parquetSource) Fetch(ctx context.Context, sink Sink) error {
	log := s.opt.log()
	log.Info("parquet_source_fetch_start", "path", s.p.Path)
	in, err := open(ctx, s.p.Path, s.p.SHA256, s.opt)
	if err != nil {
		return err
	}
	defer in.Close()
	var ra io.ReaderAt
	var size int64
	if in.file != nil && in.comp == CompNone && s.p.SHA256 == nil {
		ra, size = in.file, in.size
	} else {
		data, err := io.ReadAll(in.r)
		if err != nil {
			return classify(s.p.Path, err)
		}
		if err := in.finish(s.p.SHA256); err != nil {
			return err
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	f, err := parquet.OpenFile(ra, size)
	if err != nil {
		return dsErr("parse parquet %s: %v", s.p.Path, err)
	}
	var have []string
	for _, c := range f.Schema().Columns() {
		if len(c) == 1 {
			have = append(have, c[0])
		}
	}
	leaves := make([]parquet.LeafColumn, len(s.opt.Columns))
	for i, name := range s.opt.Columns {
		lc, ok := f.Schema().Lookup(name)
		if !ok {
			return missingColumn(name, have)
		}
		if lc.MaxRepetitionLevel > 0 {
			return dsErr("parquet %s: column %q is repeated", s.p.Path, name)
		}
		leaves[i] = lc
	}
	vals := make([]Value, len(leaves))
	rows := 0
	for _, rg := range f.RowGroups() {
		chunks := rg.ColumnChunks()
		readers := make([]*colReader, len(leaves))
		for i, lc := range leaves {
			readers[i] = &colReader{pages: chunks[lc.ColumnIndex].Pages(), buf: make([]parquet.Value, 1024), conv: converter(lc.Node)}
		}
		for r := int64(0); r < rg.NumRows(); r++ {
			for i, cr := range readers {
				if err := cr.next(&vals[i]); err != nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					return dsErr("read parquet %s: %v", s.p.Path, err)
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
		for _, cr := range readers {
			cr.pages.Close()
		}
	}
	if rows == 0 {
		return dsErr("source %s has no rows", s.p.Path)
	}
	log.Info("parquet_source_fetch_done", "path", s.p.Path, "n_rows", rows, "bytes", in.raw.n)
	return nil
}
