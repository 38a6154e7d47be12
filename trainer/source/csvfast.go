package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// The fast CSV path. A CSV text without any quote character is a sequence
// of lines: cut at '\n', one trailing '\r' dropped, empty lines skipped,
// fields cut at the delimiter — which is exactly what encoding/csv (with
// LazyQuotes and FieldsPerRecord -1, as the careful path runs it) makes of
// such text. So the rows after the header are read in large blocks cut at
// the last newline, and while a block has no quote character it is parsed
// by csvLines, on GOMAXPROCS goroutines when the sink is a ParallelSink,
// with no allocation per row. From the first block that has a quote on,
// the rest of the input goes through encoding/csv, in order (a quoted
// field may hold newlines, so lines are no longer records).
// Decompression stays sequential: it is the reader the blocks come from.

// csvBlock is the size of one block of the fast path.
const csvBlock = 1 << 20

// csvLines parses blocks of whole lines without quote characters.
type csvLines struct {
	comma byte
	idx   []int // wanted column → field index
	nf    int   // fields needed: max(idx) + 1
}

func newCSVLines(comma byte, idx []int) *csvLines {
	return &csvLines{comma: comma, idx: idx, nf: slices.Max(idx) + 1}
}

// feed sends data's rows to sink and returns how many it sent. data ends
// at a line end, or is the end of the input.
func (p *csvLines) feed(ctx context.Context, data []byte, sink Sink) (int, error) {
	vals := make([]Value, len(p.idx))
	var fieldsArr [16][]byte
	fields := fieldsArr[:]
	if p.nf > len(fields) {
		fields = make([][]byte, p.nf)
	}
	rows := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1] // "\r\n" is a line end, and so is a final "\r"
		}
		if len(line) == 0 {
			continue // encoding/csv skips empty lines
		}
		nf := 0
		for {
			i := bytes.IndexByte(line, p.comma)
			if i < 0 {
				fields[nf] = line
				nf++
				break
			}
			fields[nf] = line[:i]
			nf++
			if nf == p.nf {
				break
			}
			line = line[i+1:]
		}
		for k, j := range p.idx {
			if j < nf && !IsNullText(fields[j]) {
				vals[k] = Value{Kind: String, Str: fields[j]}
			} else {
				vals[k] = Value{Kind: Null}
			}
		}
		if err := sink.Row(vals); err != nil {
			return rows, err
		}
		rows++
		if rows&0xffff == 0 && ctx.Err() != nil {
			return rows, ctx.Err()
		}
	}
	return rows, nil
}

// newCSVReader is the careful path's reader: encoding/csv, lazy quotes,
// any number of fields per record.
func newCSVReader(r io.Reader, comma rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return cr
}

// careful sends cr's remaining records to sink (encoding/csv semantics).
func (s *csvSource) careful(ctx context.Context, cr *csv.Reader, idx []int, sink Sink) (int, error) {
	vals := make([]Value, len(idx))
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, s.readErr(err)
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
			b := stringBytes(rec[j])
			if IsNullText(b) {
				vals[i] = Value{Kind: Null}
			} else {
				vals[i] = Value{Kind: String, Str: b}
			}
		}
		if err := sink.Row(vals); err != nil {
			return rows, err
		}
		rows++
		if rows&0xffff == 0 && ctx.Err() != nil {
			return rows, ctx.Err()
		}
	}
}

// errReader returns err on every Read.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// fetchRows reads the data rows that follow the header in br (cr is the
// header's reader over br) and sends them to sink; it returns the count.
func (s *csvSource) fetchRows(ctx context.Context, br *bufio.Reader, cr *csv.Reader, idx []int, sink Sink) (int, error) {
	comma := cr.Comma
	if s.carefulOnly || comma >= 0x80 || len(idx) == 0 {
		// A delimiter byte ≥ 0x80 is a two-byte rune to encoding/csv.
		return s.careful(ctx, cr, idx, sink)
	}
	lines := newCSVLines(byte(comma), idx)
	ps, _ := sink.(ParallelSink)
	workers := runtime.GOMAXPROCS(0)
	if ps == nil {
		workers = 1
	}
	block := csvBlock
	if s.block > 0 {
		block = s.block
	}
	chunkSink := func(w, seq int) Sink {
		if ps != nil {
			return ps.Chunk(w, seq)
		}
		return sink
	}

	// The lowest failing chunk wins; chunks above it are skipped.
	var (
		total   atomic.Int64
		failMu  sync.Mutex
		failSeq = -1
		failErr error
		failed  atomic.Bool
	)
	run := func(w, seq int, data []byte) {
		failMu.Lock()
		skip := failSeq >= 0 && seq > failSeq
		failMu.Unlock()
		if skip {
			return
		}
		n, err := lines.feed(ctx, data, chunkSink(w, seq))
		total.Add(int64(n))
		if err != nil {
			failMu.Lock()
			if failSeq < 0 || seq < failSeq {
				failSeq, failErr = seq, err
			}
			failMu.Unlock()
			failed.Store(true)
		}
	}

	type job struct {
		seq       int
		data, buf []byte
	}
	var (
		jobs  chan job
		free  chan []byte
		nbuf  int
		wg    sync.WaitGroup
		spare []byte // the one buffer when workers == 1
	)
	if workers > 1 {
		jobs = make(chan job)
		free = make(chan []byte, workers+2)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					run(w, j.seq, j.data)
					free <- j.buf[:0]
				}
			}()
		}
	}
	getBuf := func() []byte {
		if workers == 1 {
			if spare == nil {
				spare = make([]byte, 0, block)
			}
			return spare[:0]
		}
		select {
		case b := <-free:
			return b
		default:
		}
		if nbuf < workers+2 {
			nbuf++
			return make([]byte, 0, block)
		}
		return <-free
	}
	stopped := false
	stop := func() error {
		if !stopped && workers > 1 {
			close(jobs)
			wg.Wait()
		}
		stopped = true
		failMu.Lock()
		defer failMu.Unlock()
		return failErr
	}
	defer stop()

	// fill reads into buf until it is full and holds a line end, or the
	// input ends or fails; a line longer than the block grows it.
	fill := func(buf []byte) ([]byte, error) {
		for {
			for len(buf) < cap(buf) {
				n, err := br.Read(buf[len(buf):cap(buf)])
				buf = buf[:len(buf)+n]
				if err != nil {
					return buf, err
				}
			}
			if bytes.LastIndexByte(buf, '\n') >= 0 {
				return buf, nil
			}
			buf = slices.Grow(buf, cap(buf))
		}
	}

	var carry []byte // the partial last line of the previous block
	for seq := 0; ; seq++ {
		if failed.Load() {
			return int(total.Load()), stop()
		}
		if err := ctx.Err(); err != nil {
			stop()
			return int(total.Load()), err
		}
		buf := append(getBuf(), carry...)
		buf, rerr := fill(buf)
		if workers == 1 {
			spare = buf // keep a grown block
		}
		end := len(buf)
		if rerr != io.EOF {
			end = bytes.LastIndexByte(buf, '\n') + 1
		}
		carry = append(carry[:0], buf[end:]...)
		data := buf[:end]
		if bytes.IndexByte(data, '"') >= 0 {
			// Quotes: the rest of the input goes through encoding/csv.
			if err := stop(); err != nil {
				return int(total.Load()), err
			}
			rest := []io.Reader{bytes.NewReader(data), bytes.NewReader(carry)}
			switch rerr {
			case nil:
				rest = append(rest, br)
			case io.EOF:
			default:
				rest = append(rest, errReader{rerr})
			}
			n, err := s.careful(ctx, newCSVReader(io.MultiReader(rest...), comma), idx, chunkSink(0, seq))
			return int(total.Load()) + n, err
		}
		if workers == 1 {
			run(0, seq, data)
		} else {
			jobs <- job{seq: seq, data: data, buf: buf}
		}
		if rerr != nil {
			if err := stop(); err != nil {
				return int(total.Load()), err
			}
			if rerr != io.EOF {
				// Like encoding/csv: the rows before the failure were
				// delivered, the partial last line is not.
				return int(total.Load()), s.readErr(rerr)
			}
			return int(total.Load()), nil
		}
	}
}
