package appliance

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/valyala/fasthttp"
)

// TestSIGTERMDrain re-runs the test binary as a server, loads it with
// heavy batch requests on fresh connections, sends SIGTERM and checks that
// every request the server accepted was answered 200, that requests kept
// completing after the signal (in-flight ones drained), that new
// connections were refused only after the signal, and that the process
// logged serve_shutdown and exited 0.
func TestSIGTERMDrain(t *testing.T) {
	dir := t.TempDir()
	recipes := filepath.Join(dir, "recipes")
	os.MkdirAll(recipes, 0o755)
	key := format.Key{ID: "k1", Secret: bytes.Repeat([]byte{5}, 32)}
	art := filepath.Join(dir, "ml.recotem")
	factorArtifact(t, art, key)
	os.WriteFile(filepath.Join(recipes, "ml.yaml"), []byte("name: ml\noutput:\n  path: "+art+"\n"), 0o644)
	plain := "sigterm-test-api-key-0123456789abcdef"

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RECOTEM_TEST_SERVE_CHILD=1", "CHILD_RECIPES="+recipes,
		"CHILD_SECRET="+string(key.Secret), "CHILD_API_KEY="+plain)
	var stderr syncBuf
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				addrCh <- a
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case <-time.After(30 * time.Second):
		t.Fatalf("child not ready:\n%s", stderr.String())
	}

	var elems []string
	for i := 0; i < 128; i++ {
		elems = append(elems, fmt.Sprintf(`{"user_id":"u%05d","limit":20}`, i))
	}
	body := `{"requests":[` + strings.Join(elems, ",") + `]}`
	var sigAt atomic.Int64 // unix nanos of SIGTERM
	var okBefore, okAfter, refused atomic.Int64
	var mu sync.Mutex
	var bad []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &fasthttp.Client{MaxConnsPerHost: 1, MaxIdleConnDuration: time.Nanosecond}
			req := fasthttp.AcquireRequest()
			res := fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + addr + "/v1/recipes/ml:batch-recommend")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("X-API-Key", plain)
			req.SetConnectionClose()
			req.SetBodyString(body)
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent := time.Now().UnixNano()
				err := c.DoTimeout(req, res, 30*time.Second)
				s := sigAt.Load()
				switch {
				case err == nil && res.StatusCode() == 200:
					if s != 0 && sent < s {
						okAfter.Add(1) // accepted before the signal, answered after it
					} else {
						okBefore.Add(1)
					}
				case err == nil:
					mu.Lock()
					bad = append(bad, fmt.Sprintf("status %d", res.StatusCode()))
					mu.Unlock()
				case s == 0:
					mu.Lock()
					bad = append(bad, "error before SIGTERM: "+err.Error())
					mu.Unlock()
				default:
					refused.Add(1) // after the signal: the listener is closed
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	sigAt.Store(time.Now().UnixNano())
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	errCh := make(chan error, 1)
	go func() { errCh <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-errCh:
	case <-time.After(30 * time.Second):
		t.Fatal("child did not exit")
	}
	close(stop)
	wg.Wait()
	t.Logf("ok before signal %d, in flight at signal and answered %d, refused after %d", okBefore.Load(), okAfter.Load(), refused.Load())
	if werr != nil {
		t.Fatalf("exit: %v\n%s", werr, stderr.String())
	}
	if len(bad) > 0 {
		t.Fatalf("dropped or failed requests: %v", bad[:min(5, len(bad))])
	}
	if okBefore.Load() == 0 || okAfter.Load() == 0 {
		t.Fatalf("load did not overlap the signal (before %d, after %d)", okBefore.Load(), okAfter.Load())
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"event":"serve_shutdown"`) || !strings.Contains(logs, `"drain_seconds":10`) ||
		!strings.Contains(logs, `"event":"artifact_watcher_stopped"`) {
		t.Fatalf("shutdown events:\n%s", logs)
	}
}
