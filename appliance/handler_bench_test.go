package appliance

// Handler benchmarks: the full fasthttp handler (host check, request id,
// auth with the scrypt digest, JSON parse, model lookup, scoring, JSON
// write) on an in-memory RequestCtx, no network.
//
//	go test -run '^$' -bench 'Handler' -benchtime 2000x -benchmem ./appliance/

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
	"github.com/recotem/recotem/scoring"
	"github.com/valyala/fasthttp"
)

// benchShape mirrors MovieLens latest-small with a k=64 IALS model.
const (
	benchUsers = 671
	benchItems = 9066
	benchK     = 64
)

func factorArtifact(tb testing.TB, path string, key format.Key) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	users := make([]string, benchUsers)
	for i := range users {
		users[i] = fmt.Sprintf("u%05d", i)
	}
	items := make([]string, benchItems)
	for i := range items {
		items[i] = fmt.Sprintf("i%05d", i)
	}
	uf := make([]float32, benchUsers*benchK)
	vf := make([]float32, benchItems*benchK)
	for i := range uf {
		uf[i] = rng.Float32() - 0.5
	}
	for i := range vf {
		vf[i] = rng.Float32() - 0.5
	}
	ptr := []int64{0}
	var ind []int32
	for u := 0; u < benchUsers; u++ {
		for i := 0; i < benchItems; i += 1 + rng.IntN(120) {
			ind = append(ind, int32(i))
		}
		ptr = append(ptr, int64(len(ind)))
	}
	b := format.NewBuilder()
	b.Strings("user_ids", users)
	b.Strings("item_ids", items)
	b.CSR("seen", ptr, ind, benchItems, nil)
	b.Matrix32("user_factors", benchUsers, benchK, uf)
	b.Matrix32("item_factors", benchItems, benchK, vf)
	fields := map[string]any{
		"model":      scoring.Header{Kind: scoring.KindFactor, NUsers: benchUsers, NItems: benchItems, K: benchK, FoldIn: &scoring.FoldIn{Method: "projection"}},
		"trained_at": "2026-01-01T00:00:00Z", "best_class": "IALSRecommender",
	}
	if _, err := format.WriteArtifact(path, "always_overwrite", key, fields, b); err != nil {
		tb.Fatal(err)
	}
}

type benchEnv struct {
	a     *app
	plain string
}

// newBenchEnv serves the synthetic model with the result cache off (every
// request is ranked) unless cacheBytes is given.
func newBenchEnv(tb testing.TB, cacheBytes ...int64) *benchEnv {
	tb.Helper()
	dir := tb.TempDir()
	key := format.Key{ID: "k1", Secret: bytes.Repeat([]byte{3}, 32)}
	ring, _ := format.NewKeyRing(key)
	path := filepath.Join(dir, "ml.recotem")
	factorArtifact(tb, path, key)
	recipe := "name: ml\noutput:\n  path: " + path + "\n"
	if err := os.WriteFile(filepath.Join(dir, "ml.yaml"), []byte(recipe), 0o644); err != nil {
		tb.Fatal(err)
	}
	plain := apikey.Generate()
	a, _ := newApp(Config{RecipesDir: dir, Loader: yamlLoader{}, KeyRing: ring, MetricsEnabled: true,
		APIKeys: []apikey.Key{{Kid: "c", Digest: apikey.Digest([]byte(plain))}}})
	if len(cacheBytes) > 0 {
		a.cfg.ResultCacheBytes = cacheBytes[0]
	}
	if _, err := a.configure(); err != nil {
		tb.Fatal(err)
	}
	a.open(context.Background())
	tb.Cleanup(a.reg.Close)
	if l := a.reg.Get([]byte("ml")).Acquire(); l == nil {
		tb.Fatal("ml not loaded")
	} else {
		l.Release()
	}
	return &benchEnv{a: a, plain: plain}
}

// ctx builds a reusable request.
func (b *benchEnv) ctx(path, body string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI(path)
	req.Header.SetHost("127.0.0.1:8080")
	req.Header.Set("X-API-Key", b.plain)
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, nil)
	return ctx
}

func (b *benchEnv) serve(tb testing.TB, ctx *fasthttp.RequestCtx, want int) {
	ctx.Response.Reset()
	b.a.handle(ctx)
	if ctx.Response.StatusCode() != want {
		tb.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func benchHandler(b *testing.B, path, body string, cacheBytes ...int64) {
	env := newBenchEnv(b, cacheBytes...)
	ctx := env.ctx(path, body)
	env.serve(b, ctx, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		env.serve(b, ctx, 200)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/req")
}

func BenchmarkHandlerPredict(b *testing.B) {
	benchHandler(b, "/predict/ml", `{"user_id":"u00042","cutoff":10}`)
}

// BenchmarkHandlerPredictCached: the same request answered from the
// result cache (the default serve configuration) after the first one.
func BenchmarkHandlerPredictCached(b *testing.B) {
	benchHandler(b, "/predict/ml", `{"user_id":"u00042","cutoff":10}`, 32<<20)
}

func BenchmarkHandlerRecommend(b *testing.B) {
	benchHandler(b, "/v1/recipes/ml:recommend", `{"user_id":"u00042","limit":10,"exclude_items":["i00001","i00002"]}`)
}

func BenchmarkHandlerRelated(b *testing.B) {
	benchHandler(b, "/v1/recipes/ml:recommend-related", `{"seed_items":["i00001","i00100"],"limit":10}`)
}

// BenchmarkHandlerBare is the floor: a handler returning a fixed body.
func BenchmarkHandlerBare(b *testing.B) {
	env := newBenchEnv(b)
	ctx := env.ctx("/bare", `{}`)
	body := []byte(`{"items":[]}`)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
}

func BenchmarkHandlerBatch16(b *testing.B) {
	var el []string
	for i := 0; i < 16; i++ {
		el = append(el, fmt.Sprintf(`{"user_id":"u%05d","limit":10}`, i*7))
	}
	benchHandler(b, "/v1/recipes/ml:batch-recommend", `{"requests":[`+strings.Join(el, ",")+`]}`)
}

// TestBatchMatchesSingle: the blocked batch path answers exactly what
// :recommend answers for the same users and limits.
func TestBatchMatchesSingle(t *testing.T) {
	env := newBenchEnv(t)
	var el []string
	var singles []string
	for i := 0; i < 40; i++ {
		u, lim := fmt.Sprintf("u%05d", i*13), 1+i%25
		el = append(el, fmt.Sprintf(`{"user_id":%q,"limit":%d}`, u, lim))
		ctx := env.ctx("/v1/recipes/ml:recommend", fmt.Sprintf(`{"user_id":%q,"limit":%d}`, u, lim))
		env.serve(t, ctx, 200)
		var m map[string]any
		json.Unmarshal(ctx.Response.Body(), &m)
		s, _ := json.Marshal(m["items"])
		singles = append(singles, string(s))
	}
	ctx := env.ctx("/v1/recipes/ml:batch-recommend", `{"requests":[`+strings.Join(el, ",")+`]}`)
	env.serve(t, ctx, 200)
	var m struct {
		Results []struct {
			Index  int
			Status string
			Items  any
		}
	}
	if err := json.Unmarshal(ctx.Response.Body(), &m); err != nil {
		t.Fatal(err)
	}
	for i, r := range m.Results {
		s, _ := json.Marshal(r.Items)
		if r.Index != i || r.Status != "ok" || string(s) != singles[i] {
			t.Fatalf("element %d: %s\nsingle: %s", i, s, singles[i])
		}
	}
}
