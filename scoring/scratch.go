package scoring

import "sync"

// scratch is the per-call working memory of one request, pooled per Model.
// Every field is sized for the model at first use and reused afterwards;
// mask bits are cleared by the call that set them.
type scratch struct {
	mask  bitset
	block []float32 // first-pass scores of one block of item rows
	z     []float32 // query vector, padded to the item-factor row stride
	zq    []int8    // int8 query for the q8 first pass
	zq16  []int16   // zq widened for the AVX2 kernel
	acc32 []float32 // dense item-item first pass
	tmp32 []float32
	acc64 []float64 // sparse item-item scores
	h32   topK[float32]
	h64   topK[float64]
	rs    rescoreScratch // factor re-scoring bounds
	prof  []int32        // known seeds
	// fold-in vectors (k) and confidences
	fx, fr, fp, fq []float64
	conf           []float64
}

func (m *Model) getScratch() *scratch {
	if s, ok := m.pool.Get().(*scratch); ok {
		return s
	}
	s := &scratch{mask: newBitset(m.nItems)}
	switch m.kind {
	case KindFactor:
		s.block = make([]float32, blockRows(m.vfStride))
		s.z = make([]float32, m.vfStride)
		s.fx = make([]float64, m.k)
		s.fr = make([]float64, m.k)
		s.fp = make([]float64, m.k)
		s.fq = make([]float64, m.k)
		if m.useQ8 {
			s.zq = make([]int8, m.q8Stride)
			s.zq16 = make([]int16, m.q8Stride)
			s.block = make([]float32, q8Block)
		}
	case KindDenseItem:
		s.acc32 = make([]float32, m.nItems)
		s.tmp32 = make([]float32, m.nItems)
	case KindSparseItem:
		s.acc64 = make([]float64, m.nItems)
	}
	return s
}

func (m *Model) putScratch(s *scratch) { m.pool.Put(s) }

// freeList keeps scratch values for reuse. Unlike sync.Pool it never drops
// them (a GC does not empty it) and any goroutine can take any value, so
// once it holds as many as ever run at once, getting one allocates nothing;
// it grows to that peak and stays there for the Model's lifetime. Parallel
// batch chunks use it: their scratch is large and their concurrency, set
// by the helpers' scheduling, varies from call to call.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

// get returns a kept value, or nil when none is free.
func (f *freeList[T]) get() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.items)
	if n == 0 {
		return nil
	}
	x := f.items[n-1]
	f.items = f.items[:n-1]
	return x
}

// put keeps x for a later get.
func (f *freeList[T]) put(x *T) {
	f.mu.Lock()
	f.items = append(f.items, x)
	f.mu.Unlock()
}
