package scoring

import (
	"math"
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
}

func (m *Model) getBatch() *batchScratch {
	if b, ok := m.bpool.Get().(*batchScratch); ok {
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
// through one blocked matrix product; groups run on up to GOMAXPROCS
// goroutines (a call with one group runs inline and allocates nothing when
// dst has capacity).
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

// batchParallel runs the chunks on workers goroutines (split out so the
// single-worker path keeps its variables on the stack).
func (m *Model) batchParallel(dst [][]Result, users []int, limit, chunks, workers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				m.batchChunk(dst, users, c, limit)
			}
		}()
	}
	wg.Wait()
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
	defer m.bpool.Put(b)
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
		z := m.uf[u*m.ufStride : u*m.ufStride+k]
		b.h64.reset(limit)
		for _, e := range b.heaps[j].h {
			i := int(e.i)
			x := dot64(m.vf[i*stride:i*stride+k], z)
			if m.bias != nil {
				x += float64(m.bias[i])
			}
			if !math.IsInf(x, 0) && !math.IsNaN(x) {
				b.h64.push(x, e.i)
			}
		}
		dst[lo+j] = appendResults(dst[lo+j], &b.h64)
		b.masks[j].clearValid(m.seenIdx[m.seenPtr[u]:m.seenPtr[u+1]], n)
	}
}
