// Package logtest owns the test helpers the source packages share: a
// logger that records JSON lines, a fake environment lookup and a row
// renderer.
package logtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/recotem/recotem/trainer/source"
)

// LogBuf collects JSON log lines; safe for concurrent writers.
type LogBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

// Events returns the decoded lines whose msg is event.
func (l *LogBuf) Events(t testing.TB, event string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == event {
			out = append(out, m)
		}
	}
	return out
}

// String is everything logged so far.
func (l *LogBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// New returns a JSON logger writing into a new LogBuf.
func New() (*slog.Logger, *LogBuf) {
	lb := &LogBuf{}
	return slog.New(slog.NewJSONHandler(lb, nil)), lb
}

// Env builds a lookup function from key, value pairs.
func Env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Render writes one fetched row as text with kinds, e.g. "S:u1 I:10 T:…",
// so tests can compare rows as strings.
func Render(v []source.Value) string {
	var parts []string
	for _, x := range v {
		switch x.Kind {
		case source.Null:
			parts = append(parts, "N")
		case source.String:
			parts = append(parts, "S:"+string(x.Str))
		case source.Int:
			parts = append(parts, fmt.Sprintf("I:%d", x.Int))
		case source.Float:
			parts = append(parts, fmt.Sprintf("F:%g", x.Float))
		case source.Time:
			parts = append(parts, fmt.Sprintf("T:%d", x.Int))
		case source.Bool:
			parts = append(parts, fmt.Sprintf("B:%d", x.Int))
		}
	}
	return strings.Join(parts, " ")
}
