package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/testenv"
)

func TestParse(t *testing.T) {
	f := func(uri string, want Location) {
		t.Helper()
		got, err := Parse(uri)
		if err != nil {
			t.Fatalf("Parse(%q): %v", uri, err)
		}
		if got != want {
			t.Fatalf("Parse(%q) = %+v, want %+v", uri, got, want)
		}
	}
	f("s3://bkt/a/b.csv", Location{Scheme: "s3", Bucket: "bkt", Key: "a/b.csv"})
	f("S3://bkt/x", Location{Scheme: "s3", Bucket: "bkt", Key: "x"})
	f("gs://proj@bkt/m.recotem", Location{Scheme: "gs", Bucket: "bkt", Key: "m.recotem"})
	f("az://ctr/d/m.recotem", Location{Scheme: "az", Bucket: "ctr", Key: "d/m.recotem"})
	f("az://ctr@acct/m", Location{Scheme: "az", Bucket: "ctr", Account: "acct", Key: "m"})
	f("abfss://ctr/p/m", Location{Scheme: "abfss", Bucket: "ctr", Key: "p/m"})
	f("az://ctr@acct.blob.core.windows.net/m", Location{Scheme: "az", Bucket: "ctr", Account: "acct", Key: "m"})
	f("file:///tmp/x/m.recotem", Location{Scheme: "file", Bucket: "/tmp/x", Key: "m.recotem"})
	f("file://localhost/tmp/m", Location{Scheme: "file", Bucket: "/tmp", Key: "m"})

	bad := func(uri string) {
		t.Helper()
		_, err := Parse(uri)
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Parse(%q) err = %v, want ErrUnsupported", uri, err)
		}
	}
	bad("s3://k:s@bkt/x")
	bad("abfs://u:p@ctr/x")
	bad("abfss://ctr@acct.dfs.core.windows.net/x")
	bad("s3://bkt")
	bad("s3://bkt/")
	bad("s3:///x")
	bad("https://h/x")
	bad("file://host/tmp/x")
	bad("file:///tmp/dir/")
}

func TestIsRemoteSibling(t *testing.T) {
	for p, want := range map[string]bool{"s3://b/k": true, "GS://b/k": true, "abfss://c@a/k": true, "file:///x": false, "/x/y": false, "https://h/x": false} {
		if IsRemote(p) != want {
			t.Fatalf("IsRemote(%q) = %v", p, !want)
		}
	}
	if got := Sibling("s3://b/d/m.recotem", "m.1234abcd.recotem"); got != "s3://b/d/m.1234abcd.recotem" {
		t.Fatalf("Sibling = %q", got)
	}
}

func TestMarker(t *testing.T) {
	ts := time.Unix(10, 5)
	a := Info{Size: 3, ModTime: ts}
	if a.Marker() == (Info{Size: 4, ModTime: ts}).Marker() || a.Marker() == (Info{Size: 3, ModTime: ts.Add(1)}).Marker() {
		t.Fatal("mtime/size marker ignores a change")
	}
	if (Info{ETag: `"x"`, Size: 3}).Marker() != (Info{ETag: `"x"`, Size: 9}).Marker() {
		t.Fatal("ETag marker should decide alone")
	}
	if (Info{ETag: `"x"`, VersionID: "1"}).Marker() == (Info{ETag: `"x"`, VersionID: "2"}).Marker() {
		t.Fatal("VersionId marker ignored")
	}
}

// exercise runs the store contract against one bucket prefix.
func exercise(t *testing.T, s *Store, base string) {
	ctx := context.Background()
	obj := base + "/data.csv"
	body := []byte("user,item\nu1,i1\nu2,i2\n")
	if err := s.Put(ctx, obj, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(body)) {
		t.Fatalf("size %d, want %d", info.Size, len(body))
	}
	got, _, err := s.ReadAll(ctx, obj, int64(len(body)))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if _, _, err := s.ReadAll(ctx, obj, int64(len(body))-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("cap-1 read err = %v, want ErrTooLarge", err)
	}
	if _, err := s.Stat(ctx, base+"/absent.csv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent stat err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Open(ctx, base+"/absent.csv", 10); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent open err = %v, want ErrNotFound", err)
	}

	// The marker changes when the object is rewritten with other bytes.
	time.Sleep(10 * time.Millisecond)
	if err := s.Put(ctx, obj, strings.NewReader("user,item\nu3,i3\n")); err != nil {
		t.Fatal(err)
	}
	info2, err := s.Stat(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	if info2.Marker() == info.Marker() {
		t.Fatalf("marker %q unchanged after rewrite", info.Marker())
	}

	// Pointer objects are followed; a dangling pointer names both.
	ptr := base + "/m.recotem"
	target := base + "/m.0123abcd.recotem"
	art := bytes.Repeat([]byte("A"), 600)
	if err := s.Put(ctx, target, bytes.NewReader(art)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, ptr, strings.NewReader("m.0123abcd.recotem\n")); err != nil {
		t.Fatal(err)
	}
	res, tinfo, isPtr, err := s.Resolve(ctx, ptr)
	if err != nil || !isPtr || res != target || tinfo.Size != int64(len(art)) {
		t.Fatalf("Resolve = %q %+v %v %v", res, tinfo, isPtr, err)
	}
	res, _, isPtr, err = s.Resolve(ctx, target)
	if err != nil || isPtr || res != target {
		t.Fatalf("Resolve(non-pointer) = %q %v %v", res, isPtr, err)
	}
	if err := s.Put(ctx, ptr, strings.NewReader("m.ffffffff.recotem\n")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = s.Resolve(ctx, ptr)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "m.ffffffff.recotem") || !strings.Contains(err.Error(), "m.recotem") {
		t.Fatalf("dangling pointer err = %v", err)
	}
}

func TestFileStore(t *testing.T) {
	s := NewStore()
	defer s.Close()
	dir := t.TempDir()
	exercise(t, s, "file://"+filepath.ToSlash(dir))
	if _, err := os.Stat(filepath.Join(dir, "m.0123abcd.recotem")); err != nil {
		t.Fatalf("file put did not land on disk: %v", err)
	}
	// No sidecar or temp files are left next to the objects.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".csv") && !strings.HasSuffix(e.Name(), ".recotem") {
			t.Fatalf("stray file %s", e.Name())
		}
	}
}

// S3Env points the AWS SDK at the versitygw of .ci/services/s3.sh and
// returns "s3://<bucket>/<unique prefix>"; it skips when that server is
// not running.
func s3Base(t testing.TB) string {
	t.Helper()
	ep := testenv.Getenv(t, testenv.S3, "RECOTEM_TEST_S3_ENDPOINT")
	t.Setenv("AWS_ENDPOINT_URL", ep)
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv("RECOTEM_TEST_S3_ACCESS_KEY"))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("RECOTEM_TEST_S3_SECRET_KEY"))
	t.Setenv("AWS_REGION", os.Getenv("RECOTEM_TEST_S3_REGION"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return fmt.Sprintf("s3://%s/%s-%d", os.Getenv("RECOTEM_TEST_S3_BUCKET"), t.Name(), time.Now().UnixNano())
}

func TestS3Store(t *testing.T) {
	base := s3Base(t)
	s := NewStore()
	defer s.Close()
	exercise(t, s, base)

	// A wrong key is a permission error, not a missing object.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	s2 := NewStore()
	defer s2.Close()
	_, err := s2.Stat(context.Background(), base+"/data.csv")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("wrong secret: err = %v", err)
	}
}

func TestS3Large(t *testing.T) {
	if testing.Short() {
		t.Skip("short: skips the 12 MiB multipart round trip")
	}
	base := s3Base(t)
	s := NewStore()
	defer s.Close()
	ctx := context.Background()
	body := bytes.Repeat([]byte("0123456789abcdef"), 12<<20/16)
	if err := s.Put(ctx, base+"/big", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	r, info, err := s.Open(ctx, base+"/big", int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) || info.Size != int64(len(body)) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
}

func testWriteArtifact(t *testing.T, s *Store, base string) {
	ctx := context.Background()
	out := base + "/news.recotem"
	body := []byte("not really an artifact but bytes all the same")
	res, err := s.WriteArtifact(ctx, out, "append_sha", func(w io.Writer) error { _, err := w.Write(body); return err })
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	want := base + "/news." + hex.EncodeToString(sum[:4]) + ".recotem"
	if res.Artifact != want || res.Pointer != out || res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("result %+v, want artifact %s", res, want)
	}
	ptr, _, err := s.ReadAll(ctx, out, 512)
	if err != nil || string(ptr) != "news."+hex.EncodeToString(sum[:4])+".recotem\n" {
		t.Fatalf("pointer %q %v", ptr, err)
	}
	got, _, err := s.ReadAll(ctx, want, 1<<20)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("sha object %q %v", got, err)
	}
	// always_overwrite writes only output.path.
	res, err = s.WriteArtifact(ctx, base+"/plain.recotem", "always_overwrite", func(w io.Writer) error { _, err := w.Write(body); return err })
	if err != nil || res.Artifact != base+"/plain.recotem" || res.Pointer != "" {
		t.Fatalf("always_overwrite: %+v %v", res, err)
	}
	// A failing encoder publishes nothing.
	_, err = s.WriteArtifact(ctx, base+"/fail.recotem", "append_sha", func(w io.Writer) error { return errors.New("boom") })
	if err == nil {
		t.Fatal("encoder failure not reported")
	}
	if _, err := s.Stat(ctx, base+"/fail.recotem"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pointer published after a failed encode: %v", err)
	}
}

func TestWriteArtifactFile(t *testing.T) {
	s := NewStore()
	defer s.Close()
	testWriteArtifact(t, s, "file://"+filepath.ToSlash(t.TempDir()))
}

func TestWriteArtifactS3(t *testing.T) {
	base := s3Base(t)
	s := NewStore()
	defer s.Close()
	testWriteArtifact(t, s, base)
}
