package registry

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestRetiredModelClosedAfterLastRelease: a swap never unmaps a model that
// a request still holds; the last release does, exactly once.
func TestRetiredModelClosedAfterLastRelease(t *testing.T) {
	var closed atomic.Int32
	mk := func() *Model {
		l := &Model{close: func() error { closed.Add(1); return nil }}
		l.refs.Store(1)
		return l
	}
	e := &Entry{}
	old := mk()
	e.cur.Store(old)
	r1, r2 := e.Acquire(), e.Acquire()
	if r1 != old || r2 != old {
		t.Fatal("acquire")
	}
	// swap: the registry drops its reference
	if prev := e.cur.Swap(mk()); prev != nil {
		prev.Release()
	}
	if closed.Load() != 0 {
		t.Fatal("closed while held")
	}
	r1.Release()
	if closed.Load() != 0 {
		t.Fatal("closed with one holder left")
	}
	r2.Release()
	if closed.Load() != 1 {
		t.Fatalf("closed %d times", closed.Load())
	}
	if old.acquire() {
		t.Fatal("acquired a closed model")
	}
	if e.Acquire() == old {
		t.Fatal("entry returned the retired model")
	}
}

// TestAcquireSwapRace hammers acquire/release against swaps; every
// retired model is closed exactly once and never while held.
func TestAcquireSwapRace(t *testing.T) {
	e := &Entry{}
	var live, closes atomic.Int64
	var bad atomic.Bool
	mk := func() *Model {
		l := &Model{}
		l.close = func() error {
			if l.refs.Load() != 0 {
				bad.Store(true)
			}
			closes.Add(1)
			return nil
		}
		l.refs.Store(1)
		live.Add(1)
		return l
	}
	e.cur.Store(mk())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if l := e.Acquire(); l != nil {
					if l.refs.Load() < 1 {
						bad.Store(true)
					}
					l.Release()
				}
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		if prev := e.cur.Swap(mk()); prev != nil {
			prev.Release()
		}
	}
	close(stop)
	wg.Wait()
	if bad.Load() {
		t.Fatal("closed while held")
	}
	if closes.Load() != live.Load()-1 {
		t.Fatalf("closes %d, retired %d", closes.Load(), live.Load()-1)
	}
}
