package blobsrc

import (
	"compress/gzip"
	"io"
	"testing"
)

func gzipWrite(t *testing.T, w io.Writer, s string) {
	t.Helper()
	zw := gzip.NewWriter(w)
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}
