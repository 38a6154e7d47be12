package workload

// Rand is a small, fast, non-cryptographic generator (wyrand) owned by one
// goroutine: each of the generator's workers draws its requests with its
// own. It never allocates.
type Rand struct{ s uint64 }

// NewRand seeds a generator; equal seeds give equal sequences.
func NewRand(seed uint64) Rand { return Rand{s: seed ^ 0x9e3779b97f4a7c15} }

// Uint64 is uniform over all 64-bit values.
func (r *Rand) Uint64() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

func mul64(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t&mask32 + a0*b1
	hi = a1*b1 + t>>32 + w1>>32
	lo = a * b
	return
}

// Float64 is uniform in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn is uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias is
// below n/2^64, far under anything a load test can see).
func (r *Rand) Intn(n int) int {
	hi, _ := mul64(r.Uint64(), uint64(n))
	return int(hi)
}
