package appliance

import (
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/appliance/reqbody"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/recotem/recotem/internal/jsonstr"
	"github.com/recotem/recotem/scoring"
	"github.com/valyala/fasthttp"
)

var one = []byte("1")

// validationFailed writes the 422 of r's surface; v1 requests also log
// validation_failed with verb ("" outside the verbs).
func (a *app) validationFailed(ctx *fasthttp.RequestCtx, r *request, verb string) {
	code := "validation_error"
	if r.v1 {
		code = "VALIDATION_ERROR"
	}
	r.out = appendValidation(r.out[:0], code, r.rid, r.Errs)
	writeJSON(ctx, fasthttp.StatusUnprocessableEntity, r.out)
	if r.v1 {
		msgs := make([]string, 0, len(r.Errs))
		for _, e := range r.Errs {
			msgs = append(msgs, e.Type)
		}
		a.log.Info("validation_failed", "path", string(ctx.Path()), "method", string(ctx.Method()), "request_id", string(r.rid),
			"error_count", len(r.Errs), "matched_v1_verb", verb, "errors", msgs)
	}
}

// ---------------------------------------------------------------- legacy

// predict answers POST /predict/{name}.
func (a *app) predict(ctx *fasthttp.RequestCtx, r *request) {
	switch {
	case !r.Name(r.name): // recorded
	case !reqbody.JSONContentType(ctx.Request.Header.ContentType()):
		r.AddErr("Input should be a valid JSON body", "json_invalid", reqbody.Key("body"))
	default:
		r.ParseLegacy(ctx.PostBody())
	}
	if len(r.Errs) > 0 {
		a.validationFailed(ctx, r, "")
		return
	}
	e, l := a.acquireRecipe(ctx, r)
	if l == nil {
		return
	}
	defer l.Release()
	m := e.Metrics()
	u, ok := l.Scorer.UserIndex(r.Str(r.UserID))
	if !ok {
		m.Predict[telemetry.PredictUserNotFound].Inc()
		writeErr(ctx, r.out, fasthttp.StatusNotFound, "user not found", "user_not_found", nil)
		return
	}
	r.hits = l.Scorer.Recommend(r.hits[:0], u, r.Limit, nil)
	b := append(r.out[:0], `{"items":`...)
	var degraded int
	b, degraded = appendItems(b, l, r.hits, true)
	b = append(b, `,"model":`...)
	b = append(b, l.LegacyJSON...)
	b = append(b, `,"request_id":`...)
	b = jsonstr.Append(b, r.rid)
	b = append(b, '}')
	r.out = b
	ctx.Response.Header.SetCanonical(hdrModelVersion, l.VersionB)
	if degraded > 0 {
		ctx.Response.Header.SetCanonical(hdrMetaDegraded, one)
		m.MetaLookupErr.Add(degraded)
	}
	writeJSON(ctx, fasthttp.StatusOK, b)
	m.Predict[telemetry.PredictOK].Inc()
	if a.cfg.MetricsEnabled {
		m.PredictLat.UpdateDuration(r.start)
	}
}

// health answers /health (a recipe with a stored error counts as not
// loaded) and /v1/health (only the model counts).
func (a *app) health(ctx *fasthttp.RequestCtx, r *request) {
	total, loaded, healthy := a.reg.Health()
	if !r.v1 {
		loaded = healthy
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

func (a *app) healthDetails(ctx *fasthttp.RequestCtx, _ *request) {
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
	for _, e := range a.reg.Snapshot() {
		var d detail
		if l := e.Acquire(); l != nil {
			d.Loaded = true
			ta, bc, kid, v := l.TrainedAt, l.BestClass, l.Kid, l.Version
			d.TrainedAt, d.BestClass, d.Kid, d.ModelVersion = &ta, &bc, &kid, &v
			l.Release()
		}
		if s, ok := e.LastError(); ok {
			d.LastLoadError, d.Error = &s, &s
		}
		if !d.Loaded || d.Error != nil {
			out.Status = "degraded"
		}
		out.Recipes[e.Name()] = d
	}
	code := fasthttp.StatusOK
	if out.Status != "ok" {
		code = fasthttp.StatusServiceUnavailable
	}
	b, _ := json.Marshal(out)
	writeJSON(ctx, code, b)
}

func (a *app) models(ctx *fasthttp.RequestCtx, _ *request) {
	list := []map[string]json.RawMessage{}
	for _, e := range a.reg.Snapshot() {
		l := e.Acquire()
		if l == nil {
			continue
		}
		m := make(map[string]json.RawMessage, len(l.Header)+2)
		for k, v := range l.Header {
			m[k] = append(json.RawMessage(nil), v...)
		}
		m["kid"], _ = json.Marshal(l.Kid)
		m["name"], _ = json.Marshal(e.Name())
		l.Release()
		list = append(list, m)
	}
	b, _ := json.Marshal(list)
	writeJSON(ctx, fasthttp.StatusOK, b)
}

func (a *app) metrics(ctx *fasthttp.RequestCtx, _ *request) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	a.tel.Metrics().WritePrometheus(ctx)
}

func (a *app) openAPI(ctx *fasthttp.RequestCtx, _ *request) {
	writeJSON(ctx, fasthttp.StatusOK, OpenAPI)
}

func (a *app) docs(ctx *fasthttp.RequestCtx, _ *request) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(docsHTML)
}

// ---------------------------------------------------------------- v1

var supportedVerbs = telemetry.VerbNames[:]

type recipeSummary struct {
	Name           string   `json:"name"`
	ModelVersion   string   `json:"model_version"`
	LoadedAt       string   `json:"loaded_at"`
	SupportedVerbs []string `json:"supported_verbs"`
	Kind           string   `json:"kind"`
}

func summaryOf(name string, l *registry.Model) recipeSummary {
	return recipeSummary{Name: name, ModelVersion: l.Version, LoadedAt: l.LoadedAt.Format("2006-01-02T15:04:05Z"),
		SupportedVerbs: supportedVerbs, Kind: "user-item"}
}

func (a *app) listRecipes(ctx *fasthttp.RequestCtx, _ *request) {
	out := struct {
		Recipes []recipeSummary `json:"recipes"`
	}{Recipes: []recipeSummary{}}
	for _, e := range a.reg.Snapshot() {
		if l := e.Acquire(); l != nil {
			out.Recipes = append(out.Recipes, summaryOf(e.Name(), l))
			l.Release()
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

// recipe answers GET /v1/recipes/{name}.
func (a *app) recipe(ctx *fasthttp.RequestCtx, r *request) {
	if !r.Name(r.name) {
		a.tel.ValidationOutside.Inc()
		a.validationFailed(ctx, r, "")
		return
	}
	if e, l := a.acquireRecipe(ctx, r); l != nil {
		defer l.Release()
		a.recipeDetail(ctx, e, l)
	}
}

func (a *app) recipeDetail(ctx *fasthttp.RequestCtx, e *registry.Entry, l *registry.Model) {
	f := l.Header
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
		recipeSummary: summaryOf(e.Name(), l),
		ConfigDigest:  rawOrNull(f, "config_digest"), Algorithms: algos, BestAlgorithm: l.BestClass,
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

// verb answers POST /v1/recipes/{name}:{verb}.
func (a *app) verb(ctx *fasthttp.RequestCtx, r *request) {
	verb := r.verb
	batch := verb == telemetry.VerbBatch || verb == telemetry.VerbBatchRelated
	related := verb == telemetry.VerbRelated || verb == telemetry.VerbBatchRelated
	switch {
	case !r.Name(r.name): // recorded
	case !reqbody.JSONContentType(ctx.Request.Header.ContentType()):
		r.AddErr("Input should be a valid JSON body", "json_invalid", reqbody.Key("body"))
	case batch:
		r.ParseBatch(ctx.PostBody())
	default:
		if obj, ok := r.ParseBody(ctx.PostBody()); ok {
			r.LocBase = append(r.LocBase[:0], reqbody.Key("body"))
			r.ParseV1(obj, related)
		}
	}
	if len(r.Errs) > 0 {
		a.metricsOf(a.reg.Get(r.name)).V1[verb][telemetry.StatusValidation].Inc()
		a.validationFailed(ctx, r, telemetry.VerbNames[verb])
		return
	}
	e, l := a.acquireRecipe(ctx, r)
	if l == nil {
		return
	}
	defer l.Release()
	if batch {
		a.batch(ctx, r, e, l, verb)
	} else {
		a.single(ctx, r, e, l, verb)
	}
	if a.cfg.MetricsEnabled {
		e.Metrics().V1Lat[verb].UpdateDuration(r.start)
	}
}

// mapIDs converts id spans to item indices (unknown ids dropped).
func mapIDs(dst []int32, r *request, ids []reqbody.Span, l *registry.Model) []int32 {
	for _, s := range ids {
		if i, ok := l.Scorer.ItemIndex(r.Str(s)); ok {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// rank runs one validated request; code is "" on success.
func (a *app) rank(r *request, l *registry.Model, related bool) (code, msg string, status int) {
	r.excludeIdx = mapIDs(r.excludeIdx[:0], r, r.Exclude, l)
	if !related {
		u, ok := l.Scorer.UserIndex(r.Str(r.UserID))
		if !ok {
			return "UNKNOWN_USER", "user not seen during training", telemetry.StatusUnknownUser
		}
		r.hits = l.Scorer.Recommend(r.hits[:0], u, r.Limit, r.excludeIdx)
		return "", "", telemetry.StatusOK
	}
	r.seedIdx = mapIDs(r.seedIdx[:0], r, r.Seeds, l)
	if len(r.seedIdx) == 0 {
		return "UNKNOWN_SEED_ITEMS", "no known seed_items", telemetry.StatusUnknownSeeds
	}
	var err error
	r.hits, err = l.Scorer.RecommendRelated(r.hits[:0], r.seedIdx, r.Limit, r.excludeIdx)
	switch {
	case errors.Is(err, scoring.ErrUnknownSeeds):
		return "UNKNOWN_SEED_ITEMS", "no known seed_items", telemetry.StatusUnknownSeeds
	case errors.Is(err, scoring.ErrNoCandidates) || (err == nil && len(r.hits) == 0):
		return "NO_CANDIDATES", "no candidates produced by ranker", telemetry.StatusNoCandidates
	case err != nil:
		return "INTERNAL_ERROR", "internal error", telemetry.StatusError
	}
	return "", "", telemetry.StatusOK
}

func (a *app) single(ctx *fasthttp.RequestCtx, r *request, e *registry.Entry, l *registry.Model, verb int) {
	m := e.Metrics()
	code, msg, st := a.rank(r, l, verb == telemetry.VerbRelated)
	m.V1[verb][st].Inc()
	if code != "" {
		if st == telemetry.StatusError {
			a.log.Error("unhandled_500", "recipe", e.Name(), "request_id", string(r.rid))
			writeErr(ctx, r.out, fasthttp.StatusInternalServerError, "internal error", code, r.rid)
			return
		}
		writeErr(ctx, r.out, fasthttp.StatusNotFound, msg, code, nil)
		return
	}
	b := append(r.out[:0], `{"request_id":`...)
	b = jsonstr.Append(b, r.rid)
	b = append(b, l.V1Prefix...)
	b = append(b, `,"items":`...)
	var degraded int
	b, degraded = appendItems(b, l, r.hits, true)
	b = append(b, '}')
	r.out = b
	ctx.Response.Header.SetCanonical(hdrModelVersion, l.VersionB)
	if degraded > 0 {
		var nb [20]byte
		ctx.Response.Header.SetCanonical(hdrItemsDegraded, strconv.AppendInt(nb[:0], int64(degraded), 10))
		m.Degraded[verb][0].Add(degraded)
		m.MetaSerErr[verb].Add(degraded)
	}
	writeJSON(ctx, fasthttp.StatusOK, b)
}

func (a *app) batch(ctx *fasthttp.RequestCtx, r *request, e *registry.Entry, l *registry.Model, verb int) {
	m := e.Metrics()
	related := verb == telemetry.VerbBatchRelated
	n := len(r.Elems)
	m.BatchSize[verb].Update(float64(n))
	if cap(r.res) < n {
		r.res = append(r.res[:cap(r.res)], make([]elemResult, n-cap(r.res))...)
	}
	r.res = r.res[:n]
	r.batchUsers = r.batchUsers[:0]
	sum, maxLim := 0, 0
	// pass 1: validate every element in order (the aggregate limit runs
	// over accepted elements); plain recommends of known users are queued
	// for one BatchRecommend, the rest ranked one by one.
	for i, el := range r.Elems {
		res := &r.res[i]
		res.code, res.msg, res.dyn, res.hits, res.batch, res.limit = "", "", res.dyn[:0], res.hits[:0], -1, 0
		r.ResetElement()
		switch {
		case len(el) == 0 || el[0] != '{':
			res.code, res.msg = "VALIDATION_ERROR", "request must be an object"
		case !r.ParseV1(el, related):
			res.code, res.dyn = "VALIDATION_ERROR", r.DottedErr(0)
		case sum+r.Limit > reqbody.AggregateLimit:
			res.code, res.msg = "VALIDATION_ERROR", "aggregate limit cap exceeded: 5000"
		default:
			sum += r.Limit
			if !related && len(r.Exclude) == 0 {
				u, ok := l.Scorer.UserIndex(r.Str(r.UserID))
				if !ok {
					res.code, res.msg = "UNKNOWN_USER", "user not seen during training"
					break
				}
				res.batch, res.limit = len(r.batchUsers), r.Limit
				r.batchUsers = append(r.batchUsers, u)
				maxLim = max(maxLim, r.Limit)
				break
			}
			res.code, res.msg, _ = a.rank(r, l, related)
			res.hits = append(res.hits, r.hits...)
		}
	}
	if len(r.batchUsers) > 0 {
		r.batchOut = l.Scorer.BatchRecommend(r.batchOut, r.batchUsers, maxLim)
	}
	// pass 2: write in input order
	b := append(r.out[:0], `{"request_id":`...)
	b = jsonstr.Append(b, r.rid)
	b = append(b, l.V1Prefix...)
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
			m.ElemErr[verb][telemetry.ElemCodeIndex(res.code)].Inc()
			continue
		}
		hits := res.hits
		if res.batch >= 0 {
			hits = r.batchOut[res.batch]
			hits = hits[:min(len(hits), res.limit)]
		}
		b = append(b, `,"status":"ok","items":`...)
		var degraded int
		b, degraded = appendItems(b, l, hits, r.IncludeMeta)
		if degraded > 0 {
			m.Degraded[verb][0].Add(degraded)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	r.out = b
	ctx.Response.Header.SetCanonical(hdrModelVersion, l.VersionB)
	writeJSON(ctx, fasthttp.StatusOK, b)
	m.V1[verb][telemetry.StatusOK].Inc()
}

// clock reads the time for the latency histograms, which only exist for
// /metrics: without RECOTEM_METRICS_ENABLED a request reads no clock.
func (a *app) clock() time.Time {
	if a.cfg.MetricsEnabled {
		return time.Now()
	}
	return time.Time{}
}
