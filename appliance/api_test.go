package appliance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func decode(t *testing.T, r resp) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func itemIDs(t *testing.T, items any) []string {
	t.Helper()
	var out []string
	for _, it := range items.([]any) {
		out = append(out, it.(map[string]any)["item_id"].(string))
	}
	return out
}

func expectErr(t *testing.T, r resp, code int, errCode string) map[string]any {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	m := decode(t, r)
	if errCode != "" && m["code"] != errCode {
		t.Fatalf("code %v, want %s: %s", m["code"], errCode, r.body)
	}
	if r.hdr.Get("X-Request-ID") == "" {
		t.Fatalf("no X-Request-ID on %d", code)
	}
	return m
}

func startDefault(t *testing.T) (*harness, string) {
	h := newHarness(t)
	h.recipe("a", "movies", "")
	v := h.artifact("movies", defaultModel())
	h.start()
	return h, v
}

func TestLegacyPredict(t *testing.T) {
	h, version := startDefault(t)
	r := h.post("/predict/movies", `{"user_id":"u1","cutoff":3,"extra":1}`)
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	m := decode(t, r)
	if got := itemIDs(t, m["items"]); strings.Join(got, ",") != "i2,i3,i4" {
		t.Fatalf("items %v", got)
	}
	model := m["model"].(map[string]any)
	if model["recipe"] != "movies" || model["kid"] != "k1" || model["best_class"] != "TopPopRecommender" || model["trained_at"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("model %v", model)
	}
	if m["request_id"] != r.hdr.Get("X-Request-ID") || len(r.hdr.Get("X-Request-ID")) != 12 {
		t.Fatalf("request id %v / %q", m["request_id"], r.hdr.Get("X-Request-ID"))
	}
	if r.hdr.Get("X-Recotem-Model-Version") != version {
		t.Fatalf("version header %q want %q", r.hdr.Get("X-Recotem-Model-Version"), version)
	}
	// u2 saw i2, i3: never returned; default cutoff 10 returns the other 4
	m = decode(t, h.post("/predict/movies", `{"user_id":"u2"}`))
	if got := strings.Join(itemIDs(t, m["items"]), ","); got != "i1,i4,i5,i6" {
		t.Fatalf("u2 items %v", got)
	}
	expectErr(t, h.post("/predict/movies", `{"user_id":"nobody"}`), 404, "user_not_found")
	expectErr(t, h.post("/predict/nope", `{"user_id":"u1"}`), 503, "recipe_unavailable")
	for _, body := range []string{`{"user_id":"u1","cutoff":0}`, `{"user_id":"u1","cutoff":1001}`, `{}`, `{"user_id":5}`, `{"user_id":"u1"`, `[]`, ``} {
		m := expectErr(t, h.post("/predict/movies", body), 422, "validation_error")
		if m["detail"] != "Request validation failed" || m["request_id"] == nil || len(m["errors"].([]any)) == 0 {
			t.Fatalf("422 envelope %v", m)
		}
	}
	expectErr(t, h.do("POST", "/predict/movies", `{"user_id":"u1"}`, "X-API-Key", h.plain, "Content-Type", "text/plain"), 422, "validation_error")
	r = h.do("POST", "/predict/movies", `{"user_id":"u1"}`, "X-API-Key", h.plain, "Content-Type", "application/vnd.x+json; charset=utf-8")
	if r.code != 200 {
		t.Fatalf("+json content type: %d", r.code)
	}
	expectErr(t, h.post("/predict/bad.name", `{"user_id":"u1"}`), 422, "validation_error")
	if r := h.get("/predict/movies"); r.code != 405 {
		t.Fatalf("GET predict %d", r.code)
	}
}

func TestAuth(t *testing.T) {
	h, _ := startDefault(t)
	body := `{"user_id":"u1"}`
	expectErr(t, h.do("POST", "/predict/movies", body), 401, "missing_api_key")
	expectErr(t, h.do("POST", "/v1/recipes/movies:recommend", body), 401, "MISSING_API_KEY")
	for _, k := range []string{h.plain + " ", h.plain + "\t", " " + h.plain} {
		req := "POST /v1/recipes/movies:recommend HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + k + "\r\nContent-Length: 16\r\n\r\n" + body
		if code := h.raw(req); code != 401 {
			t.Fatalf("key with trailing whitespace: %d", code)
		}
	}
	req := "POST /v1/recipes/movies:recommend HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key:" + h.plain + "\r\nContent-Length: 16\r\n\r\n" + body
	if code := h.raw(req); code != 200 {
		t.Fatalf("key without the conventional space: %d", code)
	}
	for _, k := range []string{h.plain[:31], strings.Repeat("x", 40), strings.Repeat("y", 257)} {
		expectErr(t, h.do("POST", "/predict/movies", body, "X-API-Key", k), 401, "invalid_api_key")
		expectErr(t, h.do("POST", "/v1/recipes/movies:recommend", body, "X-API-Key", k), 401, "INVALID_API_KEY")
	}
	// 401 beats 422
	expectErr(t, h.do("POST", "/v1/recipes/movies:recommend", `{"limit":0}`), 401, "MISSING_API_KEY")
	for _, ev := range []string{"auth_missing_header", "auth_short_key_rejected", "auth_invalid_key", "auth_oversized_header"} {
		if h.logs.CountEvent(ev) == 0 {
			t.Errorf("no %s event", ev)
		}
	}
	if strings.Contains(h.logs.String(), h.plain) {
		t.Fatal("API plaintext in logs")
	}
	// public routes
	if r := h.do("GET", "/health", ""); r.code != 200 {
		t.Fatalf("/health %d", r.code)
	}
	if r := h.do("GET", "/metrics", ""); r.code != 200 {
		t.Fatalf("/metrics public %d", r.code)
	}
	expectErr(t, h.do("GET", "/v1/metrics", ""), 401, "MISSING_API_KEY")
	expectErr(t, h.do("GET", "/health/details", ""), 401, "missing_api_key")
	expectErr(t, h.do("GET", "/v1/health/details", ""), 401, "MISSING_API_KEY")
	expectErr(t, h.do("GET", "/models", ""), 401, "missing_api_key")
	expectErr(t, h.do("GET", "/v1/recipes", ""), 401, "MISSING_API_KEY")
	expectErr(t, h.do("GET", "/v1/recipes/movies", ""), 401, "MISSING_API_KEY")
}

func TestV1Recommend(t *testing.T) {
	h, version := startDefault(t)
	r := h.post("/v1/recipes/movies:recommend", `{"user_id":"u1","limit":2}`)
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	m := decode(t, r)
	if m["recipe"] != "movies" || m["model_version"] != version || r.hdr.Get("X-Recotem-Model-Version") != version || m["request_id"] != r.hdr.Get("X-Request-ID") {
		t.Fatalf("envelope %v", m)
	}
	if got := strings.Join(itemIDs(t, m["items"]), ","); got != "i2,i3" {
		t.Fatalf("items %s", got)
	}
	// exclude masked before the cut: still 3 items
	m = decode(t, h.post("/v1/recipes/movies:recommend", `{"user_id":"u1","limit":3,"exclude_items":["i2","zzz"]}`))
	if got := strings.Join(itemIDs(t, m["items"]), ","); got != "i3,i4,i5" {
		t.Fatalf("exclude: %s", got)
	}
	m = decode(t, h.post("/v1/recipes/movies:recommend", `{"user_id":"u1","exclude_items":null}`))
	if len(m["items"].([]any)) != 5 {
		t.Fatalf("null exclude: %v", m["items"])
	}
	expectErr(t, h.post("/v1/recipes/movies:recommend", `{"user_id":"nobody"}`), 404, "UNKNOWN_USER")
	expectErr(t, h.post("/v1/recipes/nope:recommend", `{"user_id":"u1"}`), 404, "RECIPE_NOT_FOUND")
	for _, body := range []string{`{"user_id":"u1","limit":1001}`, `{"user_id":""}`, `{"user_id":"u1","x":1}`, `{"user_id":"` + strings.Repeat("a", 257) + `"}`,
		`{"user_id":"u1","exclude_items":[""]}`, `{"user_id":"u1","exclude_items":"i1"}`, `{"limit":5}`, `not json`} {
		m := expectErr(t, h.post("/v1/recipes/movies:recommend", body), 422, "VALIDATION_ERROR")
		if m["request_id"] != m["request_id"].(string) || len(m["errors"].([]any)) == 0 {
			t.Fatalf("envelope %v", m)
		}
	}
	expectErr(t, h.post("/v1/recipes/bad.name:recommend", `{"user_id":"u1"}`), 422, "VALIDATION_ERROR")
	if h.logs.CountEvent("validation_failed") == 0 {
		t.Fatal("no validation_failed event")
	}
	// 256-char unicode user id is valid (chars, not bytes)
	r = h.post("/v1/recipes/movies:recommend", `{"user_id":"`+strings.Repeat("é", 256)+`"}`)
	expectErr(t, r, 404, "UNKNOWN_USER")
	// escapes are decoded
	if r := h.post("/v1/recipes/movies:recommend", `{"user_id":"\u0075\u0031"}`); r.code != 200 {
		t.Fatalf("escaped id: %d %s", r.code, r.body)
	}
}

func TestV1Related(t *testing.T) {
	h, _ := startDefault(t)
	m := decode(t, h.post("/v1/recipes/movies:recommend-related", `{"seed_items":["i1","i2","unknown"],"limit":2}`))
	if got := strings.Join(itemIDs(t, m["items"]), ","); got != "i3,i4" {
		t.Fatalf("related %s", got)
	}
	expectErr(t, h.post("/v1/recipes/movies:recommend-related", `{"seed_items":["x","y"]}`), 404, "UNKNOWN_SEED_ITEMS")
	all := `["i1","i2","i3","i4","i5","i6"]`
	expectErr(t, h.post("/v1/recipes/movies:recommend-related", `{"seed_items":`+all+`}`), 404, "NO_CANDIDATES")
	seeds := make([]string, 101)
	for i := range seeds {
		seeds[i] = fmt.Sprintf("%q", fmt.Sprint("s", i))
	}
	expectErr(t, h.post("/v1/recipes/movies:recommend-related", `{"seed_items":[]}`), 422, "VALIDATION_ERROR")
	expectErr(t, h.post("/v1/recipes/movies:recommend-related", `{"seed_items":[`+strings.Join(seeds, ",")+`]}`), 422, "VALIDATION_ERROR")
	expectErr(t, h.post("/v1/recipes/movies:recommend-related", `{"user_id":"u1"}`), 422, "VALIDATION_ERROR")
}

func TestV1Batch(t *testing.T) {
	h, version := startDefault(t)
	r := h.post("/v1/recipes/movies:batch-recommend", `{"requests":[{"user_id":"u1","limit":1},{"user_id":"nobody"},5,{"user_id":""}]}`)
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	m := decode(t, r)
	if m["model_version"] != version || m["recipe"] != "movies" {
		t.Fatalf("%v", m)
	}
	res := m["results"].([]any)
	want := []string{"ok", "UNKNOWN_USER", "VALIDATION_ERROR", "VALIDATION_ERROR"}
	for i, w := range want {
		e := res[i].(map[string]any)
		if int(e["index"].(float64)) != i {
			t.Fatalf("index %v", e)
		}
		if w == "ok" {
			if e["status"] != "ok" || strings.Join(itemIDs(t, e["items"]), ",") != "i2" {
				t.Fatalf("elem %d %v", i, e)
			}
			continue
		}
		if e["status"] != "error" || e["error"].(map[string]any)["code"] != w {
			t.Fatalf("elem %d %v", i, e)
		}
	}
	if msg := res[2].(map[string]any)["error"].(map[string]any)["message"]; msg != "request must be an object" {
		t.Fatalf("non-object message %v", msg)
	}
	if msg := res[3].(map[string]any)["error"].(map[string]any)["message"]; msg != "user_id: String should have at least 1 character" {
		t.Fatalf("dotted message %v", msg)
	}
	if r.hdr.Get("X-Recotem-Items-Degraded") != "" {
		t.Fatal("degraded header on batch")
	}
	// aggregate cap: 5 × 1000 pass, the 6th crosses 5000, a later small one still runs
	var reqs []string
	for i := 0; i < 5; i++ {
		reqs = append(reqs, `{"user_id":"u3","limit":1000}`)
	}
	reqs = append(reqs, `{"user_id":"u3","limit":1}`, `{"user_id":"u3"}`)
	res = decode(t, h.post("/v1/recipes/movies:batch-recommend", `{"requests":[`+strings.Join(reqs[:5], ",")+`,{"user_id":"u3","limit":10},{"user_id":"u3","limit":0}]}`))["results"].([]any)
	e := res[5].(map[string]any)
	if e["status"] != "error" || e["error"].(map[string]any)["message"] != "aggregate limit cap exceeded: 5000" {
		t.Fatalf("cap element %v", e)
	}
	// 4 × 1000 + 999 + 1 fits exactly; the next default (10) crosses; a later one of... none fits
	body := `{"requests":[` + strings.Join(reqs[:4], ",") + `,{"user_id":"u3","limit":999},{"user_id":"u3"},{"user_id":"u3","limit":1}]}`
	res = decode(t, h.post("/v1/recipes/movies:batch-recommend", body))["results"].([]any)
	if res[5].(map[string]any)["status"] != "error" || res[6].(map[string]any)["status"] != "ok" {
		t.Fatalf("cap then small: %v / %v", res[5], res[6])
	}
	for _, b := range []string{`{"requests":[]}`, `{"requests":[` + strings.TrimSuffix(strings.Repeat(`{"user_id":"u1"},`, 257), ",") + `]}`, `{}`, `{"requests":{}}`, `{"requests":[{"user_id":"u1"}],"x":1}`, `{"requests":[{"user_id":"u1"}],"include_metadata":"yes"}`} {
		expectErr(t, h.post("/v1/recipes/movies:batch-recommend", b), 422, "VALIDATION_ERROR")
	}
	res = decode(t, h.post("/v1/recipes/movies:batch-recommend-related", `{"requests":[{"seed_items":["i1"],"limit":1},{"seed_items":["zz"]},{"seed_items":[]}]}`))["results"].([]any)
	if strings.Join(itemIDs(t, res[0].(map[string]any)["items"]), ",") != "i2" ||
		res[1].(map[string]any)["error"].(map[string]any)["code"] != "UNKNOWN_SEED_ITEMS" ||
		res[2].(map[string]any)["error"].(map[string]any)["code"] != "VALIDATION_ERROR" {
		t.Fatalf("batch related %v", res)
	}
	expectErr(t, h.post("/v1/recipes/nope:batch-recommend", `{"requests":[{"user_id":"u1"}]}`), 404, "RECIPE_NOT_FOUND")
}

func TestRoutesAndCommonRules(t *testing.T) {
	h := newHarness(t)
	h.cfg.AllowedOrigins = []string{"https://app.example"}
	h.cfg.AllowedHosts = []string{"127.0.0.1", "*.internal.example"}
	h.recipe("a", "movies", "")
	h.recipe("b", "stub", "")
	version := h.artifact("movies", defaultModel())
	h.start()

	// X-Request-ID echo and replacement
	r := h.do("POST", "/v1/recipes/movies:recommend", `{"user_id":"u1"}`, "X-API-Key", h.plain, "X-Request-ID", "abc_123")
	if r.hdr.Get("X-Request-ID") != "abc_123" || decode(t, r)["request_id"] != "abc_123" {
		t.Fatalf("echo %q", r.hdr.Get("X-Request-ID"))
	}
	for _, bad := range []string{strings.Repeat("a", 129), "a b", "a.b"} {
		r := h.do("GET", "/health", "", "X-Request-ID", bad)
		if id := r.hdr.Get("X-Request-ID"); len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("replacement id %q", id)
		}
	}
	for _, path := range []string{"/nope", "/v1/recipes/", "/v1/recipes/movies:frobnicate", "/v1/recipes/a/b", "/predict/"} {
		r := h.do("POST", path, `{}`, h.auth()...)
		if r.code != 404 || decode(t, r)["detail"] != "Not Found" || r.hdr.Get("X-Request-ID") == "" {
			t.Fatalf("%s: %d %s", path, r.code, r.body)
		}
	}
	if r := h.do("GET", "/v1/recipes/movies:recommend", "", h.auth()...); r.code != 405 {
		t.Fatalf("GET verb %d", r.code)
	}
	if r := h.do("POST", "/health", "", h.auth()...); r.code != 405 {
		t.Fatalf("POST /health %d", r.code)
	}
	// Host allow-list
	r = h.do("GET", "/health", "", "Host", "evil.example")
	if r.code != 400 || r.body != "Invalid host header" {
		t.Fatalf("evil host: %d %q", r.code, r.body)
	}
	if r := h.do("GET", "/health", "", "Host", "api.internal.example:9999"); r.code == 400 {
		t.Fatal("wildcard host refused")
	}
	// CORS
	r = h.do("OPTIONS", "/v1/recipes/movies:recommend", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-api-key,content-type")
	if r.code != 200 || r.hdr.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(r.hdr.Get("Access-Control-Expose-Headers"), "X-Recotem-Model-Version") ||
		!strings.Contains(r.hdr.Get("Access-Control-Expose-Headers"), "X-Recotem-Items-Degraded") ||
		!strings.Contains(r.hdr.Get("Access-Control-Allow-Methods"), "POST") || r.hdr.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight %d %v", r.code, r.hdr)
	}
	r = h.do("OPTIONS", "/health", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	if r.code != 400 || r.hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed preflight %d", r.code)
	}
	r = h.do("GET", "/health", "", "Origin", "https://app.example")
	if r.hdr.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatal("no CORS on simple request")
	}

	// health: one stub (no artifact) → degraded
	for _, p := range []string{"/health", "/v1/health"} {
		r := h.do("GET", p, "")
		m := decode(t, r)
		if r.code != 503 || m["status"] != "degraded" || m["total"] != 2.0 || m["loaded"] != 1.0 {
			t.Fatalf("%s %d %v", p, r.code, m)
		}
	}
	r = h.get("/health/details")
	m := decode(t, r)
	recipes := m["recipes"].(map[string]any)
	if r.code != 503 || m["status"] != "degraded" {
		t.Fatalf("details %d %v", r.code, m)
	}
	mv := recipes["movies"].(map[string]any)
	if mv["loaded"] != true || mv["kid"] != "k1" || mv["best_class"] != "TopPopRecommender" || mv["error"] != nil {
		t.Fatalf("movies details %v", mv)
	}
	st := recipes["stub"].(map[string]any)
	if st["loaded"] != false || st["last_load_error"] != "artifact not found" || st["error"] != st["last_load_error"] {
		t.Fatalf("stub details %v", st)
	}
	if decode(t, h.get("/v1/health/details"))["recipes"].(map[string]any)["stub"] == nil {
		t.Fatal("v1 details")
	}
	// stubs: legacy 503, v1 503 RECIPE_UNAVAILABLE, detail 503
	expectErr(t, h.post("/predict/stub", `{"user_id":"u1"}`), 503, "recipe_unavailable")
	expectErr(t, h.post("/v1/recipes/stub:recommend", `{"user_id":"u1"}`), 503, "RECIPE_UNAVAILABLE")
	expectErr(t, h.get("/v1/recipes/stub"), 503, "RECIPE_UNAVAILABLE")
	expectErr(t, h.get("/v1/recipes/nope"), 404, "RECIPE_NOT_FOUND")
	expectErr(t, h.get("/v1/recipes/no.pe"), 422, "VALIDATION_ERROR")

	// /models and /v1/recipes list loaded only
	var models []map[string]any
	if err := json.Unmarshal([]byte(h.get("/models").body), &models); err != nil || len(models) != 1 {
		t.Fatalf("models %v %v", models, err)
	}
	if models[0]["name"] != "movies" || models[0]["kid"] != "k1" || models[0]["best_class"] != "TopPopRecommender" || models[0]["recipe_hash"] == nil {
		t.Fatalf("models[0] %v", models[0])
	}
	list := decode(t, h.get("/v1/recipes"))["recipes"].([]any)
	if len(list) != 1 {
		t.Fatalf("v1 recipes %v", list)
	}
	s := list[0].(map[string]any)
	if s["name"] != "movies" || s["model_version"] != version || s["kind"] != "user-item" || len(s["supported_verbs"].([]any)) != 4 || !strings.HasSuffix(s["loaded_at"].(string), "Z") {
		t.Fatalf("summary %v", s)
	}
	d := decode(t, h.get("/v1/recipes/movies"))
	if d["best_class"] != "TopPopRecommender" || d["metric"] != "ndcg" || d["cutoff"] != 20.0 || d["data_stats"] == nil ||
		d["recipe_hash"] != strings.Repeat("ab", 32) || d["config_digest"] != nil || d["best_score"] != 0.25 ||
		d["best_algorithm"] != "TopPopRecommender" || fmt.Sprint(d["algorithms"]) != "[TopPop]" || d["irspack_version"] != "0.5.0" {
		t.Fatalf("detail %v", d)
	}
	// docs only in development envs
	if r := h.do("GET", "/openapi.json", ""); r.code != 404 {
		t.Fatalf("openapi outside dev: %d", r.code)
	}
	// metrics after traffic
	body := h.do("GET", "/metrics", "").body
	for _, want := range []string{
		`recotem_predict_total{recipe="stub",status="unavailable"} 1`,
		`recotem_v1_requests_total{recipe="movies",verb="recommend",status="ok"} 1`,
		`recotem_model_loaded{recipe="movies"} 1`,
		`recotem_model_loaded{recipe="stub"} 0`,
		`recotem_swap_total{recipe="movies",result="ok"}`,
		`recotem_active_recipes 1`,
		`recotem_v1_request_latency_seconds_bucket{recipe="movies",verb="recommend",le="0.005"}`,
		`recotem_artifact_load_failures_total{recipe="stub",reason="read"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
	if r := h.get("/v1/metrics"); r.code != 200 || !strings.Contains(r.body, "recotem_active_recipes") {
		t.Fatalf("/v1/metrics %d", r.code)
	}
}

func TestMetricsDisabledAndDevDocs(t *testing.T) {
	h := newHarness(t)
	h.cfg.MetricsEnabled = false
	h.cfg.Env = "test"
	h.start()
	if r := h.do("GET", "/metrics", ""); r.code != 404 {
		t.Fatalf("/metrics %d", r.code)
	}
	if r := h.get("/v1/metrics"); r.code != 404 {
		t.Fatalf("/v1/metrics %d", r.code)
	}
	r := h.do("GET", "/openapi.json", "")
	if r.code != 200 {
		t.Fatalf("openapi %d", r.code)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/predict/{name}", "/health", "/health/details", "/models", "/metrics", "/v1/recipes/{name}:recommend",
		"/v1/recipes/{name}:recommend-related", "/v1/recipes/{name}:batch-recommend", "/v1/recipes/{name}:batch-recommend-related",
		"/v1/recipes", "/v1/recipes/{name}", "/v1/health", "/v1/health/details", "/v1/metrics"} {
		if paths[p] == nil {
			t.Errorf("openapi lacks %s", p)
		}
	}
	if r := h.do("GET", "/docs", ""); r.code != 200 {
		t.Fatalf("/docs %d", r.code)
	}
	// zero recipes → ok
	if r := h.do("GET", "/health", ""); r.code != 200 || decode(t, r)["total"] != 0.0 {
		t.Fatalf("empty health %d %s", r.code, r.body)
	}
}

func TestBodyTooLarge(t *testing.T) {
	h, _ := startDefault(t)
	// headers announcing 9 MiB; the server answers before the body
	r := h.rawResp("POST /v1/recipes/movies:recommend HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + h.plain + "\r\nContent-Length: 9437184\r\n\r\n{")
	if r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d", r.code)
	}
	if m := decode(t, r); m["code"] != "VALIDATION_ERROR" || m["errors"] == nil {
		t.Fatalf("413 body %v", m)
	}
}
