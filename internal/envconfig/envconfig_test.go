package envconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
)

func env(kv ...string) Lookup {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, cmd string, kv ...string) (*Config, []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	c, err := Load(env(kv...), Options{Command: cmd, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatalf("Load(%v): %v", kv, err)
	}
	var events []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatal(err)
		}
		events = append(events, m)
	}
	return c, events
}

func TestDefaults(t *testing.T) {
	c, ev := load(t, "", "TMPDIR", "/var/tmp")
	if len(ev) != 0 {
		t.Fatalf("events on defaults: %v", ev)
	}
	want := Config{
		Host: "127.0.0.1", Port: 8080, WatchInterval: 5 * time.Second, LogFormat: "auto",
		MaxArtifactBytes: 2 * GiB, MaxPayloadBytes: 512 * MiB, MaxDownloadBytes: 256 * MiB,
		HTTPTimeout: 30 * time.Second, MaxSQLRows: 50_000_000,
		AllowedHosts: []string{"127.0.0.1", "localhost"}, Drain: 30 * time.Second,
		LockDir: "/var/tmp/recotem-locks", ResultCacheBytes: 32 * MiB, ArtifactLoad: "auto",
	}
	got := *c
	got.lookup = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if r, err := c.KeyRing(); r != nil || err != nil {
		t.Fatalf("KeyRing unset = %v, %v", r, err)
	}
	if c.Parallelism(3) != 3 || c.Parallelism(20) != 8 || c.Parallelism(0) != 1 {
		t.Fatal("Parallelism default is min(n, 8), at least 1")
	}
	if lim := c.Limits(); lim.MaxArtifactBytes != 2*GiB || lim.MaxPayloadBytes != 512*MiB {
		t.Fatalf("Limits = %+v", lim)
	}
}

func TestIntegers(t *testing.T) {
	f := func(name, raw string, get func(*Config) int64, want int64, event string) {
		t.Helper()
		c, ev := load(t, CmdTrain, name, raw)
		if got := get(c); got != want {
			t.Fatalf("%s=%q → %d, want %d", name, raw, got, want)
		}
		if event == "" {
			if len(ev) != 0 {
				t.Fatalf("%s=%q: unexpected events %v", name, raw, ev)
			}
			return
		}
		if len(ev) != 1 || ev[0]["msg"] != event || ev[0]["name"] != name {
			t.Fatalf("%s=%q: events %v, want one %s", name, raw, ev, event)
		}
	}
	art := func(c *Config) int64 { return c.MaxArtifactBytes }
	f(MaxArtifactBytes, "1048576", art, MiB, "")
	f(MaxArtifactBytes, " 4GiB ", art, 4*GiB, "")
	f(MaxArtifactBytes, "3mib", art, 3*MiB, "")
	f(MaxArtifactBytes, "", art, 2*GiB, "")
	f(MaxArtifactBytes, "lots", art, 2*GiB, "env_var_unparseable")
	f(MaxArtifactBytes, "1.5GiB", art, 2*GiB, "env_var_unparseable")
	f(MaxArtifactBytes, "99999999999999GiB", art, 2*GiB, "env_var_unparseable")
	f(MaxArtifactBytes, "10", art, MiB, "env_var_clamped")
	f(MaxArtifactBytes, "-5", art, MiB, "env_var_clamped")
	f(MaxArtifactBytes, "17GiB", art, 16*GiB, "env_var_clamped")
	f(MaxDownloadBytes, "2048", func(c *Config) int64 { return c.MaxDownloadBytes }, MiB, "env_var_clamped")
	rows := func(c *Config) int64 { return c.MaxSQLRows }
	f(MaxSQLRows, "5000", rows, 5000, "")
	f(MaxSQLRows, "1", rows, 1000, "env_var_clamped")
	f(MaxSQLRows, "1000000000", rows, 500_000_000, "env_var_clamped")
	f(MaxSQLRows, "1MiB", rows, 50_000_000, "env_var_unparseable") // counts take no size suffix
	to := func(c *Config) int64 { return int64(c.HTTPTimeout / time.Second) }
	f(HTTPTimeoutSeconds, "601", to, 600, "env_var_clamped")
	f(HTTPTimeoutSeconds, "0", to, 1, "env_var_clamped")
	f(HTTPTimeoutSeconds, "12", to, 12, "")
	dr := func(c *Config) int64 { return int64(c.Drain / time.Second) }
	f(DrainSeconds, "301", dr, 300, "env_var_clamped")
	f(DrainSeconds, "x", dr, 30, "env_var_unparseable")
	rc := func(c *Config) int64 { return c.ResultCacheBytes }
	f(ResultCacheBytes, "0", rc, 0, "")
	f(ResultCacheBytes, "1MiB", rc, MiB, "")
	f(ResultCacheBytes, "-1", rc, 0, "env_var_clamped")
	f(ResultCacheBytes, "17GiB", rc, 16*GiB, "env_var_clamped")
	f(ResultCacheBytes, "lots", rc, 32*MiB, "env_var_unparseable")
	sp := func(c *Config) int64 { return int64(c.StartupParallelism) }
	f(StartupParallelism, "0", sp, 1, "env_var_clamped")
	f(StartupParallelism, "33", sp, 32, "env_var_clamped")
	f(StartupParallelism, "4", sp, 4, "")

	_, ev := load(t, CmdTrain, MaxArtifactBytes, "10")
	if ev[0]["requested"] != float64(10) || ev[0]["clamped"] != float64(MiB) || ev[0]["lo"] != float64(MiB) || ev[0]["hi"] != float64(16*GiB) {
		t.Fatalf("env_var_clamped fields: %v", ev[0])
	}
	_, ev = load(t, CmdTrain, MaxSQLRows, "many")
	if ev[0]["raw"] != "many" || ev[0]["fallback"] != float64(50_000_000) {
		t.Fatalf("env_var_unparseable fields: %v", ev[0])
	}
}

func TestWatchIntervalSilentClamp(t *testing.T) {
	f := func(raw string, want time.Duration) {
		t.Helper()
		c, ev := load(t, CmdServe, WatchInterval, raw)
		if c.WatchInterval != want || len(ev) != 0 {
			t.Fatalf("%q → %v (events %v), want %v silently", raw, c.WatchInterval, ev, want)
		}
	}
	f("0.2", time.Second)
	f("100", 30*time.Second)
	f("2.5", 2500*time.Millisecond)
	f("+Inf", 30*time.Second)
}

func TestBoolsListsEnv(t *testing.T) {
	for _, s := range []string{"1", "true", "TRUE", " yes ", "On"} {
		if !Truthy(s) {
			t.Fatalf("Truthy(%q) = false", s)
		}
	}
	for _, s := range []string{"", "0", "false", "no", "off", "y", "2"} {
		if Truthy(s) {
			t.Fatalf("Truthy(%q) = true", s)
		}
	}
	c, _ := load(t, CmdServe,
		HTTPAllowPrivate, "yes", SQLAllowPrivate, "0", MetricsEnabled, "on", BQRequireStorageAPI, "TRUE",
		AllowedHosts, " a.example , ,b ", AllowedOrigins, "https://x.example",
		MetadataFieldDeny, "Title, GENRE", Env, " Development ", ArtifactRoot, "/srv/a", LockDir, "/run/locks",
		Host, "0.0.0.0", Port, "9090")
	if !c.HTTPAllowPrivate || c.SQLAllowPrivate || !c.MetricsEnabled || !c.BQRequireStorageAPI {
		t.Fatalf("bools: %+v", c)
	}
	if !reflect.DeepEqual(c.AllowedHosts, []string{"a.example", "b"}) || !reflect.DeepEqual(c.AllowedOrigins, []string{"https://x.example"}) {
		t.Fatalf("lists: %v %v", c.AllowedHosts, c.AllowedOrigins)
	}
	if !reflect.DeepEqual(c.MetadataFieldDeny, []string{"title", "genre"}) {
		t.Fatalf("deny: %v", c.MetadataFieldDeny)
	}
	if c.Env != "development" || !c.DevAllowed() || !c.InsecureAllowed() || c.BannerInterval() != 300*time.Second {
		t.Fatalf("env: %q", c.Env)
	}
	if c.ArtifactRoot != "/srv/a" || c.LockDir != "/run/locks" || c.Host != "0.0.0.0" || c.Port != 9090 {
		t.Fatalf("strings: %+v", c)
	}
	c, _ = load(t, CmdServe, AllowedHosts, " , ", Env, "test")
	if !reflect.DeepEqual(c.AllowedHosts, []string{"127.0.0.1", "localhost"}) {
		t.Fatalf("empty list must be the default: %v", c.AllowedHosts)
	}
	if c.DevAllowed() || !c.InsecureAllowed() || c.BannerInterval() != 60*time.Second {
		t.Fatal("RECOTEM_ENV=test")
	}
	c, _ = load(t, CmdServe, Env, "production")
	if c.DevAllowed() || c.InsecureAllowed() {
		t.Fatal("RECOTEM_ENV=production allows nothing unsafe")
	}
}

func TestRecipeVarAndPlaintext(t *testing.T) {
	c, _ := load(t, CmdTrain, "RECOTEM_RECIPE_X", "v", "HOME", "/root", APIPlaintext, " pt ")
	if v, ok := c.RecipeVar("RECOTEM_RECIPE_X"); !ok || v != "v" {
		t.Fatalf("RecipeVar = %q %v", v, ok)
	}
	if _, ok := c.RecipeVar("HOME"); ok {
		t.Fatal("RecipeVar must only read RECOTEM_RECIPE_*")
	}
	if c.APIPlaintext() != "pt" {
		t.Fatalf("APIPlaintext = %q", c.APIPlaintext())
	}
}

func TestExternal(t *testing.T) {
	c, _ := load(t, CmdTrain, "RECOTEM_RECIPE_DSN", "sqlite:///x", "GOOGLE_CLOUD_PROJECT", "p1", "MYSQL_USER", "u",
		SQLAllowPrivate, "1", SigningKeys, "k:"+keyHex)
	for name, want := range map[string]string{"RECOTEM_RECIPE_DSN": "sqlite:///x", "GOOGLE_CLOUD_PROJECT": "p1", "MYSQL_USER": "u"} {
		if v, ok := c.External(name); !ok || v != want {
			t.Fatalf("External(%s) = %q %v", name, v, ok)
		}
	}
	// Settings and secrets are only Load's typed fields.
	for _, name := range []string{SQLAllowPrivate, SigningKeys, "RECOTEM_UNKNOWN", "GCLOUD_PROJECT"} {
		if v, ok := c.External(name); ok {
			t.Fatalf("External(%s) = %q, want nothing", name, v)
		}
	}
	if v, ok := (&Config{}).External("HOME"); ok {
		t.Fatalf("zero Config: %q", v)
	}
}

// The source settings train and validate pass down (trainer/source.Options):
// defaults, clamps and events are Load's, the sources no longer read them.
func TestSourceSettings(t *testing.T) {
	to := func(c *Config) int64 { return int64(c.HTTPTimeout / time.Second) }
	rows := func(c *Config) int64 { return c.MaxSQLRows }
	f := func(name, raw string, get func(*Config) int64, want int64, event string) {
		t.Helper()
		c, ev := load(t, CmdTrain, name, raw)
		if got := get(c); got != want {
			t.Fatalf("%s=%q → %d, want %d", name, raw, got, want)
		}
		if event == "" && len(ev) != 0 || event != "" && (len(ev) != 1 || ev[0]["msg"] != event || ev[0]["name"] != name) {
			t.Fatalf("%s=%q: events %v, want %q", name, raw, ev, event)
		}
	}
	// Moved from trainer/source/httpsrc (its Fetcher read the variable).
	f(HTTPTimeoutSeconds, "0", to, 1, "env_var_clamped")
	f(HTTPTimeoutSeconds, "9999", to, 600, "env_var_clamped")
	f(HTTPTimeoutSeconds, "abc", to, 30, "env_var_unparseable")
	// Moved from trainer/source/sqlsrc (its settings read the variable).
	f(MaxSQLRows, "5", rows, 1000, "env_var_clamped")
	f(MaxSQLRows, "999999999999", rows, 500_000_000, "env_var_clamped")
	f(MaxSQLRows, "lots", rows, 50_000_000, "env_var_unparseable")
	f(MaxSQLRows, "1500", rows, 1500, "")
	c, _ := load(t, CmdValidate, HTTPAllowPrivate, "on", SQLAllowPrivate, "yes", BQRequireStorageAPI, "1", MaxDownloadBytes, "2MiB")
	if !c.HTTPAllowPrivate || !c.SQLAllowPrivate || !c.BQRequireStorageAPI || c.MaxDownloadBytes != 2*MiB {
		t.Fatalf("validate settings: %+v", c)
	}
}

func TestLogFormatFor(t *testing.T) {
	f := func(raw string, set bool, want string) {
		t.Helper()
		lookup := env()
		if set {
			lookup = env(LogFormat, raw)
		}
		if got := LogFormatFor(lookup); got != want {
			t.Fatalf("LogFormatFor(%q) = %q, want %q", raw, got, want)
		}
	}
	f("", false, "auto")
	f("", true, "auto")
	f(" JSON ", true, "json")
	f("console", true, "console")
	f("text", true, "auto")
	c, _ := load(t, CmdTrain, LogFormat, "text") // train falls back (§2)
	if c.LogFormat != "auto" {
		t.Fatalf("train with a bad format: %q", c.LogFormat)
	}
	c, _ = load(t, CmdTrain, LogFormat, "Console")
	if c.LogFormat != "console" {
		t.Fatalf("train: %q", c.LogFormat)
	}
}

const keyHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func TestConfigErrors(t *testing.T) {
	digest := apikey.Hex(apikey.Digest([]byte("p")))
	f := func(cmd string, kv []string, wantVar, wantIn string) {
		t.Helper()
		_, err := Load(env(kv...), Options{Command: cmd})
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
			t.Fatalf("%s %v: err = %v, want *Error", cmd, kv, err)
		}
		if ce.Var != wantVar || !strings.HasPrefix(err.Error(), wantVar+": ") || !strings.Contains(err.Error(), wantIn) {
			t.Fatalf("%s %v: err = %q, want var %s containing %q", cmd, kv, err, wantVar, wantIn)
		}
		if strings.Contains(err.Error(), digest) || strings.Contains(err.Error(), keyHex) {
			t.Fatalf("error leaks a secret: %q", err)
		}
	}
	ok := func(cmd string, kv ...string) {
		t.Helper()
		if _, err := Load(env(kv...), Options{Command: cmd}); err != nil {
			t.Fatalf("%s %v: %v", cmd, kv, err)
		}
	}
	f(CmdServe, []string{Port, "70000"}, Port, "outside 1..65535")
	f(CmdServe, []string{Port, "0"}, Port, "outside")
	f(CmdServe, []string{Port, "abc"}, Port, "not an integer")
	ok(CmdTrain, Port, "abc")
	f(CmdServe, []string{WatchInterval, "abc"}, WatchInterval, "not a number")
	f(CmdServe, []string{WatchInterval, "NaN"}, WatchInterval, "not a number")
	ok(CmdTrain, WatchInterval, "abc")
	f(CmdServe, []string{LogFormat, "xml"}, LogFormat, "auto, json or console")
	f(CmdInspect, []string{LogFormat, "xml"}, LogFormat, "auto, json or console")
	c, err := Load(env(LogFormat, "xml"), Options{Command: CmdTrain})
	if err != nil || c.LogFormat != "auto" {
		t.Fatalf("train with a bad log format falls back to auto: %v %v", c, err)
	}
	ok(CmdServe, LogFormat, "JSON")
	f(CmdServe, []string{MaxArtifactBytes, "2MiB", MaxPayloadBytes, "3MiB"}, MaxPayloadBytes, "exceeds")
	f(CmdInspect, []string{MaxArtifactBytes, "2MiB"}, MaxPayloadBytes, "exceeds")
	ok(CmdTrain, MaxArtifactBytes, "2MiB")
	f(CmdServe, []string{APIKeys, "a:sha256:" + digest + ",a:sha256:" + digest}, APIKeys, "entry 2")
	f(CmdServe, []string{APIKeys, "a:sha256:" + digest[:60]}, APIKeys, "entry 1")
	ok(CmdTrain, APIKeys, "garbage")
	// first problem wins, in the documented order
	f(CmdServe, []string{LogFormat, "x", Port, "x"}, Port, "")
	f(CmdTrain, []string{TrainMemoryLimit, "12 gigs"}, TrainMemoryLimit, "positive size")
	f(CmdTrain, []string{TrainMemoryLimit, "-1"}, TrainMemoryLimit, "positive size")
	ok(CmdServe, TrainMemoryLimit, "12 gigs")
}

func TestTrainMemoryLimit(t *testing.T) {
	c, _ := load(t, CmdTrain)
	if c.TrainMemoryLimit != 0 {
		t.Fatalf("unset: %d, want 0 (detect)", c.TrainMemoryLimit)
	}
	c, _ = load(t, CmdTrain, TrainMemoryLimit, "12GiB")
	if c.TrainMemoryLimit != 12*GiB {
		t.Fatalf("12GiB: %d", c.TrainMemoryLimit)
	}
	c, ev := load(t, CmdTrain, TrainMemoryLimit, "1MiB")
	if c.TrainMemoryLimit != 64*MiB || len(ev) != 1 || ev[0]["msg"] != "env_var_clamped" {
		t.Fatalf("1MiB: %d, events %v", c.TrainMemoryLimit, ev)
	}
}

func TestKeyRing(t *testing.T) {
	c, _ := load(t, CmdServe, SigningKeys, " k1:"+keyHex+", k2:"+strings.ToUpper(keyHex))
	r, err := c.KeyRing()
	if err != nil || !reflect.DeepEqual(r.Kids(), []string{"k1", "k2"}) || r.Signer().ID != "k1" {
		t.Fatalf("KeyRing = %v, %v", r, err)
	}
	bad := []string{
		"k1:" + keyHex[:62],
		"k1:" + keyHex + ",k1:" + keyHex,
		"k1" + keyHex,
		keyHex + ":" + keyHex,
	}
	for _, spec := range bad {
		c, _ := load(t, CmdServe, SigningKeys, spec)
		r, err := c.KeyRing()
		var ce *Error
		if r != nil || !errors.As(err, &ce) || ce.Var != SigningKeys || !strings.Contains(err.Error(), "entry") {
			t.Fatalf("KeyRing(%q) = %v, %v", spec, r, err)
		}
		var ke *format.KeyError
		if !errors.As(err, &ke) {
			t.Fatalf("cause not kept: %v", err)
		}
		if strings.Contains(err.Error(), keyHex[:16]) {
			t.Fatalf("error leaks key bytes: %q", err)
		}
	}
	c, _ = load(t, CmdServe, SigningKeys, "   ")
	if c.SigningKeysSet {
		t.Fatal("blank RECOTEM_SIGNING_KEYS counts as unset")
	}
}

func TestStringHidesSecrets(t *testing.T) {
	c, _ := load(t, CmdServe, SigningKeys, "k:"+keyHex, APIPlaintext, "plain-secret-value")
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c)} {
		if strings.Contains(s, keyHex) || strings.Contains(s, "plain-secret-value") {
			t.Fatalf("String leaks: %s", s)
		}
	}
}
