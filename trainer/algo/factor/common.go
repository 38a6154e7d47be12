package factor

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/viterin/vek/vek32"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/recotem/recotem/trainer/algo"
)

// Sentinel errors. Bad hyperparameters are *algo.ParamError (algo.ErrParam).
var (
	// ErrNotFitted: Epoch or Model was called before Init or Fit.
	ErrNotFitted = errors.New("model not initialised")
	// ErrDiverged: a solve met non-positive or non-finite curvature (the
	// trial fails, algorithms.md §2.2 solver step 3).
	ErrDiverged = errors.New("solver diverged")
	// ErrTooFewItems: TruncatedSVD needs at least two items.
	ErrTooFewItems = errors.New("too few items")
)

// paramErr is the *algo.ParamError of one algorithm's config check.
func paramErr(alias, name string, v any, why string) error {
	return &algo.ParamError{Algo: alias, Name: name, Value: v, Why: why}
}

var blas32 gonum.Implementation

// dot is the float32 inner product (AVX2 via vek when available).
func dot(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	return vek32.Dot(a, b)
}

// axpy computes y += alpha·x.
func axpy(alpha float32, x, y []float32) {
	blas32.Saxpy(len(x), alpha, x, 1, y, 1)
}

// parallelBlocks runs fn(lo, hi, worker) over [0, n) in fixed blocks of size
// block on GOMAXPROCS workers. It stops handing out blocks once ctx is done
// or fn fails, and returns the first error (ctx.Err() if cancelled). Results
// must not depend on which worker runs a block.
func parallelBlocks(ctx context.Context, n, block int, newScratch func() any, fn func(lo, hi int, scratch any) error) error {
	if n == 0 {
		return ctx.Err()
	}
	nb := (n + block - 1) / block
	workers := max(1, min(runtime.GOMAXPROCS(0), nb))
	var (
		next    atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	setErr := func(err error) {
		errOnce.Do(func() { first = err })
		stop.Store(true)
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch any
			if newScratch != nil {
				scratch = newScratch()
			}
			for !stop.Load() {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				if err := ctx.Err(); err != nil {
					setErr(err)
					return
				}
				lo := b * block
				if err := fn(lo, min(n, lo+block), scratch); err != nil {
					setErr(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

func to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// gram returns FᵀF (k×k) of the n×k row-major matrix F, accumulated in
// float32 within fixed row blocks and float64 across them. Each block is
// transposed to Fᵀ (k×b), and row a of the upper triangle of FᵀF is one
// AVX2 matrix-vector product Fᵀ[a:]·Fᵀ[a] over vectors of length b.
// Blocks are fixed, so the result does not depend on GOMAXPROCS. pool (may
// be nil) supplies the per-worker transpose buffers: a fresh multi-MiB
// buffer per call costs more in page faults than the products themselves.
// out (len k·k) receives the result when non-nil; otherwise it is allocated.
func gram(ctx context.Context, f []float32, n, k int, pool *bufPool, out []float64) ([]float64, error) {
	const block = 4096
	nb := (n + block - 1) / block
	parts := make([][]float32, nb)
	var held [][]float32
	var hmu sync.Mutex
	newScratch := func() any {
		b := pool.get(min(n, block) * k)
		hmu.Lock()
		held = append(held, b)
		hmu.Unlock()
		return b
	}
	err := parallelBlocks(ctx, n, block, newScratch, func(lo, hi int, sc any) error {
		b := hi - lo
		ft := sc.([]float32)[:k*b]
		for r := 0; r < b; r++ {
			for c, x := range f[(lo+r)*k : (lo+r+1)*k] {
				ft[c*b+r] = x
			}
		}
		g := pool.get(k * k)
		for a := 0; a < k; a++ {
			vek32.MatMul_Into(g[a*k+a:a*k+k], ft[a*b:], ft[a*b:(a+1)*b], b)
		}
		parts[lo/block] = g
		return nil
	})
	for _, b := range held {
		pool.put(b)
	}
	defer func() {
		for _, g := range parts {
			if g != nil {
				pool.put(g)
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = make([]float64, k*k)
	}
	out = out[:k*k]
	clear(out)
	for _, g := range parts {
		for a := 0; a < k; a++ {
			for c := a; c < k; c++ {
				out[a*k+c] += float64(g[a*k+c])
			}
		}
	}
	for a := 0; a < k; a++ {
		for c := 0; c < a; c++ {
			out[a*k+c] = out[c*k+a]
		}
	}
	return out, nil
}

// bufPool keeps float32 buffers across calls; a nil *bufPool allocates.
type bufPool struct {
	mu   sync.Mutex
	free [][]float32
}

func (p *bufPool) get(n int) []float32 {
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, b := range p.free {
			if cap(b) >= n {
				p.free = append(p.free[:i], p.free[i+1:]...)
				return b[:n]
			}
		}
	}
	return make([]float32, n)
}

func (p *bufPool) put(b []float32) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}
