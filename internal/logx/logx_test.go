package logx

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

var fixed = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.FixedZone("X", 3600))

func newTest(format string, level slog.Level) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := NewHandler(&buf, Options{Format: format, Level: level, Now: func() time.Time { return fixed }})
	return slog.New(h), &buf
}

// line logs one record and returns it decoded.
func line(t *testing.T, log func(l *slog.Logger)) map[string]any {
	t.Helper()
	l, buf := newTest(FormatJSON, slog.LevelDebug)
	log(l)
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want exactly one line, got %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("line %q is not JSON: %v", out, err)
	}
	return m
}

func TestLineShape(t *testing.T) {
	l, buf := newTest(FormatJSON, slog.LevelInfo)
	l.Info("train_done", "n_rows", 42, "ok", true, "score", 0.5)
	got := buf.String()
	want := `{"event":"train_done","level":"info","timestamp":"2025-03-04T04:06:07.123456Z","logger":"recotem","n_rows":42,"ok":true,"score":0.5}` + "\n"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(got, `"event":"train_done"`) {
		t.Fatal("grep for the event must match")
	}
}

func TestLevels(t *testing.T) {
	f := func(lv slog.Level, want string) {
		t.Helper()
		m := line(t, func(l *slog.Logger) { l.Log(t.Context(), lv, "e") })
		if m["level"] != want {
			t.Fatalf("level %v rendered %v, want %s", lv, m["level"], want)
		}
	}
	f(slog.LevelDebug, "debug")
	f(slog.LevelInfo, "info")
	f(slog.LevelWarn, "warning")
	f(slog.LevelError, "error")
	f(slog.LevelError+4, "error")

	l, buf := newTest(FormatJSON, slog.LevelInfo)
	l.Debug("hidden", "api_key", "x")
	if buf.Len() != 0 {
		t.Fatalf("debug line written at info level: %q", buf.String())
	}
}

func TestKeyRules(t *testing.T) {
	f := func(key string, redacted bool) {
		t.Helper()
		if got := SensitiveKey(key); got != redacted {
			t.Fatalf("SensitiveKey(%q) = %v, want %v", key, got, redacted)
		}
		m := line(t, func(l *slog.Logger) { l.Info("e", key, "plain") })
		want := "plain"
		if redacted {
			want = Redacted
		}
		if m[key] != want {
			t.Fatalf("field %q logged %v, want %q", key, m[key], want)
		}
	}
	// exact names
	f("x-api-key", true)
	f("X-API-Key", true)
	f("Authorization", true)
	f("cookie", true)
	f("RECOTEM_SIGNING_KEY", true)
	f("recotem_signing_keys", true)
	f("RECOTEM_API_KEYS", true)
	// prefixes
	f("aws_region", true)
	f("GCP_project", true)
	f("google_application", true)
	f("azure_account", true)
	f("xaws_region", false)
	// substrings
	f("client_secret", true)
	f("db_password", true)
	f("passwd", true)
	f("refresh_token", true)
	f("oauth_state", true)
	f("bearer", true)
	f("credentials", true)
	f("private_blob", true)
	// "key" unless "keys" at a word end
	f("api_key", true)
	f("key", true)
	f("keyspace", true)
	f("keys_count", true)
	f("keys", false)
	f("n_keys", false)
	f("keys-loaded", false)
	f("signing_keys", false)
	// exemptions
	f("monkey", false)
	f("turkey", false)
	f("Donkey", false)
	f("hockey", false)
	f("jockey", false)
	f("auth_enabled", false)
	f("signing_key_status", false)
	f("signing_kids", false)
	f("kid", false)
	f("active_kid", false)
	f("fingerprint", false)
	f("fingerprints", false)
	// ordinary
	f("recipe", false)
	f("recipe_hash", false)
	f("n_rows", false)
}

func TestValueRules(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	b64 := "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-ABCDE" // 43
	f := func(in, want string) {
		t.Helper()
		if got := RedactString(in); got != want {
			t.Fatalf("RedactString(%q) = %q, want %q", in, got, want)
		}
		m := line(t, func(l *slog.Logger) { l.Info("e", "v", in) })
		if m["v"] != want {
			t.Fatalf("logged %q as %v, want %q", in, m["v"], want)
		}
	}
	f("", "")
	f("hello", "hello")
	f(hex64, RedactedHex64)
	f("sha256:"+hex64, "sha256:"+RedactedHex64)
	f(strings.ToUpper(hex64)+"ff", RedactedHex64)
	f(hex64[:63], RedactedB64URL43)                         // 63 hex chars are not HEX64 but are base64url
	f(hex64[:32]+"."+hex64[:32], hex64[:32]+"."+hex64[:32]) // runs are contiguous
	f(b64, RedactedB64URL43)
	f(b64[:42], b64[:42])
	f("key="+b64+" rest", "key="+RedactedB64URL43+" rest")
	f("postgresql://user:pw@db.internal:5432/app", "postgresql://***@db.internal:5432/app")
	f("postgres://u:p@h/x", "postgres://***@h/x")
	f("mysql+pymysql://u:p@h/x", "mysql+pymysql://***@h/x")
	f("mssql+pyodbc://u:p@h/x", "mssql+pyodbc://***@h/x")
	f("oracle+cx_oracle://u:p@h/x", "oracle+cx_oracle://***@h/x")
	f("mariadb://u:p@h", "mariadb://***@h")
	f("mongodb+srv://u:p@cluster/x", "mongodb+srv://***@cluster/x")
	f("redis://:p@h:6379/0", "redis://***@h:6379/0")
	f("rediss://u:p@h", "rediss://***@h")
	f("amqps://u:p@h/vhost", "amqps://***@h/vhost")
	f("https://u:p@example.com/a", "https://***@example.com/a")
	f("ftp://u:p@example.com/a", "ftp://***@example.com/a")
	f("ftps://u@example.com/a", "ftps://***@example.com/a")
	f("dial postgres://u:p@ss@h/x failed", "dial postgres://***@h/x failed")
	f("s3://ak:sk@bucket/x", "s3://***@bucket/x")           // any scheme with user:password
	f("gs://proj@bucket/x", "gs://proj@bucket/x")           // not a credential
	f("https://example.com/a@b", "https://example.com/a@b") // no userinfo
}

func TestRedactURL(t *testing.T) {
	if got := RedactURL("see http://a:b@h/x and https://c:d@h2"); got != "see http://***@h/x and https://***@h2" {
		t.Fatalf("RedactURL = %q", got)
	}
	if got := RedactURL("no url"); got != "no url" {
		t.Fatalf("RedactURL = %q", got)
	}
}

func TestRecipeHashRedacted(t *testing.T) {
	h := strings.Repeat("ab", 32)
	m := line(t, func(l *slog.Logger) { l.Info("model_loaded", "recipe_hash", h, "config_digest", "sha256:"+h) })
	if m["recipe_hash"] != RedactedHex64 || m["config_digest"] != "sha256:"+RedactedHex64 {
		t.Fatalf("hashes not redacted: %v", m)
	}
}

func TestBytes(t *testing.T) {
	type raw []byte
	m := line(t, func(l *slog.Logger) {
		l.Info("e", "b", []byte("secret bytes"), "n", raw{1, 2}, "arr", [32]byte{}, "rm", json.RawMessage(`{"a":1}`))
	})
	for k, want := range map[string]string{"b": "<bytes len=12>", "n": "<bytes len=2>", "arr": "<bytes len=32>"} {
		if m[k] != want {
			t.Fatalf("%s = %v, want %s", k, m[k], want)
		}
	}
	// json.RawMessage is JSON, not opaque bytes: it is walked and redacted.
	if rm, ok := m["rm"].(map[string]any); !ok || rm["a"] != float64(1) {
		t.Fatalf("rm = %v", m["rm"])
	}
}

func TestGroupsRecursive(t *testing.T) {
	hex := strings.Repeat("f", 64)
	m := line(t, func(l *slog.Logger) {
		l.With("api_key", "k1").WithGroup("req").With("token", "t", "path", "/x").Info("e",
			slog.Group("inner", "password", "p", "dsn", "mysql://u:p@h/db", "h", hex),
			slog.Group("credentials", "user", "u"),
			"n", 1)
	})
	if m["api_key"] != Redacted {
		t.Fatalf("With attr not redacted: %v", m)
	}
	req := m["req"].(map[string]any)
	if req["token"] != Redacted || req["path"] != "/x" || req["n"] != float64(1) {
		t.Fatalf("group attrs: %v", req)
	}
	inner := req["inner"].(map[string]any)
	if inner["password"] != Redacted || inner["dsn"] != "mysql://***@h/db" || inner["h"] != RedactedHex64 {
		t.Fatalf("nested group: %v", inner)
	}
	if req["credentials"] != Redacted {
		t.Fatalf("a sensitive group name must blank the whole group: %v", req["credentials"])
	}
}

func TestEmptyGroupsDropped(t *testing.T) {
	l, buf := newTest(FormatJSON, slog.LevelInfo)
	l.WithGroup("g").Info("e")
	l.Info("e2", slog.Group("empty"), slog.Group("", "inl", 1))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if strings.Contains(lines[0], `"g"`) {
		t.Fatalf("empty group rendered: %s", lines[0])
	}
	if strings.Contains(lines[1], "empty") || !strings.Contains(lines[1], `"inl":1`) {
		t.Fatalf("groups: %s", lines[1])
	}
}

type dsnConfig struct {
	Host     string            `json:"host"`
	Password string            `json:"password"`
	Extra    map[string]string `json:"extra"`
	Digest   [4]byte           `json:"digest"`
}

type stringer struct{}

func (stringer) String() string { return "redis://u:p@h" }

func TestAnyValuesWalked(t *testing.T) {
	m := line(t, func(l *slog.Logger) {
		l.Info("e",
			"cfg", dsnConfig{Host: "h", Password: "p", Extra: map[string]string{"aws_secret": "x", "ok": "y"}},
			"list", []string{"a", strings.Repeat("a", 64)},
			"err", errors.New("connect postgres://u:p@h/db: refused"),
			"s", stringer{},
			"nilptr", (*dsnConfig)(nil),
			"nan", 0.0/zero(),
			"dur", 1500*time.Millisecond,
		)
	})
	cfg := m["cfg"].(map[string]any)
	if cfg["password"] != Redacted || cfg["host"] != "h" {
		t.Fatalf("struct: %v", cfg)
	}
	if ex := cfg["extra"].(map[string]any); ex["aws_secret"] != Redacted || ex["ok"] != "y" {
		t.Fatalf("map in struct: %v", ex)
	}
	if l := m["list"].([]any); l[0] != "a" || l[1] != RedactedHex64 {
		t.Fatalf("list: %v", l)
	}
	if m["err"] != "connect postgres://***@h/db: refused" || m["s"] != "redis://***@h" {
		t.Fatalf("error/stringer: %v %v", m["err"], m["s"])
	}
	if m["nilptr"] != nil || m["nan"] != "NaN" || m["dur"] != "1.5s" {
		t.Fatalf("nil/nan/dur: %v %v %v", m["nilptr"], m["nan"], m["dur"])
	}
}

func zero() float64 { return 0 }

type panicky struct{}

func (panicky) LogValue() slog.Value { panic("boom " + strings.Repeat("a", 64)) }

type panickyJSON struct{}

func (panickyJSON) MarshalJSON() ([]byte, error) { panic("boom") }

func TestRedactionFailed(t *testing.T) {
	for _, v := range []any{panicky{}, panickyJSON{}} {
		m := line(t, func(l *slog.Logger) { l.Warn("artifact_loaded", "password", "hunter2", "v", v) })
		if m["event"] != "[redaction_failed]" || m["original_event"] != "artifact_loaded" || m["level"] != "warning" {
			t.Fatalf("redaction failure line: %v", m)
		}
		if _, ok := m["password"]; ok {
			t.Fatalf("fields leaked: %v", m)
		}
	}
}

func TestEventRedacted(t *testing.T) {
	m := line(t, func(l *slog.Logger) { l.Info("leak " + strings.Repeat("c", 64)) })
	if m["event"] != "leak "+RedactedHex64 {
		t.Fatalf("event = %v", m["event"])
	}
}

func TestJSONEscaping(t *testing.T) {
	m := line(t, func(l *slog.Logger) { l.Info("e", "s", "a\"b\\c\nd\x01\xff<>&\u2028") })
	if m["s"] != "a\"b\\c\nd\x01\ufffd<>&\u2028" {
		t.Fatalf("escaping: %q", m["s"])
	}
}

func TestConsole(t *testing.T) {
	l, buf := newTest(FormatConsole, slog.LevelInfo)
	l.With("api_key", "k").Warn("serve_listening", "host", "127.0.0.1", "port", 8080, slog.Group("g", "msg", "two words"))
	got := buf.String()
	want := "2025-03-04T04:06:07.123456Z [warning  ] serve_listening  api_key=[REDACTED] host=127.0.0.1 port=8080 g.msg=\"two words\"\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestAutoIsJSONOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, FormatAuto, slog.LevelInfo).Info("e")
	if !strings.HasPrefix(buf.String(), `{"event":"e"`) {
		t.Fatalf("auto on a buffer must be JSON: %q", buf.String())
	}
}

func TestValidFormat(t *testing.T) {
	for s, want := range map[string]bool{"auto": true, "json": true, "console": true, "JSON": false, "": false, "text": false} {
		if ValidFormat(s) != want {
			t.Fatalf("ValidFormat(%q) != %v", s, want)
		}
	}
}

func TestSafeKid(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := SafeKid(in); got != want {
			t.Fatalf("SafeKid(%q) = %q, want %q", in, got, want)
		}
	}
	f("", "<empty>")
	f("prod-2025_a.b:c", "prod-2025_a.b:c")
	f("a b", `a\x20b`)
	f("\x00\xff\n", `\x00\xff\x0a`)
	f("é", `\xc3\xa9`)
	f(strings.Repeat("k", 64), strings.Repeat("k", 64))
	f(strings.Repeat("k", 65), strings.Repeat("k", 64)+"...")
}

var (
	hexRun = regexp.MustCompile(`[0-9A-Fa-f]{64}`)
	b64Run = regexp.MustCompile(`[A-Za-z0-9_-]{43}`)
)

func FuzzRedactString(f *testing.F) {
	f.Add("postgres://u:p@h/x " + strings.Repeat("a", 70))
	f.Add(strings.Repeat("Ab0_-", 10))
	f.Add("https://x:y@z@w/" + strings.Repeat("9", 64))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactString(s)
		if hexRun.MatchString(out) || b64Run.MatchString(out) {
			t.Fatalf("RedactString(%q) = %q keeps a long run", s, out)
		}
		if again := RedactString(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", s, out, again)
		}
		// A whole line with the value must stay valid JSON.
		var buf bytes.Buffer
		New(&buf, FormatJSON, slog.LevelInfo).Info(s, "v", s, s, s)
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("line %q invalid: %v", buf.String(), err)
		}
	})
}

// BenchmarkHandle measures one redacted JSON line with five fields.
// go test -run ^$ -bench Handle -benchtime 20000x ./internal/logx
func BenchmarkHandle(b *testing.B) {
	var buf bytes.Buffer
	l := New(&buf, FormatJSON, slog.LevelInfo).With("recipe", "movielens")
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		l.Info("request_done", "request_id", "0123456789ab", "status", 200, "latency_ms", 1.25, "api_key", "x", "path", "/v1/recipes/movielens:recommend")
	}
	b.ReportMetric(float64(buf.Len()), "B/line")
}
