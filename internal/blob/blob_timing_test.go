package blob

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// BenchmarkS3 measures put, stat and capped get of one object against the
// S3 server of .ci/services/s3.sh (skips without it):
//
//	go test -run '^$' -bench S3 -benchtime 20x ./internal/blob/
func BenchmarkS3(b *testing.B) {
	base := s3Base(b)
	ctx := context.Background()
	for _, size := range []int{4 << 10, 16 << 20} {
		body := bytes.Repeat([]byte{0xa5}, size)
		s := NewStore()
		uri := base + "/bench"
		name := "4KiB"
		if size > 1<<20 {
			name = "16MiB"
		}
		b.Run("put/"+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := s.Put(ctx, uri, bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("stat/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Stat(ctx, uri); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("get/"+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				r, _, err := s.Open(ctx, uri, int64(size))
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				r.Close()
				if err != nil || n != int64(size) {
					b.Fatalf("%d %v", n, err)
				}
			}
		})
		s.Close()
	}
}
