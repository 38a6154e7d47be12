package appliance

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/debug"

	"github.com/recotem/recotem/appliance/auth"
	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/valyala/fasthttp"
)

// route is one entry of the route table. A request is matched against the
// table in order; the first route whose path matches answers it:
//
//  1. enabled (when set) false → 404
//  2. a method other than GET (get) or POST → 405
//  3. timed routes read the clock for their latency histogram
//  4. auth routes check the API key → 401 in the route's surface's shape
//  5. serve
type route struct {
	path    string                             // the path, or its prefix when match is set
	match   func(r *request, rest []byte) bool // prefix routes: takes the rest of the path; false → not this route
	enabled func(a *app) bool                  // nil: always
	get     bool                               // GET, else POST
	v1      bool                               // the /v1 surface: its error codes and shapes
	auth    bool                               // needs an API key
	timed   bool                               // has a latency histogram
	serve   func(*app, *fasthttp.RequestCtx, *request)
}

// routes is the one route table of both surfaces (recotem-behavior.md §5).
var routes = [...]route{
	{path: "/predict/", match: matchPredict, auth: true, timed: true, serve: (*app).predict},
	{path: "/v1/recipes/", match: matchVerb, v1: true, auth: true, timed: true, serve: (*app).verb},
	{path: "/v1/recipes/", match: matchRecipe, get: true, v1: true, auth: true, serve: (*app).recipe},
	{path: "/health", get: true, serve: (*app).health},
	{path: "/v1/health", get: true, v1: true, serve: (*app).health},
	{path: "/health/details", get: true, auth: true, serve: (*app).healthDetails},
	{path: "/v1/health/details", get: true, v1: true, auth: true, serve: (*app).healthDetails},
	{path: "/models", get: true, auth: true, serve: (*app).models},
	{path: "/metrics", enabled: metricsOn, get: true, serve: (*app).metrics},
	{path: "/v1/metrics", enabled: metricsOn, get: true, v1: true, auth: true, serve: (*app).metrics},
	{path: "/v1/recipes", get: true, v1: true, auth: true, serve: (*app).listRecipes},
	{path: "/openapi.json", enabled: docsOn, get: true, serve: (*app).openAPI},
	{path: "/docs", enabled: docsOn, get: true, serve: (*app).docs},
	{path: "/redoc", enabled: docsOn, get: true, serve: (*app).docs},
}

func metricsOn(a *app) bool { return a.cfg.MetricsEnabled }
func docsOn(a *app) bool    { return a.devDocs }

// matchPredict takes /predict/{name}.
func matchPredict(r *request, rest []byte) bool {
	if len(rest) == 0 || bytes.IndexByte(rest, '/') >= 0 {
		return false
	}
	r.name = rest
	return true
}

// matchRecipe takes /v1/recipes/{name}.
func matchRecipe(r *request, rest []byte) bool {
	if len(rest) == 0 || bytes.IndexByte(rest, '/') >= 0 || bytes.IndexByte(rest, ':') >= 0 {
		return false
	}
	r.name = rest
	return true
}

// matchVerb takes /v1/recipes/{name}:{verb} with a known verb (the name is
// everything before the last colon).
func matchVerb(r *request, rest []byte) bool {
	colon := bytes.LastIndexByte(rest, ':')
	if colon < 0 || bytes.IndexByte(rest, '/') >= 0 {
		return false
	}
	verb := verbIndex(rest[colon+1:])
	if verb < 0 {
		return false
	}
	r.name, r.verb = rest[:colon], verb
	return true
}

func verbIndex(v []byte) int {
	for i, n := range telemetry.VerbNames {
		if string(v) == n {
			return i
		}
	}
	return -1
}

// handle is the single fasthttp handler: the rules every request follows
// (request id, fault recovery, Host allow-list, CORS), then the route table.
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
	ctx.Response.Header.SetCanonical(hdrRequestID, r.rid)

	if !a.hosts.Allowed(ctx.Host()) {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentTypeBytes(ctText)
		ctx.SetBodyString("Invalid host header")
		return
	}
	if len(a.origins.List()) > 0 {
		if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 {
			if ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
				a.preflight(ctx, origin)
				return
			}
			if a.origins.Allowed(origin) {
				a.allowOrigin(&ctx.Response.Header, origin)
			}
		}
	}

	path := ctx.Path()
	for i := range routes {
		rt := &routes[i]
		if rt.match == nil {
			if string(path) != rt.path {
				continue
			}
		} else if len(path) < len(rt.path) || string(path[:len(rt.path)]) != rt.path || !rt.match(r, path[len(rt.path):]) {
			continue
		}
		a.serveRoute(ctx, r, rt)
		return
	}
	a.notFound(ctx, r)
}

func (a *app) serveRoute(ctx *fasthttp.RequestCtx, r *request, rt *route) {
	if rt.enabled != nil && !rt.enabled(a) {
		a.notFound(ctx, r)
		return
	}
	if rt.get && !ctx.IsGet() || !rt.get && !ctx.IsPost() {
		a.methodNotAllowed(ctx, r)
		return
	}
	r.v1 = rt.v1
	if rt.timed {
		r.start = a.clock()
	}
	if rt.auth && !a.authenticate(ctx, r) {
		return
	}
	rt.serve(a, ctx, r)
}

const exposeHeaders = "X-Request-ID, X-Recotem-Model-Version, X-Recotem-Items-Degraded"

func (a *app) allowOrigin(h *fasthttp.ResponseHeader, origin []byte) {
	if a.origins.Any() {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.SetBytesV("Access-Control-Allow-Origin", origin)
		h.Set("Vary", "Origin")
	}
	h.Set("Access-Control-Expose-Headers", exposeHeaders)
}

func (a *app) preflight(ctx *fasthttp.RequestCtx, origin []byte) {
	h := &ctx.Response.Header
	if !a.origins.Allowed(origin) {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentTypeBytes(ctText)
		ctx.SetBodyString("Disallowed CORS origin")
		return
	}
	a.allowOrigin(h, origin)
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if req := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(req) > 0 {
		h.SetBytesV("Access-Control-Allow-Headers", req)
	} else {
		h.Set("Access-Control-Allow-Headers", "*")
	}
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
// 401 of r's surface and returns false.
func (a *app) authenticate(ctx *fasthttp.RequestCtx, r *request) bool {
	if !a.authEnabled {
		if a.log.Enabled(context.Background(), slog.LevelDebug) {
			a.log.Debug("auth_anonymous_bypass", "client_host", ctx.RemoteIP().String(), "path", string(ctx.Path()), "mode", a.anonMode)
		}
		ip, _ := netip.AddrFromSlice(ctx.RemoteIP())
		if a.anon.FirstSeen(ip) {
			a.log.Info("auth_anonymous_bypass_first_seen", "client_host", ip.String(), "path", string(ctx.Path()), "mode", a.anonMode)
		}
		return true
	}
	key := ctx.Request.Header.PeekBytes(hdrAPIKey)
	_, res := a.auth.Verify(key)
	if res == auth.OK && auth.PaddedKey(ctx.Request.Header.RawHeaders()) {
		res = auth.Invalid
	}
	switch res {
	case auth.OK:
		return true
	case auth.Missing:
		a.log.Warn("auth_missing_header", "path", string(ctx.Path()))
	case auth.Oversized:
		a.log.Warn("auth_oversized_header", "path", string(ctx.Path()), "length", len(key), "cap", auth.MaxKeyLen)
	case auth.Short:
		a.log.Warn("auth_short_key_rejected", "path", string(ctx.Path()), "length", len(key), "min_len", auth.MinKeyLen)
	default:
		a.log.Warn("auth_invalid_key", "path", string(ctx.Path()))
	}
	missing := res == auth.Missing
	detail, code := "Invalid API key", "invalid_api_key"
	if missing {
		detail, code = "X-API-Key header required", "missing_api_key"
	}
	if r.v1 {
		if missing {
			code = "MISSING_API_KEY"
		} else {
			code = "INVALID_API_KEY"
		}
	}
	writeErr(ctx, r.out, fasthttp.StatusUnauthorized, detail, code, nil)
	return false
}

// metricsOf returns e's metric handles, or those of unknown names.
func (a *app) metricsOf(e *registry.Entry) *telemetry.Recipe {
	if e == nil {
		return a.tel.UnknownRecipe
	}
	return e.Metrics()
}

// acquireRecipe finds the recipe named r.name and takes a reference to its
// model; the caller releases it. When there is no model it answers in r's
// surface's shape — legacy: 503 recipe_unavailable whether the recipe is
// unknown or not loaded; v1: 404 RECIPE_NOT_FOUND or 503
// RECIPE_UNAVAILABLE — logs and counts that, and returns a nil model.
func (a *app) acquireRecipe(ctx *fasthttp.RequestCtx, r *request) (*registry.Entry, *registry.Model) {
	e := a.reg.Get(r.name)
	if e != nil {
		if l := e.Acquire(); l != nil {
			return e, l
		}
	}
	m := a.metricsOf(e)
	switch {
	case !r.v1:
		reason := "no_entry"
		if e != nil {
			reason = "not_loaded"
		}
		a.log.Warn("recipe_unavailable", "recipe", string(r.name), "reason", reason, "request_id", string(r.rid))
		m.Predict[telemetry.PredictUnavailable].Inc()
		writeErr(ctx, r.out, fasthttp.StatusServiceUnavailable, "Recipe '"+string(r.name)+"' is not loaded or unhealthy", "recipe_unavailable", nil)
	case e == nil:
		a.log.Info("recipe_not_found", "recipe", string(r.name), "request_id", string(r.rid))
		if r.verb >= 0 {
			m.V1[r.verb][telemetry.StatusRecipeNotFound].Inc()
		}
		writeErr(ctx, r.out, fasthttp.StatusNotFound, "Recipe '"+string(r.name)+"' not found", "RECIPE_NOT_FOUND", nil)
	default:
		a.log.Info("recipe_not_loaded", "recipe", e.Name(), "request_id", string(r.rid))
		if r.verb >= 0 {
			m.V1[r.verb][telemetry.StatusUnavailable].Inc()
		}
		writeErr(ctx, r.out, fasthttp.StatusServiceUnavailable, "Recipe '"+e.Name()+"' is registered but not loaded", "RECIPE_UNAVAILABLE", nil)
	}
	return e, nil
}

// faultGuard arms the request goroutine so that a fault on a mapped page
// panics instead of killing the process; recoverFault turns that panic
// into a 503 (see package registry's guard).
func faultGuard() { debug.SetPanicOnFault(true) }

// recoverFault is deferred by the request handler.
func (a *app) recoverFault(ctx *fasthttp.RequestCtx, r *request) {
	rec := recover()
	if rec == nil {
		return
	}
	fe, ok := rec.(interface{ Addr() uintptr })
	if !ok {
		panic(rec)
	}
	a.tel.RequestFaults.Inc()
	a.log.Error("request_memory_fault", "addr", fmt.Sprintf("%#x", fe.Addr()), "path", string(ctx.Path()), "request_id", string(r.rid))
	ctx.Response.Reset()
	ctx.Response.Header.SetCanonical(hdrRequestID, r.rid)
	writeErr(ctx, r.out, fasthttp.StatusServiceUnavailable, "the model's artifact changed on disk while it was read; retry", "RECIPE_UNAVAILABLE", nil)
	a.reg.Fault(fe.Addr())
}
