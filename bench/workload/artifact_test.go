package workload

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/recotem/recotem/format"
)

func writeTestArtifact(t *testing.T, key format.Key, users, items []string) string {
	t.Helper()
	b := format.NewBuilder()
	if users != nil {
		b.Strings("user_ids", users)
	}
	if items != nil {
		b.Strings("item_ids", items)
	}
	var buf bytes.Buffer
	if err := format.Encode(&buf, key, map[string]any{"recipe": "bench-test"}, b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bench-test.recotem")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestArtifactIDs(t *testing.T) {
	key := format.Key{ID: "k1", Secret: bytes.Repeat([]byte{0xaa}, 32)}
	ring, err := format.NewKeyRing(key)
	if err != nil {
		t.Fatal(err)
	}
	path := writeTestArtifact(t, key, []string{"u\"0", "u1", "u2"}, []string{"i1", "i2"})
	users, items, err := ArtifactIDs(path, ring, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if users.Len() != 3 || items.Len() != 2 || string(users.Quoted(0)) != `"u\"0"` || string(items.Quoted(0)) != `"i1"` {
		t.Fatalf("users %d items %d", users.Len(), items.Len())
	}

	// Only items (e.g. a popularity model): users come back nil.
	path = writeTestArtifact(t, key, nil, []string{"i1"})
	if users, items, err = ArtifactIDs(path, ring, format.Limits{}); err != nil || users != nil || items.Len() != 1 {
		t.Fatalf("items-only artifact: %v %v %v", users, items, err)
	}

	// Neither table.
	path = writeTestArtifact(t, key, nil, nil)
	if _, _, err = ArtifactIDs(path, ring, format.Limits{}); !errors.Is(err, ErrNoIDs) {
		t.Fatalf("no tables: %v", err)
	}

	// Signed with another key: the HMAC check refuses it.
	other := format.Key{ID: "k1", Secret: bytes.Repeat([]byte{0xbb}, 32)}
	path = writeTestArtifact(t, other, []string{"u"}, nil)
	if _, _, err = ArtifactIDs(path, ring, format.Limits{}); !errors.Is(err, format.ErrSignature) {
		t.Fatalf("wrong key: %v", err)
	}
}
