package scoring

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// rescoreAll is what rescore must equal: every candidate scored exactly.
func (m *Model) rescoreAll(cands []entry[float32], z []float32, limit int) []Result {
	var h topK[float64]
	h.reset(limit)
	for _, e := range cands {
		i := int(e.i)
		x := dot64(m.vf[i*m.vfStride:i*m.vfStride+m.k], z[:m.k])
		if m.bias != nil {
			x += float64(m.bias[i])
		}
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			h.push(x, e.i)
		}
	}
	return appendResults(nil, &h)
}

// TestRescoreMatchesScoringEveryCandidate: pruning by the float32 error
// bound never changes the answer — exact ties, ties to the last bit,
// rows whose float32 dot overflows while the float64 one does not, NaN
// rows, subnormal factors, a bias, every limit.
func TestRescoreMatchesScoringEveryCandidate(t *testing.T) {
	const nI, k = 400, 37
	rng := rand.New(rand.NewPCG(3, 9))
	shapes := map[string]func(m *Model, z []float32){
		"normal": func(m *Model, z []float32) {},
		"ties": func(m *Model, z []float32) {
			for i := 0; i < nI; i += 3 { // exact duplicates and one-ulp neighbours
				copy(m.vf[(i+1)*m.vfStride:(i+1)*m.vfStride+k], m.vf[i*m.vfStride:i*m.vfStride+k])
				if i+2 < nI {
					copy(m.vf[(i+2)*m.vfStride:(i+2)*m.vfStride+k], m.vf[i*m.vfStride:i*m.vfStride+k])
					c := (i + 2) * m.vfStride
					m.vf[c] = math.Nextafter32(m.vf[c], float32(math.Inf(1)))
				}
			}
		},
		"scaled-ties": func(m *Model, z []float32) { // all rows parallel: scores differ only by scale
			for i := range nI {
				for c := range k {
					m.vf[i*m.vfStride+c] = z[c] * (1 + float32(i%7)*0x1p-23)
				}
			}
		},
		"overflow-nan": func(m *Model, z []float32) {
			for c := range k {
				m.vf[5*m.vfStride+c] = 3e37 // f32 dot overflows, f64 does not
				m.vf[6*m.vfStride+c] = 3e37
			}
			m.vf[7*m.vfStride] = float32(math.NaN())
			m.vf[8*m.vfStride+1] = float32(math.Inf(1))
		},
		"cancellation": func(m *Model, z []float32) { // large terms cancel: float32 error ≫ score gaps
			for i := range nI {
				r := m.vf[i*m.vfStride : i*m.vfStride+k]
				for c := range k {
					r[c] = float32(rng.NormFloat64()) * 1e4
					if c%2 == 1 {
						r[c] = -r[c-1] * z[c-1] / z[c]
					}
				}
				r[k-1] = float32(i%11) * 1e-3
			}
		},
		"subnormal": func(m *Model, z []float32) {
			for i := range m.vf {
				m.vf[i] *= 0x1p-140
			}
		},
		"bias": func(m *Model, z []float32) {
			m.bias = make([]float32, nI)
			for i := range m.bias {
				m.bias[i] = float32(rng.NormFloat64())
			}
			m.bias[9] = float32(math.Inf(-1))
		},
	}
	for name, shape := range shapes {
		for trial := range 20 {
			m := benchFactor(nI, k, 1, false)
			m.vf = slices.Clone(m.vf)
			z := make([]float32, m.vfStride)
			for c := range k {
				z[c] = float32(rng.NormFloat64())
			}
			shape(m, z)
			cands := make([]entry[float32], 0, nI)
			for _, i := range rng.Perm(nI)[:nI-trial] {
				cands = append(cands, entry[float32]{i: int32(i)})
			}
			var h topK[float64]
			var rs rescoreScratch
			for _, limit := range []int{1, 2, 5, 10, 64, nI - trial, nI + 3} {
				got := m.rescore(nil, &h, cands, z, limit, &rs)
				want := m.rescoreAll(cands, z, limit)
				if !slices.Equal(got, want) {
					t.Fatalf("%s trial %d limit %d:\n got %v\nwant %v", name, trial, limit, got, want)
				}
			}
		}
	}
}
