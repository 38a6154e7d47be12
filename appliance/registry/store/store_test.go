package store_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/appliance/internal/servetest"
	"github.com/recotem/recotem/appliance/registry/store"
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/logx"
)

func newStore(t *testing.T) (*store.Store, *servetest.Logs) {
	logs := &servetest.Logs{}
	s := store.New(format.Limits{}, time.Second, logx.New(logs, "json", slog.LevelDebug))
	t.Cleanup(func() { s.Close() })
	return s, logs
}

var key = format.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}

// TestLocalMarker: the marker of a pointer changes when its target is
// rewritten in place, even with the target's mtime put back and the
// pointer untouched; an unchanged tree keeps its marker.
func TestLocalMarker(t *testing.T) {
	s, _ := newStore(t)
	dir := t.TempDir()
	ptr := filepath.Join(dir, "m.recotem")
	servetest.WriteArtifact(t, ptr, "append_sha", key, "m", servetest.DefaultModel())
	m1, err := s.Marker(t.Context(), ptr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m2, _ := s.Marker(t.Context(), ptr, time.Second); m2 != m1 {
		t.Fatal("an unchanged pointer changed its marker")
	}
	b, _ := os.ReadFile(ptr)
	target := filepath.Join(dir, strings.TrimSpace(string(b)))
	st, _ := os.Stat(target)
	data, _ := os.ReadFile(target)
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(target, data, 0o644)
	os.Chtimes(target, st.ModTime(), st.ModTime())
	if m3, _ := s.Marker(t.Context(), ptr, time.Second); m3 == m1 {
		t.Fatal("a target rewritten in place kept the marker")
	}
	os.Remove(target)
	if m4, err := s.Marker(t.Context(), ptr, time.Second); err != nil || m4 == m1 {
		t.Fatalf("a dangling pointer: %v", err)
	}
	if _, err := s.Marker(t.Context(), filepath.Join(dir, "absent"), time.Second); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("absent: %v", err)
	}
	if y, err := store.StatMarker(ptr); err != nil || y == (store.Marker{}) {
		t.Fatalf("StatMarker: %v", err)
	}
	if _, err := store.StatMarker(filepath.Join(dir, "absent")); err == nil {
		t.Fatal("StatMarker of an absent file")
	}
}

// TestLocalSHAAndKid: the sha256 of a pointer is its target's; the kid is
// read from the first bytes, even with a bad magic, and "<unknown>" with
// its reason logged when it cannot be.
func TestLocalSHAAndKid(t *testing.T) {
	s, logs := newStore(t)
	dir := t.TempDir()
	ptr := filepath.Join(dir, "m.recotem")
	v := servetest.WriteArtifact(t, ptr, "append_sha", key, "m", servetest.DefaultModel())
	sum, err := s.SHA(t.Context(), ptr, nil)
	if err != nil || "sha256:"+hex.EncodeToString(sum[:]) != v {
		t.Fatalf("SHA %x (%v), want %s", sum, err, v)
	}
	if _, err := s.SHA(t.Context(), filepath.Join(dir, "absent"), nil); err == nil {
		t.Fatal("SHA of an absent file")
	}
	if kid := s.Kid(t.Context(), ptr); kid != "k1" {
		t.Fatalf("kid %q", kid)
	}
	b, _ := os.ReadFile(ptr)
	target := filepath.Join(dir, strings.TrimSpace(string(b)))
	data, _ := os.ReadFile(target)
	bad := append([]byte("XXXXXXXX"), data[8:]...)
	os.WriteFile(target, bad, 0o644)
	if kid := s.Kid(t.Context(), ptr); kid != "k1" {
		t.Fatalf("kid with a bad magic %q", kid)
	}
	for reason, content := range map[string][]byte{
		"too_short":            []byte("RECOTEM"),
		"kid_len_out_of_range": append(append([]byte(nil), data[:12]...), 0, 'x'),
		"truncated":            append(append([]byte(nil), data[:12]...), 9, 'x'),
	} {
		p := filepath.Join(dir, reason)
		os.WriteFile(p, content, 0o644)
		if kid := s.Kid(t.Context(), p); kid != "<unknown>" || !strings.Contains(logs.String(), `"reason":"`+reason+`"`) {
			t.Errorf("%s: kid %q", reason, kid)
		}
	}
	if kid := s.Kid(t.Context(), filepath.Join(dir, "absent")); kid != "<unknown>" {
		t.Fatalf("absent: %q", kid)
	}
	if got := store.ErrClass(fs.ErrPermission); got != "PermissionError" || store.ErrClass(errors.New("x")) != "OSError" {
		t.Fatal("ErrClass")
	}
}
