package scoring

import "math"

// q8Block is how many item rows one int8 first-pass block covers.
const q8Block = 1024

// q8Candidates is how many int8 first-pass candidates are re-scored exactly
// for a final cut of limit. Quantisation error is far larger than float32
// rounding, so the margin is wider than candidates().
func q8Candidates(limit, n int) int { return min(n, 4*limit+64) }

// quantize writes zq[c] = round(z[c]/scale) with scale = max|z|/127 and
// returns scale (0 when z is all zero). len(zq) ≥ len(z).
func quantize(zq []int8, z []float32) float32 {
	var mx float32
	for _, v := range z {
		mx = max(mx, float32(math.Abs(float64(v))))
	}
	clear(zq)
	if mx == 0 || math.IsInf(float64(mx), 0) || math.IsNaN(float64(mx)) {
		return 0
	}
	sc := mx / 127
	for c, v := range z {
		zq[c] = int8(math.Round(float64(v / sc)))
	}
	return sc
}

// firstPassQ8 fills s.h32 with the q8Candidates best items by the int8
// approximation scale_i·sz·Σ q_ic·zq_c (+ bias), masked by s.mask.
func (m *Model) firstPassQ8(s *scratch, z []float32, limit int) {
	n, stride := m.nItems, m.q8Stride
	sz := quantize(s.zq[:m.k], z[:m.k])
	zq := s.zq[:stride]
	zq16 := s.zq16[:stride]
	for c, v := range zq {
		zq16[c] = int16(v)
	}
	s.h32.reset(q8Candidates(limit, n))
	for r0 := 0; r0 < n; r0 += q8Block {
		r1 := min(n, r0+q8Block)
		blk := s.block[:r1-r0]
		dotsI8(blk, m.q8[r0*stride:r1*stride], zq, zq16, stride)
		// scale and select in one pass, with selectInto's rules: NaN, ±Inf
		// and anything not above the current cut are skipped, then the mask
		scale := m.q8Scale[r0:r1]
		var bias []float32
		if m.bias != nil {
			bias = m.bias[r0:r1]
		}
		h := &s.h32
		for r, d := range blk {
			v := d * scale[r] * sz
			if bias != nil {
				v += bias[r]
			}
			if !(v > h.thr) || v == inf32 {
				continue
			}
			if i := int32(r0 + r); !s.mask.has(i) {
				h.push(v, i)
			}
		}
	}
}

var inf32 = float32(math.Inf(1))

// dotsI8 sets dst[r] = float32(Σ_c q[r·stride+c]·zq[c]) with int32
// accumulation (exact); zq16 is zq widened to int16 (the AVX2 kernel reads
// it). Reference: dotsI8Ref.
func dotsI8(dst []float32, q, zq []int8, zq16 []int16, stride int) {
	dotsI8Impl(dst, q, zq, zq16, stride)
}

// dotsI8Ref is the plain-Go reference of dotsI8.
func dotsI8Ref(dst []float32, q, zq []int8, stride int) {
	for r := range dst {
		row := q[r*stride : r*stride+stride]
		var s int32
		for c, x := range row {
			s += int32(x) * int32(zq[c])
		}
		dst[r] = float32(s)
	}
}

// quantize8 quantises a rows×k float32 matrix (row stride srcStride) into
// int8 rows of dstStride with one scale per row: v ≈ q·scale, scale =
// max|row|/127 (0 for an all-zero row): the convention of the
// item_factors_q8 section, which trainer/artifact writes with its own copy.
func quantize8(dst []int8, scale []float32, src []float32, rows, k, srcStride, dstStride int) {
	for r := 0; r < rows; r++ {
		scale[r] = quantize(dst[r*dstStride:r*dstStride+dstStride], src[r*srcStride:r*srcStride+k])
	}
}
