package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/recotem/recotem/appliance/auth"
	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/appliance/reqbody"
	"github.com/recotem/recotem/appliance/telemetry"
	"github.com/recotem/recotem/format"
	"github.com/valyala/fasthttp"
)

// app is one serve process: its configuration, the registry it serves
// from and the per-request rules (auth, Host allow-list, CORS).
type app struct {
	cfg  Config
	log  *slog.Logger
	ring *format.KeyRing
	reg  *registry.Registry
	tel  *telemetry.Set

	authEnabled bool
	anonMode    string // "insecure_no_auth" or "loopback_no_keys"
	auth        *auth.Authenticator
	anon        auth.Anonymous

	hosts   auth.Hosts
	origins auth.Origins
	devDocs bool

	reqPool sync.Pool
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
	a := &app{cfg: cfg, log: log}
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
	origins := a.origins.List()
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
		"allowed_hosts", a.hosts.List(),
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
	a.hosts = auth.NewHosts(cfg.AllowedHosts)
	a.origins = auth.NewOrigins(cfg.AllowedOrigins)
	a.devDocs = IsDevEnv(cfg.Env)
	a.auth = auth.New(cfg.APIKeys)
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
	// 5. lenient load + parallel initial loads; ctx stops a stalled one
	a.open(ctx)
	// last: requests and the watcher are done with every model
	defer a.reg.Close()

	// 6. watcher, bind, banner
	a.reg.StartWatcher(ctx)

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

// open creates the metric set and opens the registry: every recipe is
// registered and its initial load done (or failed) when it returns.
func (a *app) open(ctx context.Context) {
	a.tel = telemetry.New(func() float64 { return float64(a.reg.Active()) })
	a.reg = registry.Open(ctx, registry.Options{
		RecipesDir:         a.cfg.RecipesDir,
		Loader:             a.cfg.Loader,
		Metrics:            a.tel,
		Logger:             a.log,
		Ring:               a.ring,
		Limits:             a.cfg.Limits,
		Residency:          a.cfg.residency(),
		WatchInterval:      a.cfg.watchInterval(),
		StartupParallelism: a.cfg.StartupParallelism,
		MetadataDeny:       a.cfg.MetadataDeny,
		MaxDownloadBytes:   a.cfg.MaxDownloadBytes,
		HTTPTimeout:        a.cfg.HTTPTimeout,
		HTTPAllowPrivate:   a.cfg.HTTPAllowPrivate,
		ResultCacheBytes:   a.cfg.ResultCacheBytes,
	})
}

// stopWatcher stops the watcher, waiting for it at most
// max(1, min(5, drain)) seconds.
func (a *app) stopWatcher() {
	a.reg.StopWatcher(time.Duration(max(1, min(5, a.cfg.drain()))) * time.Second)
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
		MaxRequestBodySize:    reqbody.MaxBodyBytes,
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
		errs := []reqbody.Err{{Loc: []reqbody.Loc{reqbody.Key("body")}, Msg: "Request body exceeds 8388608 bytes", Type: "too_large"}}
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
