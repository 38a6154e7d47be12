package tile

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMul4x16MatchesGo compares the 4×16 tile kernel in use (assembly
// where the CPU has AVX2 and FMA) with the portable one, to float32
// rounding, including k = 0 and k = 1 and strided rows.
func TestMul4x16MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 9))
	for _, k := range []int{0, 1, 3, 16, 81, 300} {
		ldz, ldo := k+5, 40
		z := make([]float32, 4*ldz+1)
		p := make([]float32, 16*k+1)
		for i := range z {
			z[i] = float32(rng.NormFloat64())
		}
		for i := range p {
			p[i] = float32(rng.NormFloat64())
		}
		got := make([]float32, 4*ldo)
		want := make([]float32, 4*ldo)
		for i := range got {
			got[i], want[i] = 7, 7 // both must overwrite every tile cell
		}
		Mul4x16(k, z, ldz, p, got, ldo)
		mul4x16Go(k, z, ldz, p, want, ldo)
		for r := 0; r < 4; r++ {
			for c := 0; c < ldo; c++ {
				g, w := got[r*ldo+c], want[r*ldo+c]
				if c >= 16 {
					if g != 7 {
						t.Fatalf("k %d: wrote outside the tile at row %d col %d", k, r, c)
					}
					continue
				}
				if d := math.Abs(float64(g - w)); d > 1e-5*(1+math.Abs(float64(w)))*math.Sqrt(float64(k+1)) {
					t.Fatalf("k %d row %d col %d: kernel %g, Go %g", k, r, c, g, w)
				}
			}
		}
	}
}

func TestPack(t *testing.T) {
	// A 3×20 matrix: two panels, the second holding 4 columns and 12 zeros.
	at := func(f, j int) float32 { return float32(100*f + j + 1) }
	p := Pack(3, 20, at)
	if len(p) != 2*3*Width || Panels(20) != 2 || Panels(16) != 1 || Panels(0) != 0 {
		t.Fatalf("len %d", len(p))
	}
	for j := 0; j < 32; j++ {
		for f := 0; f < 3; f++ {
			got := p[(j/Width)*3*Width+f*Width+j%Width]
			want := float32(0)
			if j < 20 {
				want = at(f, j)
			}
			if got != want {
				t.Fatalf("column %d row %d: %v, want %v", j, f, got, want)
			}
		}
	}
}
