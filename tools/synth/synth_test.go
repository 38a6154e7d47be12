package synth

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	c := Config{Users: 50, Items: 30, Rows: 500, Exponent: 1.2, Seed: 3}
	var a, b bytes.Buffer
	if n, err := Write(&a, c); err != nil || n != 500 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	Write(&b, c)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("not deterministic for a seed")
	}
	lines := strings.Split(strings.TrimSpace(a.String()), "\n")
	if len(lines) != 501 || lines[0] != "user_id,item_id,timestamp" {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	// Power law: the most frequent item is far above the mean.
	counts := map[string]int{}
	for _, l := range lines[1:] {
		counts[strings.Split(l, ",")[1]]++
	}
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	if top < 3*500/30 {
		t.Errorf("top item has %d of 500 rows; not heavy-tailed", top)
	}
	c.Gzip = true
	var z bytes.Buffer
	Write(&z, c)
	zr, err := gzip.NewReader(&z)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, a.Bytes()) {
		t.Error("gzip output differs from plain")
	}
	if _, err := Write(io.Discard, Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("zero config: %v", err)
	}
}
