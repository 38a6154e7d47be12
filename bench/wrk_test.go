package bench

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/recotem/recotem/bench/report"
	"github.com/recotem/recotem/bench/workload"
	"github.com/recotem/recotem/internal/testenv"
)

var forceWrk = flag.Bool("force-wrk", false, "run TestAgreesWithWrk even when the machine looks busy")

// wrkResult is what we read back from `wrk --latency`.
type wrkResult struct {
	throughput float64 // Requests/sec
	p50ms      float64
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP50 = regexp.MustCompile(`(?m)^\s+50%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func parseWrk(out string) (wrkResult, error) {
	m := wrkRPS.FindStringSubmatch(out)
	l := wrkP50.FindStringSubmatch(out)
	if m == nil || l == nil {
		return wrkResult{}, fmt.Errorf("unrecognised wrk output:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(l[1], 64)
	switch l[2] {
	case "us":
		v /= 1e3
	case "s":
		v *= 1e3
	}
	return wrkResult{throughput: rps, p50ms: v}, nil
}

func TestParseWrk(t *testing.T) {
	out := `Running 1s test @ http://127.0.0.1:1/v1/recipes/r:recommend
  2 threads and 8 connections
  Latency Distribution
     50%  112.00us
     75%  150.00us
     90%    1.20ms
     99%    2.50s
  50000 requests in 1.00s, 6.00MB read
Requests/sec:  49876.54
Transfer/sec:      5.99MB
`
	r, err := parseWrk(out)
	if err != nil || r.throughput != 49876.54 || r.p50ms != 0.112 {
		t.Fatalf("got %+v, %v", r, err)
	}
	if _, err := parseWrk("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}

// TestAgreesWithWrk drives the same fasthttp server (its own process; each
// request takes 1ms, as a recommendation does, so the server and not the
// scheduler of a 2-core machine sets the pace) with wrk and with the closed
// loop, same connection count and request body, in interleaved rounds, and
// requires the medians of throughput and of p50 to agree within 10%. It
// needs wrk on PATH, a machine that is not already saturated by other work,
// and a non-race build. BENCHMARKS.md also compares them against
// a zero-delay server.
func TestAgreesWithWrk(t *testing.T) {
	wrk := testenv.LookPath(t, testenv.Wrk, "wrk")
	if testing.Short() || raceEnabled {
		t.Skip("timing comparison: not in -short or -race runs")
	}
	if load, ok := loadAverage(); ok && load > float64(runtime.NumCPU()) && !*forceWrk {
		t.Skipf("machine busy (1-minute load %.1f > %d cores): generator comparison would measure the neighbours", load, runtime.NumCPU())
	}
	url := startServerProcess(t, time.Millisecond)
	const conns = 8
	const round = time.Second
	body := `{"user_id":"1","limit":10}`
	script := filepath.Join(t.TempDir(), "post.lua")
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = '%s'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", body)
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		t.Fatal(err)
	}
	var wrkTP, wrkP50, ourTP, ourP50 []float64
	for i := 0; i < 5; i++ {
		out, err := exec.Command(wrk, "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(round.Seconds())), "--latency",
			"-s", script, url+"/v1/recipes/r:recommend").CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		w, err := parseWrk(string(out))
		if err != nil {
			t.Fatal(err)
		}
		wrkTP, wrkP50 = append(wrkTP, w.throughput), append(wrkP50, w.p50ms)

		res, err := Run(context.Background(), Config{
			Target: Target{URL: url}, Connections: conns, Duration: round,
			Workload: workload.Workload{Recipes: []string{"r"}, Endpoints: []workload.Endpoint{workload.Recommend}, Users: mustIDs(t, "1")},
		})
		if err != nil {
			t.Fatal(err)
		}
		rep := report.New(res)
		if rep.Errors != 0 {
			t.Fatalf("%d errors", rep.Errors)
		}
		ourTP, ourP50 = append(ourTP, rep.Throughput), append(ourP50, rep.P50ms)
	}
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	tp, p50 := med(ourTP)/med(wrkTP), med(ourP50)/med(wrkP50)
	t.Logf("throughput wrk %v vs bench %v (ratio %.3f); p50 ms wrk %v vs bench %v (ratio %.3f)", wrkTP, ourTP, tp, wrkP50, ourP50, p50)
	if tp < 0.9 || tp > 1.1 || p50 < 0.9 || p50 > 1.1 {
		t.Fatalf("recotem bench and wrk disagree by more than 10%%: throughput ratio %.3f, p50 ratio %.3f", tp, p50)
	}
}

// helperServerEnv makes the test binary serve okHandler instead of testing
// (see TestHelperServerProcess); its value is the listen address.
const helperServerEnv = "RECOTEM_BENCH_HELPER_SERVER"

// helperDelayEnv is the time the helper server spends on each request.
const helperDelayEnv = "RECOTEM_BENCH_HELPER_DELAY"

// startServerProcess re-executes the test binary as a bare fasthttp server
// in its own process, so the generator under test does not share a Go
// runtime with the server, and returns its base URL.
func startServerProcess(t *testing.T, delay time.Duration) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServerProcess$")
	cmd.Env = append(os.Environ(), helperServerEnv+"=127.0.0.1:0", helperDelayEnv+"="+delay.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck
		cmd.Wait()         //nolint:errcheck
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening ") {
		t.Fatalf("helper server: %q %v", line, err)
	}
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening "))
}

// TestHelperServerProcess is not a test: it is the server process of
// startServerProcess, and does nothing unless that started it.
func TestHelperServerProcess(t *testing.T) {
	addr := os.Getenv(helperServerEnv)
	if addr == "" {
		t.Skip("helper process only")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	delay, err := time.ParseDuration(os.Getenv(helperDelayEnv))
	if err != nil {
		t.Fatal(err)
	}
	h := okHandler
	if delay > 0 {
		h = func(ctx *fasthttp.RequestCtx) {
			time.Sleep(delay)
			okHandler(ctx)
		}
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true}
	srv.Serve(ln) //nolint:errcheck
}

// loadAverage is the 1-minute load average (Linux), ok=false elsewhere.
func loadAverage() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}
