package scoring

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/viterin/vek/vek32"
)

// withAccel runs f with vek's SIMD acceleration off and on.
func withAccel(t *testing.T, f func(t *testing.T)) {
	for _, on := range []bool{false, true} {
		name := "go"
		if on {
			name = "simd"
		}
		t.Run(name, func(t *testing.T) {
			vek32.SetAcceleration(on)
			defer vek32.SetAcceleration(true)
			f(t)
		})
	}
}

func closeF32(a, b float32, tol float64) bool {
	if math.IsNaN(float64(a)) || math.IsNaN(float64(b)) {
		return math.IsNaN(float64(a)) && math.IsNaN(float64(b))
	}
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) {
		return a == b
	}
	return math.Abs(float64(a)-float64(b)) <= tol*math.Max(1, math.Abs(float64(b)))
}

func TestMatVecParity(t *testing.T) {
	withAccel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		f := func(rows, stride, shift int, special float32) {
			t.Helper()
			// shift misaligns the start of the matrix; guard bands around dst.
			buf := randF32(rng, shift+rows*stride+8)
			v := buf[shift : shift+rows*stride]
			z := randF32(rng, stride)
			if special != 0 && rows > 0 {
				v[rng.IntN(len(v))] = special
			}
			got := make([]float32, rows+2)
			got[0], got[rows+1] = 7, 7
			want := make([]float32, rows)
			matVec(got[1:rows+1], v, z, stride)
			matVecRef(want, v, z, stride)
			if got[0] != 7 || got[rows+1] != 7 {
				t.Fatalf("rows=%d stride=%d: guard band written", rows, stride)
			}
			for r := range want {
				// float32 sums in different orders differ by a few ulps of Σ|v·z|.
				var mag float64
				for c := 0; c < stride; c++ {
					mag += math.Abs(float64(v[r*stride+c]) * float64(z[c]))
				}
				if !closeF32(got[1+r], want[r], 1e-5*math.Max(1, mag)) {
					t.Fatalf("rows=%d stride=%d shift=%d row %d: %g, want %g", rows, stride, shift, r, got[1+r], want[r])
				}
			}
		}
		for _, stride := range []int{1, 16, 32, 64, 80, 304} {
			for _, rows := range []int{0, 1, 3, 17, blockRows(stride)} {
				f(rows, stride, 0, 0)
				f(rows, stride, 1, 0)
				f(rows, stride, 3, float32(math.NaN()))
				f(rows, stride, 0, float32(math.Inf(1)))
			}
		}
	})
}

func TestAxpyParity(t *testing.T) {
	withAccel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{0, 1, 7, 8, 33, 1000} {
			for _, a := range []float32{1, 2.5, -1} {
				x := randF32(rng, n+1)[1:] // misaligned
				got := randF32(rng, n)
				want := append([]float32(nil), got...)
				axpy(got, x, a, make([]float32, n))
				axpyRef(want, x, a)
				for i := range want {
					if !closeF32(got[i], want[i], 1e-6) {
						t.Fatalf("n=%d a=%g at %d: %g, want %g", n, a, i, got[i], want[i])
					}
				}
			}
		}
	})
}

// TestDotsI8Parity: every int8 kernel this machine can run (AVX-512 VNNI,
// AVX2, plain Go) gives the reference's exact sums.
func TestDotsI8Parity(t *testing.T) {
	vnni, avx2 := hasVNNI, hasAVX2
	defer func() { hasVNNI, hasAVX2 = vnni, avx2 }()
	for _, k := range []struct {
		name       string
		vnni, avx2 bool
	}{{"vnni", true, true}, {"avx2", false, true}, {"go", false, false}} {
		if (k.vnni && !vnni) || (k.avx2 && !avx2) {
			t.Logf("%s: not available on this CPU", k.name)
			continue
		}
		hasVNNI, hasAVX2 = k.vnni, k.avx2
		t.Run(k.name, testDotsI8Parity)
	}
}

func testDotsI8Parity(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, stride := range []int{64, 128, 192, 320, 448} {
		for _, rows := range []int{0, 1, 5, 64} {
			q := make([]int8, rows*stride+1)[1:]
			for i := range q {
				q[i] = int8(rng.IntN(256) - 128)
			}
			if rows > 0 {
				q[0], q[len(q)-1] = -128, 127
			}
			zq := make([]int8, stride)
			for i := range zq {
				zq[i] = int8(rng.IntN(255) - 127)
			}
			zq16 := make([]int16, stride)
			for i, v := range zq {
				zq16[i] = int16(v)
			}
			got := make([]float32, rows)
			want := make([]float32, rows)
			dotsI8(got, q, zq, zq16, stride)
			dotsI8Ref(want, q, zq, stride)
			for r := range want {
				if got[r] != want[r] {
					t.Fatalf("stride=%d rows=%d row %d: %g, want %g", stride, rows, r, got[r], want[r])
				}
			}
		}
	}
}

func TestQuantize(t *testing.T) {
	f := func(z []float32, wantScale float32, want []int8) {
		t.Helper()
		zq := make([]int8, len(z)+2)
		zq[len(z)], zq[len(z)+1] = 9, 9
		sc := quantize(zq, z)
		if sc != wantScale {
			t.Fatalf("%v: scale %g, want %g", z, sc, wantScale)
		}
		for i, w := range want {
			if zq[i] != w {
				t.Fatalf("%v: q %v, want %v", z, zq, want)
			}
		}
		if zq[len(z)] != 0 {
			t.Fatalf("%v: padding not cleared: %v", z, zq)
		}
	}
	f([]float32{}, 0, nil)
	f([]float32{0, 0}, 0, []int8{0, 0})
	f([]float32{127, -63.4, 0.6}, 1, []int8{127, -63, 1})
	f([]float32{-2.54, 1.27}, 0.02, []int8{-127, 64})
	f([]float32{float32(math.Inf(1)), 1}, 0, []int8{0, 0})
}

func TestSelectMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 200; trial++ {
		n := rng.IntN(300)
		scores := make([]float32, n)
		for i := range scores {
			switch rng.IntN(12) {
			case 0:
				scores[i] = float32(math.NaN())
			case 1:
				scores[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
			default:
				scores[i] = float32(rng.IntN(20)) // many ties
			}
		}
		mask := newBitset(n)
		for i := 0; i < n/5; i++ {
			mask.set(int32(rng.IntN(n)))
		}
		k := rng.IntN(n + 5)
		var h topK[float32]
		h.reset(k)
		selectInto(&h, scores, 0, mask)
		got := h.sorted()
		want := selectRef(scores, k, mask)
		if len(got) != len(want) {
			t.Fatalf("trial %d n=%d k=%d: %d selected, want %d", trial, n, k, len(got), len(want))
		}
		for p := range want {
			if got[p] != want[p] {
				t.Fatalf("trial %d: position %d = %v, want %v", trial, p, got[p], want[p])
			}
		}
	}
}

// TestTopKAnyOrder: offers in any order, with many equal scores, keep
// exactly the k best by (score desc, index asc) — every k, including
// k above the number offered, across several buffer cuts.
func TestTopKAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h topK[float32]
	for trial := range 300 {
		n := 1 + rng.IntN(300)
		es := make([]entry[float32], n)
		for i, j := range rng.Perm(n) {
			es[i] = entry[float32]{float32(rng.IntN(1 + trial%20)), int32(j)}
		}
		want := slices.Clone(es)
		slices.SortFunc(want, func(a, b entry[float32]) int {
			if worse(b, a) {
				return -1
			}
			return 1
		})
		for _, k := range []int{1, 2, 3, n / 3, n - 1, n, n + 5} {
			if k <= 0 {
				continue
			}
			h.reset(k)
			for _, e := range es {
				h.push(e.s, e.i)
			}
			got := h.sorted()
			if !slices.Equal(got, want[:min(k, n)]) {
				t.Fatalf("trial %d n %d k %d:\n got %v\nwant %v", trial, n, k, got, want[:min(k, n)])
			}
		}
	}
}
