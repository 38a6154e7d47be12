package scoring

// bitset is a fixed-size set of item indices. Callers set the few bits a
// request masks and clear exactly those bits again afterwards, so a pooled
// bitset is reused without an O(n) reset.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int32)      { b[uint32(i)>>6] |= 1 << (uint32(i) & 63) }
func (b bitset) clear(i int32)    { b[uint32(i)>>6] &^= 1 << (uint32(i) & 63) }
func (b bitset) has(i int32) bool { return b[uint32(i)>>6]&(1<<(uint32(i)&63)) != 0 }

// setValid sets every index of idx that lies in [0, n); others are ignored.
func (b bitset) setValid(idx []int32, n int) {
	for _, i := range idx {
		if i >= 0 && int(i) < n {
			b.set(i)
		}
	}
}

// clearValid undoes setValid.
func (b bitset) clearValid(idx []int32, n int) {
	for _, i := range idx {
		if i >= 0 && int(i) < n {
			b.clear(i)
		}
	}
}
