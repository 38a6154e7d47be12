package store_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/recotem/recotem/appliance/internal/servetest"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
	"github.com/recotem/recotem/internal/testenv"
)

// TestRemoteSilentStore: against a store that never answers, a marker
// fails within its timeout and a fetch ends when its context does.
func TestRemoteSilentStore(t *testing.T) {
	servetest.SilentS3(t)
	s, _ := newStore(t)
	start := time.Now()
	if _, err := s.Marker(t.Context(), "s3://bkt/m.recotem", 300*time.Millisecond); err == nil {
		t.Fatal("a silent store answered")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := s.Fetch(ctx, "s3://bkt/m.recotem"); err == nil {
		t.Fatal("a silent store answered")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	if open, _ := s.State(); !open {
		t.Fatal("no blob store opened")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if open, closes := s.State(); open || closes != 1 {
		t.Fatalf("after Close: open %v, closes %d", open, closes)
	}
}

// TestRemoteDownloadOncePerChange (S3 server of .ci/services/s3.sh): the
// marker is the pointer's; SHA downloads the resolved object once and
// keeps it for Fetch; a second SHA of the same object downloads nothing;
// the kid comes from the kept head; a missing object is format.ErrNotFound.
func TestRemoteDownloadOncePerChange(t *testing.T) {
	ep := testenv.Getenv(t, testenv.S3, "RECOTEM_TEST_S3_ENDPOINT")
	servetest.FakeAWS(t, ep, os.Getenv("RECOTEM_TEST_S3_ACCESS_KEY"), os.Getenv("RECOTEM_TEST_S3_SECRET_KEY"))
	out := fmt.Sprintf("s3://%s/store-%d/m.recotem", os.Getenv("RECOTEM_TEST_S3_BUCKET"), time.Now().UnixNano())
	bs := blob.NewStore()
	defer bs.Close()
	fields, b := servetest.DefaultModel().Build(t)
	res, err := bs.WriteArtifact(t.Context(), out, "append_sha", func(w io.Writer) error { return format.Encode(w, key, fields, b) })
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newStore(t)
	m1, err := s.Marker(t.Context(), out, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m2, _ := s.Marker(t.Context(), out, 5*time.Second); m2 != m1 {
		t.Fatal("an unchanged pointer changed its marker")
	}
	served := false
	sum, err := s.SHA(t.Context(), out, func([32]byte) bool { return served })
	if err != nil || hex.EncodeToString(sum[:]) != res.SHA256 {
		t.Fatalf("SHA %x (%v), want %s", sum, err, res.SHA256)
	}
	if again, err := s.SHA(t.Context(), out, nil); err != nil || again != sum {
		t.Fatalf("second SHA %x (%v)", again, err)
	}
	if kid := s.Kid(t.Context(), out); kid != "k1" {
		t.Fatalf("kid %q", kid)
	}
	file, target, err := s.Fetch(t.Context(), out)
	if err != nil || target != res.Artifact {
		t.Fatalf("Fetch %q %q %v", file, target, err)
	}
	defer os.Remove(file)
	if art, err := format.Open(file, nil, format.Limits{}); err != nil || hex.EncodeToString(art.SHA256[:]) != res.SHA256 {
		t.Fatalf("fetched file: %v", err)
	} else {
		art.Close()
	}
	if _, _, err := s.Fetch(t.Context(), out+".absent"); err == nil {
		t.Fatal("a missing object fetched")
	}
}
