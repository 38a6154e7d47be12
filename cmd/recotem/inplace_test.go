package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The in-place tests run `recotem serve` processes under closed-loop load
// over real HTTP on loopback while an operator's tools (cp, truncate, dd,
// rm) write into the very file being served, under both versioning modes
// and with several processes mapping one file. The process never dies,
// there are no transport errors and no non-200 answers, every 200 is the
// answer of a verified model (its model_version's own answer, recorded while
// nothing was disturbed), and the final good artifact is served.

const chaosDuration = 20 * time.Second

type chaosFixture struct {
	k      keys
	a, b   []byte // two verified artifacts (TopPop, IALS)
	va, vb string
	users  []string
}

var (
	chaosOnce sync.Once
	chaosFx   *chaosFixture
	chaosErr  string
)

// newChaosFixture trains the two artifacts once per test binary.
func newChaosFixture(t *testing.T) *chaosFixture {
	t.Helper()
	chaosOnce.Do(func() {
		fx := &chaosFixture{k: genKeys(t)}
		dir := t.TempDir()
		env := []string{fx.k.signingEnv, "RECOTEM_LOCK_DIR=" + filepath.Join(dir, "locks")}
		for i, algo := range []string{"TopPop", "IALS"} {
			name := []string{"a", "b"}[i]
			recipe := writeRecipe(t, dir, name, algo, 2)
			if r := recotem(t, dir, env, "train", recipe); r.code != 0 {
				chaosErr = fmt.Sprintf("train %s: exit %d\n%s", algo, r.code, r.stderr)
				return
			}
			ptr, _ := os.ReadFile(filepath.Join(dir, "out", name+".recotem"))
			data, err := os.ReadFile(filepath.Join(dir, "out", strings.TrimSpace(string(ptr))))
			if err != nil {
				chaosErr = err.Error()
				return
			}
			if i == 0 {
				fx.a, fx.va = data, version(data)
			} else {
				fx.b, fx.vb = data, version(data)
			}
		}
		seen := map[string]bool{}
		csv, _ := os.ReadFile(filepath.Join(repoRoot(t), "examples", "quickstart", "interactions.csv"))
		for _, line := range strings.Split(string(csv), "\n")[1:] {
			if u, _, ok := strings.Cut(line, ","); ok && !seen[u] && len(fx.users) < 24 {
				seen[u] = true
				fx.users = append(fx.users, u)
			}
		}
		chaosFx = fx
	})
	if chaosFx == nil {
		t.Fatalf("fixture: %s", chaosErr)
	}
	return chaosFx
}

func version(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func TestServedArtifactSurvivesInPlaceWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of load per versioning mode; skipped with -short")
	}
	fx := newChaosFixture(t)
	for _, mode := range []string{"always_overwrite", "append_sha"} {
		t.Run(mode, func(t *testing.T) { fx.run(t, mode, 1) })
	}
}

func TestSeveralServeProcessesShareOneInPlaceFile(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of load on three serve processes; skipped with -short")
	}
	fx := newChaosFixture(t)
	fx.run(t, "append_sha", 3)
}

type chaosServer struct {
	s      *served
	client *fasthttp.HostClient
}

func (c *chaosServer) get(t *testing.T, path, key string) (int, []byte) {
	t.Helper()
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI(c.s.base + path)
	req.Header.Set("X-API-Key", key)
	if err := c.client.DoTimeout(req, res, 10*time.Second); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return res.StatusCode(), append([]byte(nil), res.Body()...)
}

// detail is the recipe's /health/details entry.
func (c *chaosServer) detail(t *testing.T, key string) map[string]any {
	_, body := c.get(t, "/health/details", key)
	var d struct {
		Recipes map[string]map[string]any `json:"recipes"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("/health/details: %v %s", err, body)
	}
	return d.Recipes["quick"]
}

var itemIDRE = regexp.MustCompile(`"item_id":"([^"]+)"`)

func itemsOf(body []byte) string {
	var ids []string
	for _, m := range itemIDRE.FindAllSubmatch(body, -1) {
		ids = append(ids, string(m[1]))
	}
	return strings.Join(ids, ",")
}

func (fx *chaosFixture) run(t *testing.T, mode string, nproc int) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	backup := filepath.Join(dir, "backup")
	for _, d := range []string{out, backup, filepath.Join(dir, "recipes")} {
		os.MkdirAll(d, 0o755)
	}
	bakA, bakB := filepath.Join(backup, "a.recotem"), filepath.Join(backup, "b.recotem")
	os.WriteFile(bakA, fx.a, 0o644)
	os.WriteFile(bakB, fx.b, 0o644)
	output := filepath.Join(out, "quick.recotem")
	target := output // the file serve maps
	if mode == "append_sha" {
		name := "quick." + fx.va[len("sha256:"):][:8] + ".recotem"
		target = filepath.Join(out, name)
		os.WriteFile(output, []byte(name+"\n"), 0o644)
	}
	os.WriteFile(target, fx.a, 0o644)
	recipe := fmt.Sprintf("name: quick\nsource: {type: csv, path: %q}\nschema: {user_column: user_id, item_column: item_id}\ntraining: {algorithms: [TopPop], n_trials: 1}\noutput: {path: %q, versioning: %s}\n",
		filepath.Join(repoRoot(t), "examples", "quickstart", "interactions.csv"), output, mode)
	os.WriteFile(filepath.Join(dir, "recipes", "quick.yaml"), []byte(recipe), 0o644)

	env := []string{fx.k.signingEnv, fx.k.apiEnv, "RECOTEM_WATCH_INTERVAL=1", "RECOTEM_METRICS_ENABLED=1"}
	var servers []*chaosServer
	for i := 0; i < nproc; i++ {
		s := startServeArgs(t, dir, env, "--recipes", filepath.Join(dir, "recipes"), "--port", "0")
		servers = append(servers, &chaosServer{s: s, client: &fasthttp.HostClient{Addr: strings.TrimPrefix(s.base, "http://"), MaxConns: 64}})
	}
	key := fx.k.apiPlain
	waitAll := func(what string, ok func(d map[string]any) bool) {
		t.Helper()
		for _, c := range servers {
			if !waitFor(t, 30*time.Second, func() bool { return ok(c.detail(t, key)) }) {
				t.Fatalf("%s: %s never reached %s; detail %v", mode, c.s.base, what, c.detail(t, key))
			}
		}
	}
	serving := func(v string) func(map[string]any) bool {
		return func(d map[string]any) bool { return d["model_version"] == v && d["loaded"] == true }
	}
	clean := func(v string) func(map[string]any) bool {
		return func(d map[string]any) bool { return serving(v)(d) && d["last_load_error"] == nil }
	}
	failedLoad := func(v string) func(map[string]any) bool {
		return func(d map[string]any) bool { return serving(v)(d) && d["last_load_error"] != nil }
	}
	swapIn := func(data []byte) { // atomic publish, as train does
		tmp := target + ".tmp"
		os.WriteFile(tmp, data, 0o644)
		if err := os.Rename(tmp, target); err != nil {
			t.Fatal(err)
		}
	}

	// Each version's own answers, recorded with nothing disturbed.
	expect := map[string]map[string]string{}
	record := func(v string) {
		waitAll("clean "+v, clean(v))
		expect[v] = map[string]string{}
		for _, u := range fx.users {
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(servers[0].s.base + "/v1/recipes/quick:recommend")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("X-API-Key", key)
			req.SetBodyString(fmt.Sprintf(`{"user_id":%q,"limit":5}`, u))
			if err := servers[0].client.DoTimeout(req, res, 10*time.Second); err != nil || res.StatusCode() != 200 {
				t.Fatalf("record %s %s: %v %d %s", v, u, err, res.StatusCode(), res.Body())
			}
			expect[v][u] = itemsOf(res.Body())
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(res)
		}
	}
	record(fx.va)
	swapIn(fx.b)
	record(fx.vb)
	if fmt.Sprint(expect[fx.va]) == fmt.Sprint(expect[fx.vb]) {
		t.Fatal("the two models answer alike; the test could not tell them apart")
	}
	swapIn(fx.a)
	waitAll("clean A", clean(fx.va))

	// Load: closed loop, 8 workers spread over the servers.
	var ok, transport, non200, unverified, wrong atomic.Int64
	var mu sync.Mutex
	var samples []string
	sample := func(s string) {
		mu.Lock()
		if len(samples) < 5 {
			samples = append(samples, s)
		}
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := servers[w%len(servers)]
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			req.SetRequestURI(c.s.base + "/v1/recipes/quick:recommend")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("X-API-Key", key)
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u := fx.users[i%len(fx.users)]
				req.SetBodyString(`{"user_id":"` + u + `","limit":5}`)
				if err := c.client.DoTimeout(req, res, 10*time.Second); err != nil {
					transport.Add(1)
					sample("transport: " + err.Error())
					continue
				}
				v := string(res.Header.Peek("X-Recotem-Model-Version"))
				want, known := expect[v][u]
				switch {
				case res.StatusCode() != 200:
					non200.Add(1)
					sample(fmt.Sprintf("%d %s", res.StatusCode(), res.Body()))
				case !known:
					unverified.Add(1)
					sample("unknown model_version " + v)
				case itemsOf(res.Body()) != want:
					wrong.Add(1)
					sample(fmt.Sprintf("%s %s: %s, the model's own answer is %s", v, u, itemsOf(res.Body()), want))
				default:
					ok.Add(1)
				}
			}
		}(w)
	}

	// The operator's hands, in turn, until the time is up.
	run := func(name string, args ...string) {
		t.Helper()
		start := time.Now()
		for attempt := 1; ; attempt++ {
			out, err := exec.Command(name, args...).CombinedOutput()
			if err == nil {
				t.Logf("%s %v: %v", name, args, time.Since(start).Round(time.Millisecond))
				return
			}
			// coreutils truncate opens with O_NONBLOCK: while serve holds
			// its lease the open fails with EAGAIN (and starts the break);
			// the operator runs it again.
			if strings.Contains(string(out), "Resource temporarily unavailable") && attempt < 100 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			t.Fatalf("%s %v: %v %s", name, args, err, out)
		}
	}
	start := time.Now()
	good, goodV, other, otherV := bakB, fx.vb, bakA, fx.va
	cycles := 0
	for time.Since(start) < chaosDuration || cycles == 0 {
		cycles++
		run("cp", good, target) // restore a backup over the served file
		waitAll("in-place cp", clean(goodV))
		run("truncate", "-s", "4096", target)
		waitAll("truncated", failedLoad(goodV))
		run("cp", good, target)
		waitAll("restored", clean(goodV))
		run("sh", "-c", "head -c 65536 /dev/urandom >> "+target) // grown
		waitAll("grown", failedLoad(goodV))
		run("cp", other, target)
		waitAll("other model", clean(otherV))
		run("dd", "if=/dev/urandom", "of="+target, "bs=1", "count=64", "seek="+fmt.Sprint(len(fx.a)/2), "conv=notrunc") // corrupted
		waitAll("corrupted", failedLoad(otherV))
		run("rm", target) // deleted
		waitAll("deleted", failedLoad(otherV))
		good, goodV, other, otherV = other, otherV, good, goodV
	}
	// The final good artifact: A, copied back in place.
	run("cp", bakA, target)
	waitAll("final A", clean(fx.va))
	elapsed := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	rate := float64(ok.Load()) / elapsed.Seconds()
	t.Logf("%s × %d: %d cycles, %d ok in %v (%.0f req/s), transport %d, non-200 %d, unverified %d, wrong %d",
		mode, nproc, cycles, ok.Load(), elapsed.Round(time.Millisecond), rate, transport.Load(), non200.Load(), unverified.Load(), wrong.Load())
	if transport.Load()+non200.Load()+unverified.Load()+wrong.Load() != 0 {
		t.Fatalf("bad answers, e.g. %v", samples)
	}
	if rate < 2000 {
		t.Errorf("%.0f req/s, want ≥ 2,000", rate)
	}
	for _, c := range servers {
		select {
		case <-c.s.done:
			t.Fatalf("serve %s died:\n%s", c.s.base, c.s.stderr)
		default:
		}
		_, metrics := c.get(t, "/metrics", key)
		m := string(metrics)
		for _, want := range []string{
			`recotem_request_memory_faults_total 0`,
			`recotem_artifact_residency{recipe="quick",residency="leased"} 1`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("%s: metrics lack %q", c.s.base, want)
			}
		}
		for _, re := range []string{
			`recotem_artifact_file_changes_total\{recipe="quick"\} [1-9]`,
			`recotem_artifact_private_copies_total\{recipe="quick",result="ok"\} [1-9]`,
			`recotem_artifact_load_failures_total\{recipe="quick",reason="(parse|hmac)"\} [1-9]`,
		} {
			if !regexp.MustCompile(re).MatchString(m) {
				t.Errorf("%s: metrics lack %s", c.s.base, re)
			}
		}
		if code := c.s.stop(t); code != 0 {
			t.Errorf("serve exit %d after SIGTERM", code)
		}
		c.s.mu.Lock()
		logs := c.s.stderr.String()
		c.s.mu.Unlock()
		if strings.Contains(logs, "fatal error") || strings.Contains(logs, "SIGBUS") || strings.Contains(logs, "artifact_withdrawn") {
			t.Errorf("%s: serve logged a fault or a withdrawal:\n%s", c.s.base, logs)
		}
	}
}
