package experiment

import "math"

// Z95 is the two-sided 95% standard normal quantile, Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// Wilson is the Wilson score interval for x successes in n trials at
// quantile z (without continuity correction). n = 0 gives [0, 1].
func Wilson(x, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(x) / nf
	z2 := z * z
	center := p + z2/(2*nf)
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	den := 1 + z2/nf
	lo, hi = (center-half)/den, (center+half)/den
	// Exact at the boundaries (rounding leaves ±1e-17).
	if x == 0 {
		lo = 0
	}
	if x == n {
		hi = 1
	}
	return lo, hi
}

// NewcombeDiff is Newcombe's hybrid score interval (his method 10, 1998)
// for p1 − p2, built from the two Wilson intervals.
func NewcombeDiff(x1, n1, x2, n2 int, z float64) (lo, hi float64) {
	p1, p2 := rate(x1, n1), rate(x2, n2)
	l1, u1 := Wilson(x1, n1, z)
	l2, u2 := Wilson(x2, n2, z)
	d := p1 - p2
	lo = d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	hi = d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	return lo, hi
}

// RatioCI is the Katz log interval for the ratio p1/p2 of two
// proportions, as a relative lift (ratio − 1). ok is false when a count is
// zero (the interval is undefined).
func RatioCI(x1, n1, x2, n2 int, z float64) (lo, hi float64, ok bool) {
	if x1 <= 0 || x2 <= 0 || n1 <= 0 || n2 <= 0 {
		return 0, 0, false
	}
	r := rate(x1, n1) / rate(x2, n2)
	se := math.Sqrt(1/float64(x1) - 1/float64(n1) + 1/float64(x2) - 1/float64(n2))
	return r*math.Exp(-z*se) - 1, r*math.Exp(z*se) - 1, true
}

// TwoProportionZ is the pooled two-proportion z test of p1 = p2: the z
// statistic and its two-sided p-value. ok is false when it is undefined
// (an empty group, or no variance: all or none converted in both).
func TwoProportionZ(x1, n1, x2, n2 int) (z, p float64, ok bool) {
	if n1 <= 0 || n2 <= 0 {
		return 0, 0, false
	}
	pool := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0, 0, false
	}
	z = (rate(x1, n1) - rate(x2, n2)) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2), true
}

// ChiSquareGOF is Pearson's chi-square goodness-of-fit test of observed
// counts against expected shares (normalized here): the statistic, its
// degrees of freedom (len − 1) and p-value. ok is false with fewer than
// two categories, no observations or a non-positive share.
func ChiSquareGOF(observed []int, shares []float64) (stat float64, df int, p float64, ok bool) {
	if len(observed) < 2 || len(observed) != len(shares) {
		return 0, 0, 0, false
	}
	total, sum := 0, 0.0
	for i, o := range observed {
		if shares[i] <= 0 {
			return 0, 0, 0, false
		}
		total += o
		sum += shares[i]
	}
	if total == 0 {
		return 0, 0, 0, false
	}
	for i, o := range observed {
		e := float64(total) * shares[i] / sum
		d := float64(o) - e
		stat += d * d / e
	}
	df = len(observed) - 1
	return stat, df, ChiSquareSF(stat, df), true
}

// ChiSquareSF is the chi-square survival function P(X ≥ x) with df
// degrees of freedom: the regularized upper incomplete gamma Q(df/2, x/2).
func ChiSquareSF(x float64, df int) float64 {
	if x <= 0 {
		return 1
	}
	return gammaQ(float64(df)/2, x/2)
}

// gammaQ is the regularized upper incomplete gamma function Q(a, x), by
// its power series below a+1 and by Lentz's continued fraction above,
// both to full double precision.
func gammaQ(a, x float64) float64 {
	if x <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	front := math.Exp(-x + a*math.Log(x) - lg)
	if x < a+1 {
		// P(a, x) = front · Σ xⁿ / (a (a+1) … (a+n))
		term := 1 / a
		sum := term
		for n := 1; n < 10000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-16 {
				break
			}
		}
		return 1 - front*sum
	}
	// Q(a, x) = front / (x+1−a− 1(1−a)/(x+3−a− 2(2−a)/(x+5−a− …)))
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 10000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return front * h
}

func rate(x, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(x) / float64(n)
}
