package appliance

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestHotSwapUnderLoad replaces the artifact 20 times while clients hammer
// :recommend: new models, corrupt files and identical bytes with a new
// mtime. No request may fail, every answer must come from a published
// model, clients never see an older model after a newer one, and
// model_version changes exactly on real changes. This is the short version
// of TestHotSwapUnderLoad30s.
func TestHotSwapUnderLoad(t *testing.T) {
	runSwapLoad(t, 1500*time.Millisecond, false)
}

// TestHotSwapUnderLoad30s is the full run: 30 s at ≥ 2,000 req/s.
//
//	go test -run TestHotSwapUnderLoad30s -v ./appliance/
func TestHotSwapUnderLoad30s(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s load test; skipped with -short")
	}
	if raceEnabled {
		t.Skip("the race detector cannot sustain 2,000 req/s; run without -race")
	}
	runSwapLoad(t, 30*time.Second, true)
}

func runSwapLoad(t *testing.T, dur time.Duration, assertRate bool) {
	h := newHarness(t)
	h.cfg.Logger = nil // keep the run quiet; events are checked via metrics
	h.recipe("a", "movies", "")
	out := h.outPath("movies")
	models := make([][]byte, 0, 8)
	var mu sync.Mutex
	versions := map[string]int{}  // version → publish order
	expect := map[string]string{} // version + user → the model's top 3, computed here
	mkModel := func(seed int) []byte {
		m := defaultModel()
		for i := range m.Pop {
			m.Pop[i] = float64((i*7 + seed*13) % 17)
		}
		fields, b := m.Build(t)
		fields["trained_at"] = fmt.Sprintf("2026-01-01T00:00:%02dZ", seed%60)
		path := out + fmt.Sprintf(".%d.src", seed)
		if _, err := writeArtifactTo(path, h, fields, b); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		models = append(models, data)
		mu.Lock()
		for _, u := range m.Users {
			expect[versionOf(data)+" "+u] = topPopular(m, u, 3)
		}
		mu.Unlock()
		return data
	}
	first := mkModel(0)
	writeAtomic(t, out, first)
	versions[versionOf(first)] = 0
	h.start()

	client := &fasthttp.HostClient{Addr: strings.TrimPrefix(h.base, "http://"), MaxConns: 64}
	var ok, failed atomic.Int64
	var failures []string
	itemRE := regexp.MustCompile(`"item_id":"([^"]+)"`)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const workers = 8
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			req := fasthttp.AcquireRequest()
			res := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			req.SetRequestURI(h.base + "/v1/recipes/movies:recommend")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("X-API-Key", h.plain)
			user := fmt.Sprintf("u%d", 1+w%3)
			req.SetBodyString(fmt.Sprintf(`{"user_id":%q,"limit":3}`, user))
			lastOrder := -1
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := client.DoTimeout(req, res, 10*time.Second)
				v := string(res.Header.Peek("X-Recotem-Model-Version"))
				var got []string
				for _, m := range itemRE.FindAllSubmatch(res.Body(), -1) {
					got = append(got, string(m[1]))
				}
				mu.Lock()
				order, known := versions[v]
				want := expect[v+" "+user]
				mu.Unlock()
				switch {
				case err != nil:
					failed.Add(1)
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				case res.StatusCode() != 200 || !known || !strings.Contains(string(res.Body()), `"items":[{"item_id"`):
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d %s %s", res.StatusCode(), v, res.Body()))
					mu.Unlock()
				case strings.Join(got, ",") != want: // an answer from another model
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %s: items %v, the model's are %s", v, user, got, want))
					mu.Unlock()
				case order < lastOrder:
					failed.Add(1)
					mu.Lock()
					failures = append(failures, "older model after newer: "+v)
					mu.Unlock()
				default:
					lastOrder = order
					ok.Add(1)
				}
			}
		}(w)
	}

	start := time.Now()
	step := dur / 21
	real := 0
	served := first
	for i := 1; i <= 20; i++ {
		time.Sleep(step)
		switch i % 4 {
		case 1, 0: // a real new model
			data := mkModel(i)
			mu.Lock()
			versions[versionOf(data)] = len(versions)
			mu.Unlock()
			writeAtomic(t, out, data)
			served = data
			real++
			h.eventually("swap", func() bool { return h.version("movies") == versionOf(data) })
		case 2: // corrupt: the watcher must notice before the next write
			writeAtomic(t, out, append([]byte("RECOTEMX"), served[8:]...))
			h.eventually("load failure", func() bool { return h.detail("movies")["last_load_error"] != nil })
		case 3: // identical bytes, new mtime: clears the error, no swap
			writeAtomic(t, out, served)
			h.eventually("error cleared", func() bool { return h.detail("movies")["last_load_error"] == nil })
		}
	}
	time.Sleep(step)
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	rate := float64(ok.Load()) / elapsed.Seconds()
	t.Logf("%d ok, %d failed in %v: %.0f req/s; %d real changes", ok.Load(), failed.Load(), elapsed.Round(time.Millisecond), rate, real)
	if failed.Load() != 0 {
		t.Fatalf("%d failed requests, e.g. %v", failed.Load(), failures[:min(3, len(failures))])
	}
	metrics := h.do("GET", "/metrics", "").body
	if want := fmt.Sprintf(`recotem_swap_total{recipe="movies",result="ok"} %d`, real); !strings.Contains(metrics, want) {
		t.Fatalf("want %s in\n%s", want, grepLines(metrics, "recotem_swap_total"))
	}
	if !strings.Contains(metrics, `recotem_swap_total{recipe="movies",result="error"} 5`) {
		t.Fatalf("corrupt replacements: %s", grepLines(metrics, "recotem_swap_total"))
	}
	if got := h.version("movies"); got != versionOf(served) {
		t.Fatalf("final version %s, want %s", got, versionOf(served))
	}
	if assertRate && rate < 2000 {
		t.Fatalf("rate %.0f req/s < 2000", rate)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// topPopular is the popularity model's answer computed from its
// description: unseen items by popularity, ties to the lower index.
func topPopular(m testModel, user string, n int) string {
	seen := map[string]bool{}
	for _, it := range m.Seen[user] {
		seen[it] = true
	}
	var idx []int
	for i, it := range m.Items {
		if !seen[it] {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return m.Pop[idx[a]] > m.Pop[idx[b]] })
	var top []string
	for _, i := range idx[:min(n, len(idx))] {
		top = append(top, m.Items[i])
	}
	return strings.Join(top, ",")
}
