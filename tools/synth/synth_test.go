package synth

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// TestClusters: with latent groups most of a user's rows fall in the user's
// group, so that the data has structure a collaborative model can learn.
func TestClusters(t *testing.T) {
	c := Config{Users: 200, Items: 100, Rows: 20000, Seed: 5, Clusters: 10, Affinity: 0.9}
	var b bytes.Buffer
	if _, err := Write(&b, c); err != nil {
		t.Fatal(err)
	}
	in := 0
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")[1:]
	for _, l := range lines {
		var u, i, ts int
		if _, err := fmt.Sscanf(l, "u%d,i%d,%d", &u, &i, &ts); err != nil {
			t.Fatal(l, err)
		}
		if u%10 == i%10 {
			in++
		}
	}
	// 0.9 in-group plus 1/10 of the rest by chance: about 0.91.
	if frac := float64(in) / float64(len(lines)); frac < 0.88 || frac > 0.94 {
		t.Errorf("in-group fraction %.3f, want ≈ 0.91", frac)
	}
	// Clusters 0 is the generator as it was before groups existed: the
	// digest of this output then (same seed, same config).
	var plain bytes.Buffer
	Write(&plain, Config{Users: 50, Items: 30, Rows: 500, Exponent: 1.2, Seed: 3})
	if sum := sha256.Sum256(plain.Bytes()); hex.EncodeToString(sum[:]) != "9a49b1d0fb44cc9ad616d9ecc8fc8d9e47ff145d7595bc0257c2487c1660cee0" {
		t.Error("Clusters 0 changed the plain generator's output")
	}
	for _, bad := range []Config{{Users: 5, Items: 5, Clusters: 6}, {Users: 5, Items: 5, Clusters: 2, Affinity: 1.5}} {
		if _, err := Write(io.Discard, bad); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestUserExponent: a smaller user exponent thins the most active user's
// share; UserExponent equal to Exponent is the generator without it.
func TestUserExponent(t *testing.T) {
	topUser := func(c Config) (int, []byte) {
		var b bytes.Buffer
		if _, err := Write(&b, c); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n")[1:] {
			counts[strings.Split(l, ",")[0]]++
		}
		top := 0
		for _, n := range counts {
			top = max(top, n)
		}
		return top, b.Bytes()
	}
	base := Config{Users: 10000, Items: 500, Rows: 50000, Exponent: 1, Seed: 9}
	heavy, plain := topUser(base)
	same := base
	same.UserExponent = 1
	if _, out := topUser(same); !bytes.Equal(out, plain) {
		t.Error("UserExponent = Exponent changed the output")
	}
	flat := base
	flat.UserExponent = 0.5
	light, _ := topUser(flat)
	// Exponent 1 over 10^4 users: top share 1/H(10^4) ≈ 10%; 0.5: ≈ 0.5%.
	if heavy < 4000 || light > 500 {
		t.Errorf("top user rows: exponent 1 %d (want > 4000), user exponent 0.5 %d (want < 500)", heavy, light)
	}
	if _, err := Write(io.Discard, Config{Users: 5, Items: 5, UserExponent: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("negative user exponent: %v", err)
	}
}
