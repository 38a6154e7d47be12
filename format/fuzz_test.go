package format_test

import (
	"bytes"
	"testing"

	"github.com/recotem/recotem/format"
)

// FuzzParse feeds arbitrary bytes to every reader entry point. It must never
// panic; every error must be a §4 error; anything accepted must be fully
// readable through the typed accessors without a fault.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 10m -parallel 1 ./format
//
// Seeds come from code below and from testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(small(f, testKey))
	f.Add(small(f, devKey))
	f.Add(tinyPayload(f, devKey))
	f.Add(seal(devKey.Secret, "dev", `{"a":1}`, []byte("xyz")))
	f.Add(seal(devKey.Secret, "dev", `{"payload":{"layout_version":1,"alignment":4096,"sections":[]}}`, nil))
	f.Add(seal(devKey.Secret, "dev", `{"payload":{"layout_version":2,"alignment":4096,"sections":[]}}`, nil))
	f.Add(seal(devKey.Secret, "dev", `[]`, nil))
	f.Add([]byte("RECOTEM\x00"))
	f.Add([]byte{})
	f.Fuzz(fuzzParse)
}

var fuzzLimits = format.Limits{MaxArtifactBytes: 1 << 20, MaxPayloadBytes: 1 << 20}

func fuzzParse(t *testing.T, data []byte) {
	if len(data) > 1<<20 {
		return
	}
	devRing := format.DevKeyRing()
	ring, _ := format.NewKeyRing(testKey)
	lim := fuzzLimits
	{
		for _, r := range []*format.KeyRing{ring, devRing, nil} {
			c, err := format.Parse(data, r, lim)
			if err != nil {
				checkSpecError(t, err, "Parse")
			} else {
				if int(c.PayloadOffset) > len(data) || !bytes.Equal(c.Payload(), data[c.PayloadOffset:]) {
					t.Fatalf("payload offset %d of %d", c.PayloadOffset, len(data))
				}
				// Round trip: resealing what was parsed gives a container that
				// parses to the same kid, header and payload.
				again, err := format.Parse(seal(devKey.Secret, c.Kid, string(c.Header.Raw), c.Payload()), nil, lim)
				if err != nil || again.Kid != c.Kid || !bytes.Equal(again.Header.Raw, c.Header.Raw) {
					t.Fatalf("reseal: %v", err)
				}
			}
			buf := append(make([]byte, 0, len(data)), data...) // 8-aligned copy
			a, err := format.OpenBytes(buf, r, lim)
			if err != nil {
				checkSpecError(t, err, "OpenBytes")
				continue
			}
			readAll(t, a)
		}
	}
}

// readAll touches every element of every section through its accessor.
func readAll(t *testing.T, a *format.Artifact) {
	t.Helper()
	var sink float64
	for _, s := range a.Sections() {
		switch s.DType {
		case format.F32:
			v, _, err := a.F32(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				sink += float64(x)
			}
		case format.F64:
			v, _, err := a.F64(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				sink += x
			}
		case format.I32:
			v, _, err := a.I32(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				sink += float64(x)
			}
		case format.I64:
			v, _, err := a.I64(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				sink += float64(x)
			}
		case format.I8:
			v, _, err := a.I8(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				sink += float64(x)
			}
		case format.U8:
			v, err := a.Bytes(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				sink += float64(x)
			}
		}
		if g, ok := cutSuffix(s.Name, ".off"); ok {
			st, err := a.Strings(g)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < st.Len(); i++ {
				id := st.At(i)
				if j, ok := st.Find(id); !ok || j != i {
					t.Fatalf("string table %q: Find(At(%d)) = %d, %v", g, i, j, ok)
				}
			}
		}
	}
	_ = sink
}

func cutSuffix(s, suf string) (string, bool) {
	if len(s) >= len(suf) && s[len(s)-len(suf):] == suf {
		return s[:len(s)-len(suf)], true
	}
	return "", false
}
