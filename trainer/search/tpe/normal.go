package tpe

import "math"

// Standard normal helpers in log space, accurate in the far tails where the
// truncated kernels of distant observations live.

const (
	sqrt2      = math.Sqrt2
	logSqrt2Pi = 0.91893853320467274178 // ½·ln(2π)
)

// logNdtr returns ln Φ(x).
func logNdtr(x float64) float64 {
	switch {
	case x > 6:
		return math.Log1p(-0.5 * math.Erfc(x/sqrt2))
	case x > -20:
		return math.Log(0.5 * math.Erfc(-x/sqrt2))
	}
	// Asymptotic series of Mills' ratio.
	x2 := x * x
	return -0.5*x2 - math.Log(-x) - logSqrt2Pi + math.Log1p(-1/x2+3/(x2*x2)-15/(x2*x2*x2))
}

// log1mexp returns ln(1 − eˣ) for x ≤ 0.
func log1mexp(x float64) float64 {
	if x > -math.Ln2 {
		return math.Log(-math.Expm1(x))
	}
	return math.Log1p(-math.Exp(x))
}

// logGaussMass returns ln(Φ(b) − Φ(a)) for a ≤ b.
func logGaussMass(a, b float64) float64 {
	if a >= b {
		return math.Inf(-1)
	}
	switch {
	case b <= 0:
		la, lb := logNdtr(a), logNdtr(b)
		return lb + log1mexp(la-lb)
	case a >= 0:
		la, lb := logNdtr(-b), logNdtr(-a)
		return lb + log1mexp(la-lb)
	}
	return math.Log1p(-0.5*math.Erfc(-a/sqrt2) - 0.5*math.Erfc(b/sqrt2))
}

// ndtri returns Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation
// refined by one Halley step.
func ndtri(p float64) float64 {
	if p <= 0 {
		return math.Inf(-1)
	}
	if p >= 1 {
		return math.Inf(1)
	}
	const (
		a1   = -3.969683028665376e+01
		a2   = 2.209460984245205e+02
		a3   = -2.759285104469687e+02
		a4   = 1.383577518672690e+02
		a5   = -3.066479806614716e+01
		a6   = 2.506628277459239e+00
		b1   = -5.447609879822406e+01
		b2   = 1.615858368580409e+02
		b3   = -1.556989798598866e+02
		b4   = 6.680131188771972e+01
		b5   = -1.328068155288572e+01
		c1   = -7.784894002430293e-03
		c2   = -3.223964580411365e-01
		c3   = -2.400758277161838e+00
		c4   = -2.549732539343734e+00
		c5   = 4.374664141464968e+00
		c6   = 2.938163982698783e+00
		d1   = 7.784695709041462e-03
		d2   = 3.224671290700398e-01
		d3   = 2.445134137142996e+00
		d4   = 3.754408661907416e+00
		plow = 0.02425
	)
	var x float64
	switch {
	case p < plow:
		q := math.Sqrt(-2 * math.Log(p))
		x = (((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	case p <= 1-plow:
		q := p - 0.5
		r := q * q
		x = (((((a1*r+a2)*r+a3)*r+a4)*r+a5)*r + a6) * q / (((((b1*r+b2)*r+b3)*r+b4)*r+b5)*r + 1)
	default:
		q := math.Sqrt(-2 * math.Log1p(-p))
		x = -(((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	}
	// Halley refinement against the exact CDF.
	var e float64
	if x < 0 {
		e = 0.5*math.Erfc(-x/sqrt2) - p
	} else {
		e = (1 - p) - 0.5*math.Erfc(x/sqrt2)
	}
	u := e * math.Sqrt(2*math.Pi) * math.Exp(x*x/2)
	return x - u/(1+x*u/2)
}

// ndtriLog returns Φ⁻¹(exp(lp)) for lp ≤ ln ½, also where exp(lp) underflows.
func ndtriLog(lp float64) float64 {
	if lp > -700 {
		return ndtri(math.Exp(lp))
	}
	// Newton on ln Φ(x) = lp from the leading asymptotic term.
	x := -math.Sqrt(-2 * lp)
	for range 50 {
		f := logNdtr(x) - lp
		// d/dx ln Φ(x) = φ(x)/Φ(x) = exp(ln φ(x) − ln Φ(x)).
		d := math.Exp(-0.5*x*x - logSqrt2Pi - logNdtr(x))
		step := f / d
		x -= step
		if math.Abs(step) < 1e-12*math.Abs(x) {
			break
		}
	}
	return x
}

// truncNormPPF maps u in [0, 1) to the standard normal truncated to [a, b].
func truncNormPPF(u, a, b float64) float64 {
	if a >= b {
		return a
	}
	if a >= 0 {
		// Right tail: mirror into the left tail for precision.
		return -truncNormPPF(1-u, -b, -a)
	}
	var x float64
	if b <= 0 {
		la := logNdtr(a)
		lm := logGaussMass(a, b)
		var lq float64
		if u <= 0 {
			lq = la
		} else {
			lq = logAddExp(la, math.Log(u)+lm)
		}
		x = ndtriLog(lq)
	} else {
		pa := 0.5 * math.Erfc(-a/sqrt2)
		pb := 0.5 * math.Erfc(-b/sqrt2)
		x = ndtri(pa + u*(pb-pa))
	}
	return math.Min(math.Max(x, a), b)
}

func logAddExp(x, y float64) float64 {
	if math.IsInf(x, -1) {
		return y
	}
	if math.IsInf(y, -1) {
		return x
	}
	if x < y {
		x, y = y, x
	}
	return x + math.Log1p(math.Exp(y-x))
}

func logSumExp(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}
