package format_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/recotem/recotem/format"
)

// TestFlipEveryByte flips each byte of a one-section artifact in turn (two
// masks): with the signing key every flip is rejected with a §4 error;
// without a key (development, unsigned) no flip may panic, and the ones
// that are caught are still §4 errors.
func TestFlipEveryByte(t *testing.T) {
	good := tinyPayload(t, testKey)
	ring := testRing(t)
	if _, err := format.OpenBytes(append([]byte(nil), good...), ring, format.Limits{}); err != nil {
		t.Fatalf("the untampered artifact must open: %v", err)
	}
	stages := map[string]int{}
	buf := make([]byte, len(good))
	for i := range good {
		for _, mask := range []byte{0x01, 0x80} {
			copy(buf, good)
			buf[i] ^= mask
			_, err := format.Parse(buf, ring, format.Limits{})
			if err == nil {
				t.Fatalf("flip of byte %d (mask %#x) accepted by Parse", i, mask)
			}
			checkSpecError(t, err, "Parse")
			_, err = format.OpenBytes(buf, ring, format.Limits{})
			if err == nil {
				t.Fatalf("flip of byte %d (mask %#x) accepted by OpenBytes", i, mask)
			}
			checkSpecError(t, err, "OpenBytes")
			stages[format.Stage(err)]++
			// Unsigned: payload validation is the only defence.
			if a, err := format.OpenBytes(buf, nil, format.Limits{}); err != nil {
				checkSpecError(t, err, "OpenBytes unsigned")
			} else {
				readAll(t, a)
			}
		}
	}
	if stages["hmac"] == 0 || stages["parse"] == 0 {
		t.Fatalf("flips should hit both structure and HMAC checks: %v", stages)
	}
	t.Logf("rejections by stage: %v", stages)
}

// TestFlipEveryByteUnsigned flips each byte of an artifact with a string
// table, a CSR group and a padded matrix and opens it without a key, so
// that only the payload validation stands between the bytes and the views.
func TestFlipEveryByteUnsigned(t *testing.T) {
	good := small(t, devKey)
	buf := make([]byte, len(good))
	caught := 0
	for i := range good {
		if testing.Short() && good[i] == 0 && i%61 != 0 {
			continue // -short: sample the zero padding
		}
		copy(buf, good)
		buf[i] ^= 0x41
		a, err := format.OpenBytes(buf, nil, format.Limits{})
		if err != nil {
			checkSpecError(t, err, "OpenBytes unsigned")
			caught++
			continue
		}
		readAll(t, a)
	}
	if caught == 0 {
		t.Fatal("no flip was caught by structure or layout validation")
	}
}

// TestTruncateEveryOffset cuts a small artifact at every length below its
// size: always an error, never a panic, with or without a key.
func TestTruncateEveryOffset(t *testing.T) {
	good := small(t, testKey)
	if testing.Short() {
		good = tinyPayload(t, testKey)
	}
	ring := testRing(t)
	for n := 0; n < len(good); n++ {
		cut := append([]byte(nil), good[:n]...)
		for _, r := range []*format.KeyRing{ring, nil} {
			a, err := format.OpenBytes(cut, r, format.Limits{})
			if err == nil {
				readAll(t, a)
				t.Fatalf("truncation to %d bytes accepted (ring %v)", n, r != nil)
			}
			checkSpecError(t, err, "OpenBytes")
		}
		if _, err := format.Parse(cut, ring, format.Limits{}); err == nil {
			t.Fatalf("truncation to %d bytes accepted by Parse", n)
		}
	}
}

// TestTamperedFilesOpen runs the mapped path (Open) over a sample of
// tampered files, including ones shorter than the smallest container.
func TestTamperedFilesOpen(t *testing.T) {
	good := small(t, testKey)
	dir := t.TempDir()
	ring := testRing(t)
	cases := map[string][]byte{
		"empty":      {},
		"magic-only": []byte("RECOTEM\x00"),
		"short":      good[:format.MinSize-1],
		"header-cut": good[:60],
		"last-byte":  append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^1),
		"one-extra":  append(append([]byte(nil), good...), 0),
	}
	for name, data := range cases {
		p := filepath.Join(dir, name+".recotem")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := format.Open(p, ring, format.Limits{})
		if err == nil {
			a.Close()
			t.Fatalf("%s: accepted", name)
		}
		checkSpecError(t, err, name)
	}
}
