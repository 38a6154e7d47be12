package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/testenv"
)

// gcsBase points the storage client at the fake-gcs-server of
// .ci/services/gcs.sh through STORAGE_EMULATOR_HOST and returns
// "gs://<bucket>/<unique prefix>"; it skips when that emulator is not
// running.
func gcsBase(t testing.TB) string {
	t.Helper()
	ep := testenv.Getenv(t, testenv.GCS, "RECOTEM_TEST_GCS_ENDPOINT")
	t.Setenv("STORAGE_EMULATOR_HOST", ep)
	t.Setenv("STORAGE_EMULATOR_HOST_GRPC", "")
	return fmt.Sprintf("gs://%s/%s-%d", os.Getenv("RECOTEM_TEST_GCS_BUCKET"), t.Name(), time.Now().UnixNano())
}

func TestGCSStore(t *testing.T) {
	base := gcsBase(t)
	s := NewStore()
	defer s.Close()
	exercise(t, s, base)

	// The marker is the object generation, which every rewrite bumps.
	info, err := s.Stat(context.Background(), base+"/data.csv")
	if err != nil {
		t.Fatal(err)
	}
	if info.VersionID == "" || !strings.HasPrefix(info.Marker(), "v:") {
		t.Fatalf("GCS stat carries no generation: %+v", info)
	}

	// gs://project@bucket names the same bucket.
	qualified := strings.Replace(base, "gs://", "gs://some-project@", 1)
	got, _, err := s.ReadAll(context.Background(), qualified+"/data.csv", 1<<10)
	if err != nil || !bytes.HasPrefix(got, []byte("user,item\n")) {
		t.Fatalf("gs://project@bucket read = %q, %v", got, err)
	}

	// A bucket that does not exist is a missing object, not a crash.
	_, err = s.Stat(context.Background(), "gs://recotem-no-such-bucket/x.csv")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent bucket err = %v, want ErrNotFound", err)
	}
}

func TestWriteArtifactGCS(t *testing.T) {
	base := gcsBase(t)
	s := NewStore()
	defer s.Close()
	testWriteArtifact(t, s, base)
	testWriteOrder(t, s, base)
}

func TestGCSLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short: skips the 12 MiB resumable-upload round trip")
	}
	base := gcsBase(t)
	s := NewStore()
	defer s.Close()
	roundTripLarge(t, s, base)
}

// roundTripLarge puts 12 MiB (more than one upload chunk for every driver)
// and reads it back whole under an exact cap.
func roundTripLarge(t *testing.T, s *Store, base string) {
	t.Helper()
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
		t.Fatalf("round trip: %d bytes (stat %d), %v", len(got), info.Size, err)
	}
}

// testWriteOrder checks the append_sha publication order from a reader's
// side: a poller that watches the pointer while WriteArtifact runs must
// find, every time it sees the new pointer, that the sha object it names is
// already there and whole. Writing the pointer first would let the poller
// see it while the (large, slow) sha object is still missing.
func testWriteOrder(t *testing.T, s *Store, base string) {
	t.Helper()
	ctx := context.Background()
	out := base + "/order.recotem"
	// A stale pointer to an older artifact is in place before the write.
	if err := s.Put(ctx, base+"/order.00000000.recotem", strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, out, strings.NewReader("order.00000000.recotem\n")); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("recotem-order-check\n"), 3<<20/20)
	done := make(chan struct{})
	var (
		wg      sync.WaitGroup
		sawNew  int
		pollErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			ptr, _, err := s.ReadAll(ctx, out, 512)
			if err != nil {
				pollErr = fmt.Errorf("pointer read during write: %w", err)
				return
			}
			name := strings.TrimSpace(string(ptr))
			if name == "order.00000000.recotem" {
				continue
			}
			sawNew++
			info, err := s.Stat(ctx, Sibling(out, name))
			if err != nil {
				pollErr = fmt.Errorf("pointer names %s before it exists: %w", name, err)
				return
			}
			if info.Size != int64(len(body)) {
				pollErr = fmt.Errorf("pointer names %s while it holds %d of %d bytes", name, info.Size, len(body))
				return
			}
		}
	}()
	res, err := s.WriteArtifact(ctx, out, "append_sha", func(w io.Writer) error { _, err := w.Write(body); return err })
	// Let the poller observe the published pointer at least once.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ptr, _, rerr := s.ReadAll(ctx, out, 512)
		if rerr == nil && strings.TrimSpace(string(ptr)) != "order.00000000.recotem" {
			time.Sleep(50 * time.Millisecond)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	if sawNew == 0 {
		t.Fatalf("poller never saw the new pointer to %s", res.Artifact)
	}
	target, info, isPtr, err := s.Resolve(ctx, out)
	if err != nil || !isPtr || target != res.Artifact || info.Size != int64(len(body)) {
		t.Fatalf("Resolve after write = %q %+v %v %v, want %s", target, info, isPtr, err, res.Artifact)
	}
}
