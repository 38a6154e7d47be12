package itemitem

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// forChunks runs fn(worker, lo, hi) over [0, n) in chunks of size chunk,
// handing chunks out dynamically to GOMAXPROCS workers (fewer when there are
// fewer chunks). worker is in [0, workers) and lets fn use per-worker scratch.
// ctx is checked before every chunk; the first ctx error is returned after
// all workers stop.
func forChunks(ctx context.Context, n, chunk int, fn func(worker, lo, hi int)) (workers int, err error) {
	if chunk < 1 {
		chunk = 1
	}
	nChunks := (n + chunk - 1) / chunk
	workers = min(runtime.GOMAXPROCS(0), nChunks)
	if workers < 1 {
		return 0, ctx.Err()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c := int(next.Add(1) - 1)
				if c >= nChunks {
					return
				}
				lo := c * chunk
				fn(w, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
	return workers, ctx.Err()
}

// nWorkers is the number of workers forChunks may use for n items.
func nWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }
