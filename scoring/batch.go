package scoring

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/viterin/vek/vek32"
)

// batchUsers is how many users share one pass over the item factors: each
// block of item rows is read from memory once and multiplied by all of the
// group's query vectors while it sits in cache (Vblock·[z₁ … z_p], one
// matVec per user), so the memory traffic per user falls by up to p.
const batchUsers = 16

// batchBlockBytes bounds the item block a batch group shares, so that it
// stays in L1 while every user of the group reads it.
const batchBlockBytes = 16 << 10

// batchScratch is one batch worker's memory.
type batchScratch struct {
	zs    []float32 // batchUsers query vectors, each padded to the stride
	col   []float32 // one user's scores for one block
	masks [batchUsers]bitset
	heaps [batchUsers]topK[float32]
	h64   topK[float64]
	rs    rescoreScratch
}

func (m *Model) getBatch() *batchScratch {
	if b := m.bpool.get(); b != nil {
		return b
	}
	b := &batchScratch{
		zs:  make([]float32, m.vfStride*batchUsers),
		col: make([]float32, max(8, min(blockRows(m.vfStride), batchBlockBytes/(4*m.vfStride)))),
	}
	for j := range b.masks {
		b.masks[j] = newBitset(m.nItems)
	}
	return b
}

// BatchRecommend ranks many known users at once (the rules of Recommend,
// no exclusions): dst[i] receives users[i]'s results, reusing dst's
// storage. Factor models stream the item factors once per group of users
// through one blocked matrix product; groups run on the calling goroutine
// plus up to GOMAXPROCS-1 long-lived helper goroutines shared by the
// process. Once dst has capacity and the pools are warm a call allocates
// nothing, with any number of workers.
func (m *Model) BatchRecommend(dst [][]Result, users []int, limit int) [][]Result {
	if cap(dst) < len(users) {
		dst = append(dst[:cap(dst)], make([][]Result, len(users)-cap(dst))...)
	}
	dst = dst[:len(users)]
	chunks := (len(users) + batchUsers - 1) / batchUsers
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for c := 0; c < chunks; c++ {
			m.batchChunk(dst, users, c, limit)
		}
		return dst
	}
	m.batchParallel(dst, users, limit, chunks, workers)
	return dst
}

// batchParallel runs the chunks on the calling goroutine plus up to
// workers-1 helpers from the package's long-lived batch workers (split out
// so the single-worker path keeps its variables on the stack). It starts no
// goroutine and creates no channel or closure per call: the call's state is
// a pooled batchTask handed to the helpers by pointer.
func (m *Model) batchParallel(dst [][]Result, users []int, limit, chunks, workers int) {
	helpers.grow(workers - 1)
	t := getBatchTask()
	t.m, t.dst, t.users, t.limit, t.chunks = m, dst, users, limit, chunks
	t.next.Store(0)
	for range workers - 1 {
		t.wg.Add(1)
		select {
		case helpers.tasks <- t:
		default: // every helper is busy: the caller's share grows instead
			t.wg.Done()
		}
	}
	t.run()
	t.wg.Wait()
	t.m, t.dst, t.users = nil, nil, nil
	batchTasks.Put(t)
}

// batchTask is one parallel BatchRecommend call as its helpers see it.
// The caller owns it from getBatchTask until it has waited for every helper
// it handed the task to; only then does it go back to the pool.
type batchTask struct {
	m      *Model
	dst    [][]Result
	users  []int
	limit  int
	chunks int
	next   atomic.Int64   // next unclaimed chunk
	wg     sync.WaitGroup // helpers still holding the task
}

var batchTasks sync.Pool // *batchTask

func getBatchTask() *batchTask {
	if t, ok := batchTasks.Get().(*batchTask); ok {
		return t
	}
	return new(batchTask)
}

// run claims and scores chunks until none are left.
func (t *batchTask) run() {
	for {
		c := int(t.next.Add(1) - 1)
		if c >= t.chunks {
			return
		}
		t.m.batchChunk(t.dst, t.users, c, t.limit)
	}
}

// batchHelpers is the process-wide set of batch helper goroutines. It only
// grows — to GOMAXPROCS-1 helpers at most, on the first call that wants
// that many — so goroutine creation is paid once per process, not per call.
type batchHelpers struct {
	mu    sync.Mutex
	n     atomic.Int32 // helpers started
	tasks chan *batchTask
}

// helperQueue bounds how many handed-off tasks may wait for a helper; a
// full queue makes the caller do the work itself rather than block.
const helperQueue = 256

var helpers = batchHelpers{tasks: make(chan *batchTask, helperQueue)}

// grow makes sure at least n helpers are running.
func (h *batchHelpers) grow(n int) {
	if int(h.n.Load()) >= n {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for int(h.n.Load()) < n {
		go h.loop()
		h.n.Add(1)
	}
}

func (h *batchHelpers) loop() {
	for t := range h.tasks {
		t.run()
		t.wg.Done()
	}
}

func (m *Model) batchChunk(dst [][]Result, users []int, c, limit int) {
	lo, hi := c*batchUsers, min(len(users), (c+1)*batchUsers)
	if m.kind != KindFactor || m.useQ8 {
		for i := lo; i < hi; i++ {
			dst[i] = m.Recommend(dst[i], users[i], limit, nil)
		}
		return
	}
	b := m.getBatch()
	defer m.bpool.put(b)
	p := hi - lo
	n, stride, k := m.nItems, m.vfStride, m.k
	for j := 0; j < p; j++ {
		dst[lo+j] = dst[lo+j][:0]
		u := users[lo+j]
		if limit <= 0 || u < 0 || u >= m.nUsers || n == 0 {
			b.heaps[j].reset(0)
			continue
		}
		z := b.zs[j*stride : (j+1)*stride]
		copy(z, m.uf[u*m.ufStride:u*m.ufStride+k])
		clear(z[k:])
		b.masks[j].setValid(m.seenIdx[m.seenPtr[u]:m.seenPtr[u+1]], n)
		b.heaps[j].reset(candidates(limit, n))
	}
	rows := len(b.col)
	for r0 := 0; r0 < n; r0 += rows {
		r1 := min(n, r0+rows)
		blk := m.vf[r0*stride : r1*stride]
		col := b.col[:r1-r0]
		for j := 0; j < p; j++ {
			if b.heaps[j].k == 0 {
				continue
			}
			matVec(col, blk, b.zs[j*stride:(j+1)*stride], stride)
			if m.bias != nil {
				vek32.Add_Inplace(col, m.bias[r0:r1])
			}
			selectInto(&b.heaps[j], col, int32(r0), b.masks[j])
		}
	}
	for j := 0; j < p; j++ {
		u := users[lo+j]
		if b.heaps[j].k == 0 {
			continue
		}
		dst[lo+j] = m.rescore(dst[lo+j], &b.h64, b.heaps[j].best(), m.uf[u*m.ufStride:u*m.ufStride+k], limit, &b.rs)
		b.masks[j].clearValid(m.seenIdx[m.seenPtr[u]:m.seenPtr[u+1]], n)
	}
}
