package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/recotem/recotem/internal/jsonstr"
	"github.com/recotem/recotem/scoring"
	"github.com/valyala/fasthttp"
)

var (
	one        = []byte("1")
	pPredict   = []byte("/predict/")
	pV1Recipes = []byte("/v1/recipes/")
)

// handle is the single fasthttp handler: common rules, then routing.
func (a *app) handle(ctx *fasthttp.RequestCtx) {
	r := a.reqPool.Get().(*request)
	r.reset()
	defer a.reqPool.Put(r)
	faultGuard()
	defer a.recoverFault(ctx, r)

	// X-Request-ID: the client's when valid, else 12 random hex.
	var ridBuf [12]byte
	rid := ctx.Request.Header.PeekBytes(hdrRequestID)
	if !validRequestID(rid) {
		newRequestID(&ridBuf)
		rid = ridBuf[:]
	}
	r.rid = append(r.rid[:0], rid...)
	rid = r.rid
	ctx.Response.Header.SetCanonical(hdrRequestID, rid)

	if !a.hostAllowed(ctx.Host()) {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentTypeBytes(ctText)
		ctx.SetBodyString("Invalid host header")
		return
	}
	if len(a.origins) > 0 {
		if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 {
			if ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
				a.preflight(ctx, origin)
				return
			}
			if a.originAllowed(origin) {
				h := &ctx.Response.Header
				if a.anyOrigin {
					h.Set("Access-Control-Allow-Origin", "*")
				} else {
					h.SetBytesV("Access-Control-Allow-Origin", origin)
					h.Set("Vary", "Origin")
				}
				h.Set("Access-Control-Expose-Headers", "X-Request-ID, X-Recotem-Model-Version, X-Recotem-Items-Degraded")
			}
		}
	}

	path := ctx.Path()
	switch {
	case bytes.HasPrefix(path, pPredict):
		if len(path) == len(pPredict) || indexByte(path[len(pPredict):], '/') >= 0 {
			a.notFound(ctx, r)
			return
		}
		if !ctx.IsPost() {
			a.methodNotAllowed(ctx, r)
			return
		}
		a.predict(ctx, r, path[len(pPredict):], rid)
	case bytes.HasPrefix(path, pV1Recipes):
		a.v1Named(ctx, r, path[len(pV1Recipes):], rid)
	default:
		a.fixedRoute(ctx, r, string(path), rid)
	}
}

func (a *app) preflight(ctx *fasthttp.RequestCtx, origin []byte) {
	h := &ctx.Response.Header
	if !a.originAllowed(origin) {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentTypeBytes(ctText)
		ctx.SetBodyString("Disallowed CORS origin")
		return
	}
	if a.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.SetBytesV("Access-Control-Allow-Origin", origin)
		h.Set("Vary", "Origin")
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if req := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(req) > 0 {
		h.SetBytesV("Access-Control-Allow-Headers", req)
	} else {
		h.Set("Access-Control-Allow-Headers", "*")
	}
	h.Set("Access-Control-Expose-Headers", "X-Request-ID, X-Recotem-Model-Version, X-Recotem-Items-Degraded")
	h.Set("Access-Control-Max-Age", "600")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentTypeBytes(ctText)
	ctx.SetBodyString("OK")
}

func (a *app) notFound(ctx *fasthttp.RequestCtx, r *request) {
	writeErr(ctx, r.out, fasthttp.StatusNotFound, "Not Found", "", nil)
}

func (a *app) methodNotAllowed(ctx *fasthttp.RequestCtx, r *request) {
	writeErr(ctx, r.out, fasthttp.StatusMethodNotAllowed, "Method Not Allowed", "", nil)
}

// authenticate applies the API-key rules; on failure it has written the
// 401 and returns false.
func (a *app) authenticate(ctx *fasthttp.RequestCtx, r *request, v1 bool) (string, bool) {
	if !a.authEnabled {
		if a.log.Enabled(context.Background(), slog.LevelDebug) {
			a.log.Debug("auth_anonymous_bypass", "client_host", ctx.RemoteIP().String(), "path", string(ctx.Path()), "mode", a.anonMode)
		}
		ip, _ := netip.AddrFromSlice(ctx.RemoteIP())
		if a.anon.firstSeen(ip) {
			a.log.Info("auth_anonymous_bypass_first_seen", "client_host", ip.String(), "path", string(ctx.Path()), "mode", a.anonMode)
		}
		return "anonymous", true
	}
	key := ctx.Request.Header.PeekBytes(hdrAPIKey)
	missing := len(key) == 0
	switch {
	case missing:
		a.auth.burn()
		a.log.Warn("auth_missing_header", "path", string(ctx.Path()))
	case len(key) > maxKeyLen:
		a.auth.burn()
		a.log.Warn("auth_oversized_header", "path", string(ctx.Path()), "length", len(key), "cap", maxKeyLen)
	case len(key) < 32:
		a.auth.burn()
		a.log.Warn("auth_short_key_rejected", "path", string(ctx.Path()), "length", len(key), "min_len", 32)
	default:
		kid, ok := a.auth.check(key)
		if ok && !paddedKey(ctx.Request.Header.RawHeaders()) {
			return kid, true
		}
		a.log.Warn("auth_invalid_key", "path", string(ctx.Path()))
	}
	detail, code := "Invalid API key", "invalid_api_key"
	if missing {
		detail, code = "X-API-Key header required", "missing_api_key"
	}
	if v1 {
		if missing {
			code = "MISSING_API_KEY"
		} else {
			code = "INVALID_API_KEY"
		}
	}
	writeErr(ctx, r.out, fasthttp.StatusUnauthorized, detail, code, nil)
	return "", false
}

// paddedKey reports whether the raw X-API-Key line carries whitespace
// around the value beyond the single conventional space after the colon:
// the key is taken untrimmed, and HTTP parsers strip that whitespace.
func paddedKey(raw []byte) bool {
	const name = "x-api-key:"
	for len(raw) > 0 {
		end := indexByte(raw, '\n')
		line := raw
		if end >= 0 {
			line, raw = raw[:end], raw[end+1:]
		} else {
			raw = nil
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) < len(name) || !equalFold(line[:len(name)], name) {
			continue
		}
		v := line[len(name):]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		return len(v) > 0 && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t')
	}
	return false
}

// jsonContentType: absent, application/json or application/*+json.
func jsonContentType(ct []byte) bool {
	if len(ct) == 0 {
		return true
	}
	if i := indexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	if equalFold(ct, "application/json") {
		return true
	}
	if len(ct) > len("application/")+len("+json") && equalFold(ct[:len("application/")], "application/") &&
		equalFold(ct[len(ct)-len("+json"):], "+json") {
		return true
	}
	return false
}

func (a *app) validationFailed(ctx *fasthttp.RequestCtx, r *request, v1 bool, verb string, rid []byte) {
	code := "validation_error"
	if v1 {
		code = "VALIDATION_ERROR"
	}
	r.out = appendValidation(r.out[:0], code, rid, r.errs)
	writeJSON(ctx, fasthttp.StatusUnprocessableEntity, r.out)
	if v1 {
		msgs := make([]string, 0, len(r.errs))
		for _, e := range r.errs {
			msgs = append(msgs, e.typ)
		}
		a.log.Info("validation_failed", "path", string(ctx.Path()), "method", string(ctx.Method()), "request_id", string(rid),
			"error_count", len(r.errs), "matched_v1_verb", verb, "errors", msgs)
	}
}

// ---------------------------------------------------------------- legacy

func (a *app) predict(ctx *fasthttp.RequestCtx, r *request, name, rid []byte) {
	start := a.clock()
	if _, ok := a.authenticate(ctx, r, false); !ok {
		return
	}
	if !validName(name) {
		r.addErr("String should match pattern '^[A-Za-z0-9_-]{1,64}$'", "string_pattern_mismatch", lk("path"), lk("name"))
	} else if !jsonContentType(ctx.Request.Header.ContentType()) {
		r.addErr("Input should be a valid JSON body", "json_invalid", lk("body"))
	} else {
		r.parseLegacy(ctx.PostBody())
	}
	if len(r.errs) > 0 {
		a.validationFailed(ctx, r, false, "", rid)
		return
	}
	e := a.reg.get(name)
	m := a.met.unknownRecipe
	if e != nil {
		m = e.m
	}
	var l *loaded
	if e != nil {
		l = e.acquire()
	}
	if l == nil {
		reason := "no_entry"
		if e != nil {
			reason = "not_loaded"
		}
		a.log.Warn("recipe_unavailable", "recipe", string(name), "reason", reason, "request_id", string(rid))
		m.predict[pUnavailable].Inc()
		writeErr(ctx, r.out, fasthttp.StatusServiceUnavailable, "Recipe '"+string(name)+"' is not loaded or unhealthy", "recipe_unavailable", nil)
		return
	}
	defer l.release()
	u, ok := l.model.UserIndex(r.str(r.userID))
	if !ok {
		m.predict[pUserNotFound].Inc()
		writeErr(ctx, r.out, fasthttp.StatusNotFound, "user not found", "user_not_found", nil)
		return
	}
	r.hits = l.model.Recommend(r.hits[:0], u, r.limit, nil)
	b := append(r.out[:0], `{"items":`...)
	var degraded int
	b, degraded = appendItems(b, l, r.hits, true)
	b = append(b, `,"model":`...)
	b = append(b, l.legacyModel...)
	b = append(b, `,"request_id":`...)
	b = jsonstr.Append(b, rid)
	b = append(b, '}')
	r.out = b
	ctx.Response.Header.SetCanonical(hdrModelVersion, l.versionB)
	if degraded > 0 {
		ctx.Response.Header.SetCanonical(hdrMetaDegraded, one)
		m.metaLookupErr.Add(degraded)
	}
	writeJSON(ctx, fasthttp.StatusOK, b)
	m.predict[pOK].Inc()
	if a.cfg.MetricsEnabled {
		m.predictLat.UpdateDuration(start)
	}
}

func (a *app) fixedRoute(ctx *fasthttp.RequestCtx, r *request, path string, rid []byte) {
	get := ctx.IsGet()
	switch path {
	case "/health", "/v1/health":
		if !get {
			a.methodNotAllowed(ctx, r)
			return
		}
		a.health(ctx, r, path == "/v1/health")
	case "/health/details", "/v1/health/details":
		if !get {
			a.methodNotAllowed(ctx, r)
			return
		}
		if _, ok := a.authenticate(ctx, r, path != "/health/details"); !ok {
			return
		}
		a.healthDetails(ctx)
	case "/models":
		if !get {
			a.methodNotAllowed(ctx, r)
			return
		}
		if _, ok := a.authenticate(ctx, r, false); !ok {
			return
		}
		a.models(ctx)
	case "/metrics", "/v1/metrics":
		if !a.cfg.MetricsEnabled {
			a.notFound(ctx, r)
			return
		}
		if !get {
			a.methodNotAllowed(ctx, r)
			return
		}
		if path == "/v1/metrics" {
			if _, ok := a.authenticate(ctx, r, true); !ok {
				return
			}
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		a.met.set.WritePrometheus(ctx)
	case "/v1/recipes":
		if !get {
			a.methodNotAllowed(ctx, r)
			return
		}
		if _, ok := a.authenticate(ctx, r, true); !ok {
			return
		}
		a.listRecipes(ctx)
	case "/openapi.json", "/docs", "/redoc":
		if !a.devDocs {
			a.notFound(ctx, r)
			return
		}
		if !get {
			a.methodNotAllowed(ctx, r)
			return
		}
		if path == "/openapi.json" {
			writeJSON(ctx, fasthttp.StatusOK, OpenAPI)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(docsHTML)
	default:
		a.notFound(ctx, r)
	}
}

func (a *app) health(ctx *fasthttp.RequestCtx, r *request, v1 bool) {
	m := *a.reg.entries.Load()
	total, loaded := len(m), 0
	for _, e := range m {
		ok := e.cur.Load() != nil
		if !v1 {
			ok = ok && e.errText.Load() == nil
		}
		if ok {
			loaded++
		}
	}
	status, code := "ok", fasthttp.StatusOK
	if loaded != total {
		status, code = "degraded", fasthttp.StatusServiceUnavailable
	}
	b := append(r.out[:0], `{"status":"`...)
	b = append(b, status...)
	b = append(b, `","total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"loaded":`...)
	b = strconv.AppendInt(b, int64(loaded), 10)
	b = append(b, '}')
	r.out = b
	writeJSON(ctx, code, b)
}

func (a *app) healthDetails(ctx *fasthttp.RequestCtx) {
	type detail struct {
		Loaded        bool    `json:"loaded"`
		TrainedAt     *string `json:"trained_at,omitempty"`
		BestClass     *string `json:"best_class,omitempty"`
		Kid           *string `json:"kid,omitempty"`
		ModelVersion  *string `json:"model_version,omitempty"`
		LastLoadError *string `json:"last_load_error,omitempty"`
		Error         *string `json:"error,omitempty"`
	}
	out := struct {
		Status  string            `json:"status"`
		Recipes map[string]detail `json:"recipes"`
	}{Status: "ok", Recipes: map[string]detail{}}
	for _, e := range a.reg.snapshot() {
		var d detail
		if l := e.acquire(); l != nil {
			d.Loaded = true
			ta, bc, kid, v := l.trainedAt, l.bestClass, l.kid, l.version
			d.TrainedAt, d.BestClass, d.Kid, d.ModelVersion = &ta, &bc, &kid, &v
			l.release()
		}
		if p := e.errText.Load(); p != nil {
			s := *p
			d.LastLoadError, d.Error = &s, &s
		}
		if !d.Loaded || d.Error != nil {
			out.Status = "degraded"
		}
		out.Recipes[e.name] = d
	}
	code := fasthttp.StatusOK
	if out.Status != "ok" {
		code = fasthttp.StatusServiceUnavailable
	}
	b, _ := json.Marshal(out)
	writeJSON(ctx, code, b)
}

func (a *app) models(ctx *fasthttp.RequestCtx) {
	list := []map[string]json.RawMessage{}
	for _, e := range a.reg.snapshot() {
		l := e.acquire()
		if l == nil {
			continue
		}
		m := make(map[string]json.RawMessage, len(l.fields)+2)
		for k, v := range l.fields {
			m[k] = append(json.RawMessage(nil), v...)
		}
		m["kid"], _ = json.Marshal(l.kid)
		m["name"], _ = json.Marshal(e.name)
		l.release()
		list = append(list, m)
	}
	b, _ := json.Marshal(list)
	writeJSON(ctx, fasthttp.StatusOK, b)
}

var supportedVerbs = []string{"recommend", "recommend-related", "batch-recommend", "batch-recommend-related"}

type recipeSummary struct {
	Name           string   `json:"name"`
	ModelVersion   string   `json:"model_version"`
	LoadedAt       string   `json:"loaded_at"`
	SupportedVerbs []string `json:"supported_verbs"`
	Kind           string   `json:"kind"`
}

func summaryOf(name string, l *loaded) recipeSummary {
	return recipeSummary{Name: name, ModelVersion: l.version, LoadedAt: l.loadedAt.Format("2006-01-02T15:04:05Z"),
		SupportedVerbs: supportedVerbs, Kind: "user-item"}
}

func (a *app) listRecipes(ctx *fasthttp.RequestCtx) {
	out := struct {
		Recipes []recipeSummary `json:"recipes"`
	}{Recipes: []recipeSummary{}}
	for _, e := range a.reg.snapshot() {
		if l := e.acquire(); l != nil {
			out.Recipes = append(out.Recipes, summaryOf(e.name, l))
			l.release()
		}
	}
	sort.Slice(out.Recipes, func(i, j int) bool { return out.Recipes[i].Name < out.Recipes[j].Name })
	b, _ := json.Marshal(out)
	writeJSON(ctx, fasthttp.StatusOK, b)
}

func rawOrNull(f map[string]json.RawMessage, k string) json.RawMessage {
	if v, ok := f[k]; ok {
		return v
	}
	return json.RawMessage("null")
}

func (a *app) recipeDetail(ctx *fasthttp.RequestCtx, e *entry, l *loaded) {
	f := l.fields
	algos := json.RawMessage("[]")
	if v, ok := f["algorithms"]; ok {
		algos = v
	} else if v, ok := f["tuning"]; ok {
		var t struct {
			Tried json.RawMessage `json:"tried_algorithms"`
		}
		if json.Unmarshal(v, &t) == nil && len(t.Tried) > 0 {
			algos = t.Tried
		}
	}
	bestScore := json.RawMessage("null")
	if v, ok := f["best_score"]; ok {
		var x float64
		if json.Unmarshal(v, &x) == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
			bestScore = v
		}
	}
	out := struct {
		recipeSummary
		ConfigDigest   json.RawMessage `json:"config_digest"`
		Algorithms     json.RawMessage `json:"algorithms"`
		BestAlgorithm  string          `json:"best_algorithm"`
		TrainedAt      json.RawMessage `json:"trained_at"`
		BestClass      json.RawMessage `json:"best_class"`
		BestParams     json.RawMessage `json:"best_params"`
		BestScore      json.RawMessage `json:"best_score"`
		Metric         json.RawMessage `json:"metric"`
		Cutoff         json.RawMessage `json:"cutoff"`
		Tuning         json.RawMessage `json:"tuning"`
		DataStats      json.RawMessage `json:"data_stats"`
		RecotemVersion json.RawMessage `json:"recotem_version"`
		IrspackVersion json.RawMessage `json:"irspack_version"`
		RecipeHash     json.RawMessage `json:"recipe_hash"`
	}{
		recipeSummary: summaryOf(e.name, l),
		ConfigDigest:  rawOrNull(f, "config_digest"), Algorithms: algos, BestAlgorithm: l.bestClass,
		TrainedAt: rawOrNull(f, "trained_at"), BestClass: rawOrNull(f, "best_class"), BestParams: rawOrNull(f, "best_params"),
		BestScore: bestScore, Metric: rawOrNull(f, "metric"), Cutoff: rawOrNull(f, "cutoff"), Tuning: rawOrNull(f, "tuning"),
		DataStats: rawOrNull(f, "data_stats"), RecotemVersion: rawOrNull(f, "recotem_version"),
		IrspackVersion: rawOrNull(f, "irspack_version"), RecipeHash: rawOrNull(f, "recipe_hash"),
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeErr(ctx, nil, fasthttp.StatusInternalServerError, "internal error", "INTERNAL_ERROR", nil)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, b)
}

// ---------------------------------------------------------------- v1

func verbIndex(v []byte) int {
	for i, n := range verbNames {
		if string(v) == n {
			return i
		}
	}
	return -1
}

func (a *app) v1Named(ctx *fasthttp.RequestCtx, r *request, rest, rid []byte) {
	if len(rest) == 0 || indexByte(rest, '/') >= 0 {
		a.notFound(ctx, r)
		return
	}
	colon := lastIndexByte(rest, ':')
	if colon < 0 {
		if !ctx.IsGet() {
			a.methodNotAllowed(ctx, r)
			return
		}
		if _, ok := a.authenticate(ctx, r, true); !ok {
			return
		}
		if !validName(rest) {
			r.addErr("String should match pattern '^[A-Za-z0-9_-]{1,64}$'", "string_pattern_mismatch", lk("path"), lk("name"))
			a.met.validationOutside.Inc()
			a.validationFailed(ctx, r, true, "", rid)
			return
		}
		e := a.reg.get(rest)
		if e == nil {
			a.log.Info("recipe_not_found", "recipe", string(rest), "request_id", string(rid))
			writeErr(ctx, r.out, fasthttp.StatusNotFound, "Recipe '"+string(rest)+"' not found", "RECIPE_NOT_FOUND", nil)
			return
		}
		l := e.acquire()
		if l == nil {
			a.log.Info("recipe_not_loaded", "recipe", e.name, "request_id", string(rid))
			writeErr(ctx, r.out, fasthttp.StatusServiceUnavailable, "Recipe '"+e.name+"' is registered but not loaded", "RECIPE_UNAVAILABLE", nil)
			return
		}
		defer l.release()
		a.recipeDetail(ctx, e, l)
		return
	}
	name, verbB := rest[:colon], rest[colon+1:]
	verb := verbIndex(verbB)
	if verb < 0 {
		a.notFound(ctx, r)
		return
	}
	if !ctx.IsPost() {
		a.methodNotAllowed(ctx, r)
		return
	}
	start := a.clock()
	if _, ok := a.authenticate(ctx, r, true); !ok {
		return
	}
	e := a.reg.get(name)
	m := a.met.unknownRecipe
	if e != nil {
		m = e.m
	}
	// validation
	related := verb == vRelated || verb == vBatchRelated
	switch {
	case !validName(name):
		r.addErr("String should match pattern '^[A-Za-z0-9_-]{1,64}$'", "string_pattern_mismatch", lk("path"), lk("name"))
	case !jsonContentType(ctx.Request.Header.ContentType()):
		r.addErr("Input should be a valid JSON body", "json_invalid", lk("body"))
	case verb == vBatch || verb == vBatchRelated:
		r.parseBatch(ctx.PostBody())
	default:
		if obj, ok := r.parseBody(ctx.PostBody()); ok {
			r.locBase = append(r.locBase[:0], lk("body"))
			r.parseV1(obj, related)
		}
	}
	if len(r.errs) > 0 {
		m.v1[verb][sValidation].Inc()
		a.validationFailed(ctx, r, true, verbNames[verb], rid)
		return
	}
	if e == nil {
		a.log.Info("recipe_not_found", "recipe", string(name), "request_id", string(rid))
		m.v1[verb][sRecipeNotFound].Inc()
		writeErr(ctx, r.out, fasthttp.StatusNotFound, "Recipe '"+string(name)+"' not found", "RECIPE_NOT_FOUND", nil)
		return
	}
	l := e.acquire()
	if l == nil {
		a.log.Info("recipe_not_loaded", "recipe", e.name, "request_id", string(rid))
		m.v1[verb][sUnavailable].Inc()
		writeErr(ctx, r.out, fasthttp.StatusServiceUnavailable, "Recipe '"+e.name+"' is registered but not loaded", "RECIPE_UNAVAILABLE", nil)
		return
	}
	defer l.release()
	if verb == vBatch || verb == vBatchRelated {
		a.batch(ctx, r, e, l, verb, rid)
	} else {
		a.single(ctx, r, e, l, verb, rid)
	}
	if a.cfg.MetricsEnabled {
		m.v1Lat[verb].UpdateDuration(start)
	}
}

// mapIDs converts id spans to item indices (unknown ids dropped).
func mapIDs(dst []int32, r *request, ids []span, l *loaded) []int32 {
	for _, s := range ids {
		if i, ok := l.model.ItemIndex(r.str(s)); ok {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// rank runs one validated request; code is "" on success.
func (a *app) rank(r *request, l *loaded, related bool) (code, msg string, status int) {
	r.excludeIdx = mapIDs(r.excludeIdx[:0], r, r.exclude, l)
	if !related {
		u, ok := l.model.UserIndex(r.str(r.userID))
		if !ok {
			return "UNKNOWN_USER", "user not seen during training", sUnknownUser
		}
		r.hits = l.model.Recommend(r.hits[:0], u, r.limit, r.excludeIdx)
		return "", "", sOK
	}
	r.seedIdx = mapIDs(r.seedIdx[:0], r, r.seeds, l)
	if len(r.seedIdx) == 0 {
		return "UNKNOWN_SEED_ITEMS", "no known seed_items", sUnknownSeeds
	}
	var err error
	r.hits, err = l.model.RecommendRelated(r.hits[:0], r.seedIdx, r.limit, r.excludeIdx)
	switch {
	case errors.Is(err, scoring.ErrUnknownSeeds):
		return "UNKNOWN_SEED_ITEMS", "no known seed_items", sUnknownSeeds
	case errors.Is(err, scoring.ErrNoCandidates) || (err == nil && len(r.hits) == 0):
		return "NO_CANDIDATES", "no candidates produced by ranker", sNoCandidates
	case err != nil:
		return "INTERNAL_ERROR", "internal error", sError
	}
	return "", "", sOK
}

func (a *app) single(ctx *fasthttp.RequestCtx, r *request, e *entry, l *loaded, verb int, rid []byte) {
	code, msg, st := a.rank(r, l, verb == vRelated)
	e.m.v1[verb][st].Inc()
	if code != "" {
		if st == sError {
			a.log.Error("unhandled_500", "recipe", e.name, "request_id", string(rid))
			writeErr(ctx, r.out, fasthttp.StatusInternalServerError, "internal error", code, rid)
			return
		}
		writeErr(ctx, r.out, fasthttp.StatusNotFound, msg, code, nil)
		return
	}
	b := append(r.out[:0], `{"request_id":`...)
	b = jsonstr.Append(b, rid)
	b = append(b, l.v1Prefix...)
	b = append(b, `,"items":`...)
	var degraded int
	b, degraded = appendItems(b, l, r.hits, true)
	b = append(b, '}')
	r.out = b
	ctx.Response.Header.SetCanonical(hdrModelVersion, l.versionB)
	if degraded > 0 {
		var nb [20]byte
		ctx.Response.Header.SetCanonical(hdrItemsDegraded, strconv.AppendInt(nb[:0], int64(degraded), 10))
		e.m.degraded[verb][0].Add(degraded)
		e.m.metaSerErr[verb].Add(degraded)
	}
	writeJSON(ctx, fasthttp.StatusOK, b)
}

func (a *app) batch(ctx *fasthttp.RequestCtx, r *request, e *entry, l *loaded, verb int, rid []byte) {
	related := verb == vBatchRelated
	n := len(r.elems)
	e.m.batchSize[verb].Update(float64(n))
	if cap(r.res) < n {
		r.res = append(r.res[:cap(r.res)], make([]elemResult, n-cap(r.res))...)
	}
	r.res = r.res[:n]
	r.batchUsers = r.batchUsers[:0]
	sum, maxLim := 0, 0
	// pass 1: validate every element in order (the aggregate limit runs
	// over accepted elements); plain recommends of known users are queued
	// for one BatchRecommend, the rest ranked one by one.
	for i, el := range r.elems {
		res := &r.res[i]
		res.code, res.msg, res.dyn, res.hits, res.batch, res.limit = "", "", res.dyn[:0], res.hits[:0], -1, 0
		r.strBuf = r.strBuf[:0]
		r.errs = r.errs[:0]
		r.locBase = r.locBase[:0]
		switch {
		case len(el) == 0 || el[0] != '{':
			res.code, res.msg = "VALIDATION_ERROR", "request must be an object"
		case !r.parseV1(el, related):
			res.code, res.dyn = "VALIDATION_ERROR", r.dottedErr(0)
		case sum+r.limit > aggregateLimit:
			res.code, res.msg = "VALIDATION_ERROR", "aggregate limit cap exceeded: 5000"
		default:
			sum += r.limit
			if !related && len(r.exclude) == 0 {
				u, ok := l.model.UserIndex(r.str(r.userID))
				if !ok {
					res.code, res.msg = "UNKNOWN_USER", "user not seen during training"
					break
				}
				res.batch, res.limit = len(r.batchUsers), r.limit
				r.batchUsers = append(r.batchUsers, u)
				maxLim = max(maxLim, r.limit)
				break
			}
			res.code, res.msg, _ = a.rank(r, l, related)
			res.hits = append(res.hits, r.hits...)
		}
	}
	if len(r.batchUsers) > 0 {
		r.batchOut = l.model.BatchRecommend(r.batchOut, r.batchUsers, maxLim)
	}
	// pass 2: write in input order
	b := append(r.out[:0], `{"request_id":`...)
	b = jsonstr.Append(b, rid)
	b = append(b, l.v1Prefix...)
	b = append(b, `,"results":[`...)
	for i := range r.res {
		res := &r.res[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		if res.code != "" {
			b = append(b, `,"status":"error","error":{"code":`...)
			b = jsonstr.Append(b, res.code)
			b = append(b, `,"message":`...)
			if len(res.dyn) > 0 {
				b = jsonstr.Append(b, res.dyn)
			} else {
				b = jsonstr.Append(b, res.msg)
			}
			b = append(b, "}}"...)
			e.m.elemErr[verb][elemCodeIndex(res.code)].Inc()
			continue
		}
		hits := res.hits
		if res.batch >= 0 {
			hits = r.batchOut[res.batch]
			hits = hits[:min(len(hits), res.limit)]
		}
		b = append(b, `,"status":"ok","items":`...)
		var degraded int
		b, degraded = appendItems(b, l, hits, r.includeMeta)
		if degraded > 0 {
			e.m.degraded[verb][0].Add(degraded)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	r.out = b
	ctx.Response.Header.SetCanonical(hdrModelVersion, l.versionB)
	writeJSON(ctx, fasthttp.StatusOK, b)
	e.m.v1[verb][sOK].Inc()
}

func elemCodeIndex(code string) int {
	for i, c := range elemCodeNames {
		if c == code {
			return i
		}
	}
	return eInternal
}

// clock reads the time for the latency histograms, which only exist for
// /metrics: without RECOTEM_METRICS_ENABLED a request reads no clock.
func (a *app) clock() time.Time {
	if a.cfg.MetricsEnabled {
		return time.Now()
	}
	return time.Time{}
}
