package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/valyala/fasthttp"
)

type app struct {
	cfg  Config
	log  *slog.Logger
	ring *format.KeyRing
	open openFunc
	reg  *registry
	met  *metricSet

	authEnabled bool
	anonMode    string // "insecure_no_auth" or "loopback_no_keys"
	auth        *authenticator
	anon        anonLRU

	hosts     []string // lower-case patterns
	anyHost   bool
	origins   []string
	anyOrigin bool
	devDocs   bool

	reqPool sync.Pool

	// object-store artifacts and metadata (remote.go)
	remote remoteState

	// file guard (guard.go)
	guard *guard

	// watcher
	watchStop chan struct{}
	watchDone chan struct{}
	dirSig    string
	tickFails int
	unhealthy bool
}

// Run validates cfg, logs the security posture, loads every recipe, starts
// the watcher and serves until ctx is done, then drains. It returns nil
// after a drain; a *ConfigError or *BindError otherwise.
func Run(ctx context.Context, cfg Config) error {
	a, err := newApp(cfg)
	if err != nil {
		return err
	}
	return a.run(ctx)
}

func newApp(cfg Config) (*app, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &app{cfg: cfg, log: log, open: openScoring}
	a.reqPool.New = func() any { return &request{} }
	return a, nil
}

func (a *app) posture(status string, host string) {
	var keys []map[string]string
	var kids []string
	if a.ring != nil && status == "configured" {
		for _, k := range a.ring.Kids() {
			sec, _ := a.ring.Lookup(k)
			keys = append(keys, map[string]string{"kid": format.SafeKid(k), "fingerprint": format.Fingerprint(sec)})
			kids = append(kids, format.SafeKid(k))
		}
	}
	origins := a.origins
	if origins == nil {
		origins = []string{} // log [] rather than null when CORS is off
	}
	a.log.Info("security.posture",
		"auth_enabled", a.authEnabled,
		"bind_host", host,
		"signing_keys", keys,
		"signing_kids", kids,
		"signing_key_status", status,
		"env", a.cfg.Env,
		"allowed_hosts", a.hosts,
		"allowed_origins", origins,
		"unsafe_mode", a.cfg.InsecureNoAuth || a.cfg.DevAllowUnsigned,
	)
}

func (a *app) configure() (string, error) {
	cfg := &a.cfg
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	a.hosts = nil
	for _, h := range cfg.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if h == "*" {
			a.anyHost = true
		}
		a.hosts = append(a.hosts, h)
	}
	if len(a.hosts) == 0 {
		a.hosts = []string{"127.0.0.1", "localhost"}
	}
	for _, o := range cfg.AllowedOrigins {
		if o = strings.TrimSpace(o); o != "" {
			if o == "*" {
				a.anyOrigin = true
			}
			a.origins = append(a.origins, o)
		}
	}
	a.devDocs = IsDevEnv(cfg.Env)
	a.auth = newAuthenticator(cfg.APIKeys)
	a.authEnabled = len(cfg.APIKeys) > 0 && !cfg.InsecureNoAuth
	keyStatus := func() string {
		switch {
		case cfg.DevAllowUnsigned:
			return "dev_allow_unsigned"
		case cfg.KeyRingErr != nil:
			return "construction_failed"
		case cfg.KeyRing == nil:
			return "missing"
		}
		a.ring = cfg.KeyRing
		return "configured"
	}
	// 1. unsafe flags
	if cfg.InsecureNoAuth && !IsDevEnv(cfg.Env) {
		a.posture(keyStatus(), host)
		return host, &ConfigError{Msg: "--insecure-no-auth requires RECOTEM_ENV to be development, dev or test"}
	}
	if cfg.DevAllowUnsigned && (!cfg.IUnderstand || cfg.Env != "development") {
		a.posture(keyStatus(), host)
		return host, &ConfigError{Msg: "--dev-allow-unsigned requires --i-understand-this-loads-arbitrary-code and RECOTEM_ENV=development"}
	}
	// 2. anonymous → loopback
	if !a.authEnabled {
		a.anonMode = "loopback_no_keys"
		if cfg.InsecureNoAuth {
			a.anonMode = "insecure_no_auth"
		} else if host != "127.0.0.1" {
			a.log.Warn("host_forced_to_loopback", "requested_host", host)
			host = "127.0.0.1"
		}
	}
	// 3./4. signing keys and posture
	status := keyStatus()
	if status == "dev_allow_unsigned" {
		a.ring = nil
		a.log.Warn("signing_key_verification_disabled", "env", cfg.Env)
	}
	a.posture(status, host)
	switch status {
	case "construction_failed":
		return host, &ConfigError{Msg: "RECOTEM_SIGNING_KEYS is malformed: " + cfg.KeyRingErr.Error()}
	case "missing":
		return host, &ConfigError{Msg: "RECOTEM_SIGNING_KEYS is not set; set it (recotem keygen) or use --dev-allow-unsigned with --i-understand-this-loads-arbitrary-code under RECOTEM_ENV=development"}
	}
	lim := cfg.Limits
	art, pay := lim.MaxArtifactBytes, lim.MaxPayloadBytes
	if art == 0 {
		art = 2 << 30
	}
	if pay == 0 {
		pay = 512 << 20
	}
	if pay > art {
		return host, &ConfigError{Msg: "RECOTEM_MAX_PAYLOAD_BYTES exceeds RECOTEM_MAX_ARTIFACT_BYTES"}
	}
	if cfg.Loader == nil || cfg.RecipesDir == "" {
		return host, &ConfigError{Msg: "serve needs a recipes directory"}
	}
	return host, nil
}

func (a *app) run(ctx context.Context) error {
	host, err := a.configure()
	if err != nil {
		return err
	}
	a.reg = newRegistry()
	defer a.closeBlobs() // after the drain and the watcher's stop
	a.met = newMetricSet(func() float64 { return float64(a.reg.activeCount()) })
	a.startGuard()
	defer a.stopGuard() // last: requests and the watcher are done with every model

	// 5. lenient load + parallel initial loads
	a.dirSig = dirSignature(a.cfg.RecipesDir)
	infos, problems, derr := a.cfg.Loader.LoadDir(a.cfg.RecipesDir)
	if derr != nil {
		a.log.Error("recipes_dir_scan_error", "path", a.cfg.RecipesDir, "error", clipError(derr.Error()))
	}
	entries := a.applyScan(infos, problems, true)
	par := a.cfg.StartupParallelism
	if par <= 0 {
		par = min(max(len(entries), 1), 8)
	}
	par = min(par, 32)
	a.initialLoad(entries, par)

	// 6. watcher, bind, banner
	a.watchStop = make(chan struct{})
	a.watchDone = make(chan struct{})
	interval := a.cfg.watchInterval()
	a.log.Info("artifact_watcher_started", "interval", interval.Seconds())
	go a.watch(interval)

	srv := a.server()
	port := a.cfg.Port
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		a.stopWatcher()
		a.log.Error("serve_bind_failed", "error", err.Error(), "host", host, "port", port, "errno", errnoName(err))
		return &BindError{Host: host, Port: port, Errno: errnoName(err), Err: err}
	}
	var uln net.Listener
	if a.cfg.UDS != "" {
		if st, err := os.Lstat(a.cfg.UDS); err == nil && st.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(a.cfg.UDS)
		}
		uln, err = net.Listen("unix", a.cfg.UDS)
		if err != nil {
			ln.Close()
			a.stopWatcher()
			a.log.Error("serve_bind_failed", "error", err.Error(), "host", a.cfg.UDS, "port", 0, "errno", errnoName(err))
			return &BindError{Host: a.cfg.UDS, Errno: errnoName(err), Err: err}
		}
		defer os.Remove(a.cfg.UDS)
	}
	tcpAddr := ln.Addr().(*net.TCPAddr)
	a.log.Info("serve_listening", "host", host, "port", tcpAddr.Port, "uds", a.cfg.UDS)

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if uln != nil {
		go func() { serveErr <- srv.Serve(uln) }()
	}
	bannerCtx, cancelBanner := context.WithCancel(context.Background())
	defer cancelBanner()
	if a.cfg.InsecureNoAuth || a.cfg.DevAllowUnsigned {
		go a.banner(bannerCtx, host)
	}
	if a.cfg.Ready != nil {
		a.cfg.Ready(tcpAddr)
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			a.log.Error("serve_failed", "error", err.Error())
		}
	}
	// drain: stop accepting, stop the watcher, finish in-flight requests
	drain := a.cfg.drain()
	dctx, cancel := context.WithTimeout(context.Background(), time.Duration(drain)*time.Second)
	defer cancel()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- srv.ShutdownWithContext(dctx) }()
	a.stopWatcher()
	cancelBanner()
	if err := <-shutdownDone; err != nil {
		a.log.Warn("serve_drain_timeout", "drain_seconds", drain)
	}
	a.log.Info("serve_shutdown", "drain_seconds", drain)
	return nil
}

func errnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case syscall.EADDRINUSE:
			return "EADDRINUSE"
		case syscall.EACCES:
			return "EACCES"
		case syscall.EADDRNOTAVAIL:
			return "EADDRNOTAVAIL"
		}
		return fmt.Sprintf("errno %d", int(en))
	}
	return ""
}

func (a *app) stopWatcher() {
	if a.watchStop == nil {
		return
	}
	close(a.watchStop)
	join := time.Duration(max(1, min(5, a.cfg.drain()))) * time.Second
	select {
	case <-a.watchDone:
	case <-time.After(join):
		a.log.Warn("artifact_watcher_join_timeout", "timeout", join.Seconds())
	}
	a.watchStop = nil
}

func (a *app) banner(ctx context.Context, host string) {
	period := 300 * time.Second
	if a.cfg.Env == "test" {
		period = 60 * time.Second
	}
	emit := func() {
		if a.cfg.InsecureNoAuth {
			a.log.Warn("INSECURE_NO_AUTH_ACTIVE", "env", a.cfg.Env, "bind_host", host)
		}
		if a.cfg.DevAllowUnsigned {
			a.log.Warn("DEV_ALLOW_UNSIGNED_ACTIVE", "env", a.cfg.Env, "bind_host", host)
		}
	}
	emit()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			emit()
		}
	}
}

func (a *app) server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               a.handle,
		ErrorHandler:          a.errorHandler,
		MaxRequestBodySize:    maxBodyBytes,
		ReadTimeout:           60 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           60 * time.Second,
		CloseOnShutdown:       true,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Logger:                fasthttpLogger{a.log},
	}
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug("fasthttp", "message", fmt.Sprintf(format, args...))
}

// errorHandler answers requests fasthttp could not read: an oversized body
// gets 413 with the validation envelope.
func (a *app) errorHandler(ctx *fasthttp.RequestCtx, err error) {
	var rid [12]byte
	newRequestID(&rid)
	ctx.Response.Header.SetCanonical(hdrRequestID, rid[:])
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		errs := []valErr{{loc: []locElem{lk("body")}, msg: "Request body exceeds 8388608 bytes", typ: "too_large"}}
		code := "validation_error"
		if strings.HasPrefix(string(ctx.Path()), "/v1/") {
			code = "VALIDATION_ERROR"
		}
		writeJSON(ctx, fasthttp.StatusRequestEntityTooLarge, appendValidation(nil, code, rid[:], errs))
		ctx.SetConnectionClose()
		return
	}
	ctx.Error("Bad Request", fasthttp.StatusBadRequest)
}

func newRequestID(dst *[12]byte) {
	v := rand.Uint64()
	for i := range dst {
		dst[i] = hexd[v&15]
		v >>= 4
	}
}

func validRequestID(b []byte) bool {
	if len(b) < 1 || len(b) > 128 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validName(b []byte) bool {
	if len(b) < 1 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// hostAllowed matches the Host header (port ignored) against the list.
func (a *app) hostAllowed(h []byte) bool {
	if a.anyHost {
		return true
	}
	// strip port (IPv6 literals keep their brackets)
	if len(h) > 0 && h[0] == '[' {
		if i := indexByte(h, ']'); i >= 0 {
			h = h[:i+1]
		}
	} else if i := lastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	for _, p := range a.hosts {
		if len(p) > 2 && p[0] == '*' && p[1] == '.' {
			suf := p[1:]
			if len(h) > len(suf) && equalFold(h[len(h)-len(suf):], suf) {
				return true
			}
			continue
		}
		if equalFold(h, p) {
			return true
		}
	}
	return false
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (a *app) originAllowed(o []byte) bool {
	if a.anyOrigin {
		return true
	}
	for _, p := range a.origins {
		if string(o) == p {
			return true
		}
	}
	return false
}

// anonLRU remembers the last 1024 anonymous client hosts.
type anonLRU struct {
	mu   sync.Mutex
	seen map[netip.Addr]struct{}
	ring [1024]netip.Addr
	n    int
}

// firstSeen reports whether addr was not among the remembered hosts.
func (l *anonLRU) firstSeen(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = make(map[netip.Addr]struct{}, len(l.ring))
	}
	if _, ok := l.seen[addr]; ok {
		return false
	}
	slot := l.n % len(l.ring)
	if l.n >= len(l.ring) {
		delete(l.seen, l.ring[slot])
	}
	l.ring[slot] = addr
	l.seen[addr] = struct{}{}
	l.n++
	return true
}
