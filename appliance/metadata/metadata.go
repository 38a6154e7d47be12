package metadata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/fetch"
	"github.com/recotem/recotem/internal/jsonstr"
)

// Spec is a recipe's item_metadata block.
type Spec struct {
	Type           string   // "csv" or "parquet"
	Path           string   // local path (file:// accepted)
	Fields         []string // non-empty
	SHA256         string   // optional lowercase hex of the file
	OnFieldMissing string   // "error" (default) or "null"
	ItemIDColumn   string   // default "item_id"
}

// Options are the serve-wide settings of a load.
type Options struct {
	Deny     []string     // column names dropped, case-insensitive
	MaxBytes int64        // raw source cap; 0 → 256 MiB
	Logger   *slog.Logger // nil → discard
	// HTTP fetches http(s) sources (address guard, timeout, redirects, cap,
	// sha256 pin, metadata_source_* events); nil refuses them.
	HTTP *fetch.Fetcher
	// Blobs reads s3/gs/az/abfs(s) sources (size probe, cap); nil refuses them.
	Blobs *blob.Store
}

// Sentinel errors; Load wraps them with detail.
var (
	ErrSource       = errors.New("metadata source unreadable")
	ErrTooLarge     = errors.New("metadata source exceeds max bytes")
	ErrSHA256       = errors.New("metadata sha256 mismatch")
	ErrFieldMissing = errors.New("metadata field missing")
	ErrIDColumn     = errors.New("metadata item_id_column missing")
	ErrSpec         = errors.New("metadata spec invalid")
)

// cell is one value: kind 0 null, 1 string, 2 number, 3 bool, 4 raw bytes
// (unserialisable as JSON text).
type cell struct {
	kind byte
	s    string
	f    float64
	b    bool
}

// Table maps item ids to pre-serialised JSON fragments.
type Table struct {
	frags    map[string][]byte
	degraded map[string]bool
	Fields   []string // the fields kept, in output order
}

// Fragment returns the `"k":v,` pairs of id (nil when the id has no row)
// and whether its metadata could not be serialised (then the item is sent
// bare and counted as degraded).
func (t *Table) Fragment(id []byte) ([]byte, bool) {
	if t.degraded[string(id)] {
		return nil, true
	}
	return t.frags[string(id)], false
}

// Len is the number of items with metadata.
func (t *Table) Len() int { return len(t.frags) + len(t.degraded) }

// Load reads spec's source and builds the table; ctx bounds the fetch of a
// remote source.
func Load(ctx context.Context, spec Spec, opt Options) (*Table, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 256 << 20
	}
	idCol := spec.ItemIDColumn
	if idCol == "" {
		idCol = "item_id"
	}
	if strings.TrimSpace(idCol) == "" || len(spec.Fields) == 0 {
		return nil, fmt.Errorf("%w: fields must be non-empty and item_id_column non-blank", ErrSpec)
	}
	var data []byte
	var err error
	switch {
	case strings.HasPrefix(spec.Path, "http://") || strings.HasPrefix(spec.Path, "https://"):
		if opt.HTTP == nil {
			return nil, fmt.Errorf("%w: http(s) sources are not enabled", ErrSource)
		}
		fe := *opt.HTTP
		fe.Prefix = "metadata_source"
		fe.MaxBytes = opt.MaxBytes
		if fe.Logger == nil {
			fe.Logger = log
		}
		var buf bytes.Buffer
		if _, err := fe.Fetch(ctx, spec.Path, strings.ToLower(spec.SHA256), &buf); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSource, err)
		}
		data = buf.Bytes()
	case blob.IsRemote(spec.Path):
		if opt.Blobs == nil {
			return nil, fmt.Errorf("%w: object-store sources are not enabled", ErrSource)
		}
		data, _, err = opt.Blobs.ReadAll(ctx, spec.Path, opt.MaxBytes)
		switch {
		case errors.Is(err, blob.ErrTooLarge):
			return nil, ErrTooLarge
		case err != nil:
			return nil, fmt.Errorf("%w: %v", ErrSource, err)
		}
	case strings.Contains(strings.TrimPrefix(spec.Path, "file://"), "://"):
		return nil, fmt.Errorf("%w: unsupported metadata path scheme", ErrSource)
	default:
		path := strings.TrimPrefix(spec.Path, "file://")
		if data, err = readCapped(path, opt.MaxBytes); err != nil {
			return nil, err
		}
	}
	if spec.SHA256 != "" {
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != strings.ToLower(spec.SHA256) {
			return nil, ErrSHA256
		}
	}
	var cols []string
	var rows [][]cell
	switch spec.Type {
	case "csv", "":
		cols, rows, err = readCSV(data)
	case "parquet":
		cols, rows, err = readParquet(data)
	default:
		return nil, fmt.Errorf("%w: unknown type %q", ErrSpec, spec.Type)
	}
	if err != nil {
		return nil, err
	}
	colIdx := map[string]int{}
	for i, c := range cols {
		if _, dup := colIdx[c]; !dup {
			colIdx[c] = i
		}
	}
	idI, ok := colIdx[idCol]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrIDColumn, idCol)
	}
	deny := map[string]bool{}
	for _, d := range opt.Deny {
		deny[strings.ToLower(strings.TrimSpace(d))] = true
	}
	type outField struct {
		name string
		col  int // -1: filled with null
	}
	var fields []outField
	var kept []string
	for _, f := range spec.Fields {
		if deny[strings.ToLower(f)] || f == "item_id" || f == "score" {
			continue // never shadow item_id/score; deny list applied at load
		}
		ci, ok := colIdx[f]
		if !ok {
			if spec.OnFieldMissing != "null" {
				return nil, fmt.Errorf("%w: %q", ErrFieldMissing, f)
			}
			log.Warn("metadata_field_missing_filled_null", "path", spec.Path, "field", f)
			ci = -1
		}
		fields = append(fields, outField{f, ci})
		kept = append(kept, f)
	}
	t := &Table{frags: map[string][]byte{}, degraded: map[string]bool{}, Fields: kept}
	nullIDs, dups := 0, 0
	for _, r := range rows {
		id := r[idI]
		var key string
		switch id.kind {
		case 1:
			key = id.s
		case 2:
			key = strconv.FormatFloat(id.f, 'f', -1, 64)
		case 3:
			key = strconv.FormatBool(id.b)
		case 4:
			key = id.s
		}
		if id.kind == 0 || strings.TrimSpace(key) == "" {
			nullIDs++
			continue
		}
		if _, ok := t.frags[key]; ok || t.degraded[key] {
			dups++
			continue
		}
		var b []byte
		bad := false
		for _, f := range fields {
			b = jsonstr.Append(b, f.name)
			b = append(b, ':')
			if f.col < 0 {
				b = append(b, "null"...)
			} else {
				var okv bool
				b, okv = appendCell(b, r[f.col])
				bad = bad || !okv
			}
			b = append(b, ',')
		}
		if bad {
			t.degraded[key] = true
			continue
		}
		t.frags[key] = b
	}
	if nullIDs > 0 {
		log.Warn("metadata_null_item_ids_dropped", "path", spec.Path, "count", nullIDs)
	}
	if dups > 0 {
		log.Warn("metadata_duplicate_item_ids_dropped", "path", spec.Path, "count", dups)
	}
	log.Info("metadata_loaded", "path", spec.Path, "n_items", t.Len(), "fields", kept, "item_id_column", idCol)
	return t, nil
}

func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		return nil, ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	if int64(len(data)) > max {
		return nil, ErrTooLarge
	}
	return data, nil
}

func readCSV(data []byte) ([]string, [][]cell, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: csv header: %v", ErrSource, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	var rows [][]cell
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: csv: %v", ErrSource, err)
		}
		row := make([]cell, len(header))
		for i := range header {
			if i < len(rec) && rec[i] != "" {
				row[i] = cell{kind: 1, s: rec[i]}
			}
		}
		rows = append(rows, row)
	}
	return header, rows, nil
}

func readParquet(data []byte) ([]string, [][]cell, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: parquet: %v", ErrSource, err)
	}
	paths := f.Schema().Columns()
	cols := make([]string, len(paths))
	for i, p := range paths {
		cols[i] = strings.Join(p, ".")
	}
	var rows [][]cell
	buf := make([]parquet.Row, 256)
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		for {
			n, err := rr.ReadRows(buf)
			for _, pr := range buf[:n] {
				row := make([]cell, len(cols))
				for _, v := range pr {
					c := v.Column()
					if c < 0 || c >= len(cols) || v.IsNull() {
						continue
					}
					row[c] = parquetCell(v)
				}
				rows = append(rows, row)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rr.Close()
				return nil, nil, fmt.Errorf("%w: parquet: %v", ErrSource, err)
			}
		}
		rr.Close()
	}
	return cols, rows, nil
}

func parquetCell(v parquet.Value) cell {
	switch v.Kind() {
	case parquet.Boolean:
		return cell{kind: 3, b: v.Boolean()}
	case parquet.Int32:
		return cell{kind: 2, f: float64(v.Int32())}
	case parquet.Int64:
		return cell{kind: 2, f: float64(v.Int64())}
	case parquet.Float:
		return numCell(float64(v.Float()))
	case parquet.Double:
		return numCell(v.Double())
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		if utf8.Valid(b) {
			return cell{kind: 1, s: string(b)}
		}
		return cell{kind: 4, s: string(b)}
	}
	return cell{}
}

func numCell(f float64) cell {
	if math.IsNaN(f) {
		return cell{}
	}
	return cell{kind: 2, f: f}
}

// appendCell writes c as JSON; ok=false when it cannot be represented
// (invalid UTF-8 text, raw bytes, infinities).
func appendCell(b []byte, c cell) ([]byte, bool) {
	switch c.kind {
	case 0:
		return append(b, "null"...), true
	case 1:
		if !utf8.ValidString(c.s) {
			return b, false
		}
		return jsonstr.Append(b, c.s), true
	case 2:
		if math.IsInf(c.f, 0) {
			return b, false
		}
		if c.f == math.Trunc(c.f) && math.Abs(c.f) < 1e15 {
			return strconv.AppendInt(b, int64(c.f), 10), true
		}
		return strconv.AppendFloat(b, c.f, 'g', -1, 64), true
	case 3:
		return strconv.AppendBool(b, c.b), true
	}
	return b, false
}
