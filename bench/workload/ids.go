package workload

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/recotem/recotem/internal/jsonstr"
)

// IDs is an immutable table of ids (user ids or item ids), each stored once
// as a JSON string literal so request bodies are built by copying bytes.
type IDs struct {
	quoted []byte
	off    []uint32 // len n+1
}

// StringTable is what an id table read from an artifact offers
// (format.StringTable satisfies it).
type StringTable interface {
	Len() int
	At(i int) []byte
}

// NewIDs copies ids into a table. Empty ids are skipped.
func NewIDs(ids [][]byte) (*IDs, error) {
	x := &IDs{off: make([]uint32, 1, len(ids)+1)}
	for _, id := range ids {
		if err := x.add(id); err != nil {
			return nil, err
		}
	}
	return x.done()
}

// IDsFromTable copies every id of t (for example an artifact's "user_ids"
// section), so t's backing memory may be released afterwards.
func IDsFromTable(t StringTable) (*IDs, error) {
	n := t.Len()
	x := &IDs{off: make([]uint32, 1, n+1)}
	for i := 0; i < n; i++ {
		if err := x.add(t.At(i)); err != nil {
			return nil, err
		}
	}
	return x.done()
}

// NumericIDs is the table "lo", "lo+1", …, "hi" (MovieLens-style ids).
func NumericIDs(lo, hi int) (*IDs, error) {
	if hi < lo {
		return nil, fmt.Errorf("%w: numeric range %d..%d", ErrNoIDs, lo, hi)
	}
	x := &IDs{off: make([]uint32, 1, hi-lo+2)}
	var b []byte
	for v := lo; v <= hi; v++ {
		b = strconv.AppendInt(b[:0], int64(v), 10)
		if err := x.add(b); err != nil {
			return nil, err
		}
	}
	return x.done()
}

// ReadIDs reads one id per line; surrounding blanks and a trailing CR are
// dropped, blank lines skipped.
func ReadIDs(r io.Reader) (*IDs, error) {
	x := &IDs{off: make([]uint32, 1, 1024)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if err := x.add(bytes.TrimSpace(sc.Bytes())); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ids: %w", err)
	}
	return x.done()
}

// ReadIDsFile is ReadIDs of the named file.
func ReadIDsFile(path string) (*IDs, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := ReadIDs(f)
	if err != nil {
		return nil, fmt.Errorf("ids file %q: %w", path, err)
	}
	return x, nil
}

func (x *IDs) add(id []byte) error {
	if len(id) == 0 {
		return nil
	}
	x.quoted = jsonstr.Append(x.quoted, id)
	if len(x.quoted) > math.MaxUint32 {
		return configErr("id table larger than 4 GiB")
	}
	x.off = append(x.off, uint32(len(x.quoted)))
	return nil
}

func (x *IDs) done() (*IDs, error) {
	if x.Len() == 0 {
		return nil, ErrNoIDs
	}
	return x, nil
}

// Len is the number of ids.
func (x *IDs) Len() int { return len(x.off) - 1 }

// Quoted is id i as a JSON string literal, quotes included. The slice
// aliases the table: do not modify it.
func (x *IDs) Quoted(i int) []byte { return x.quoted[x.off[i]:x.off[i+1]] }
