package experiment

import (
	"math"
	"testing"
)

// The reference values below come from outside this code: published
// tables, or formulas computed here another way.

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (±%g)", what, got, want, tol)
	}
}

// Wilson score intervals published in R. G. Newcombe, "Two-sided
// confidence intervals for the single proportion: comparison of seven
// methods", Statistics in Medicine 17 (1998) 857–872, Table I (method 3,
// score without continuity correction), to 4 decimals.
func TestWilsonNewcombe1998(t *testing.T) {
	for _, c := range []struct {
		x, n   int
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0.0000, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		lo, hi := Wilson(c.x, c.n, Z95)
		near(t, "wilson lo", lo, c.lo, 5e-5)
		near(t, "wilson hi", hi, c.hi, 5e-5)
	}
	if lo, hi := Wilson(0, 0, Z95); lo != 0 || hi != 1 {
		t.Fatal(lo, hi)
	}
}

// The Wilson interval is the set of p whose score test does not reject:
// its bounds solve (p̂ − p)² = z² p(1 − p)/n. Solve that quadratic by
// bisection, independently of the closed form.
func TestWilsonSolvesScoreEquation(t *testing.T) {
	for _, c := range [][2]int{{3, 10}, {500, 1000}, {1, 100000}, {99999, 100000}, {12345, 54321}} {
		x, n := c[0], c[1]
		ph := float64(x) / float64(n)
		f := func(p float64) float64 { return (ph-p)*(ph-p) - Z95*Z95*p*(1-p)/float64(n) }
		bisect := func(a, b float64) float64 { // f(a) and f(b) differ in sign
			for i := 0; i < 200; i++ {
				m := (a + b) / 2
				if (f(a) < 0) == (f(m) < 0) {
					a = m
				} else {
					b = m
				}
			}
			return (a + b) / 2
		}
		lo, hi := Wilson(x, n, Z95)
		near(t, "lo", lo, bisect(0, ph), 1e-12)
		near(t, "hi", hi, bisect(ph, 1), 1e-12)
	}
}

// Differences of proportions: Newcombe, "Interval estimation for the
// difference between independent proportions: comparison of eleven
// methods", Statistics in Medicine 17 (1998) 873–890, Table II, method 10
// (hybrid score), to 4 decimals.
func TestNewcombeDiff1998(t *testing.T) {
	for _, c := range []struct {
		x1, n1, x2, n2 int
		lo, hi         float64
	}{
		{56, 70, 48, 80, 0.0524, 0.3339},
		{9, 10, 3, 10, 0.1705, 0.8090},
		{5, 56, 0, 29, -0.0381, 0.1926},
		{0, 10, 0, 20, -0.1611, 0.2775},
		{0, 10, 0, 10, -0.2775, 0.2775},
		{10, 10, 0, 20, 0.6791, 1.0000},
		{10, 10, 0, 10, 0.6075, 1.0000},
	} {
		lo, hi := NewcombeDiff(c.x1, c.n1, c.x2, c.n2, Z95)
		near(t, "diff lo", lo, c.lo, 5e-5)
		near(t, "diff hi", hi, c.hi, 5e-5)
	}
}

// The Katz interval from the 2×2 table (a converted of a+b, c of c+d):
// SE(ln RR) = sqrt(b/(a(a+b)) + d/(c(c+d))).
func TestRatioCI(t *testing.T) {
	for _, c := range [][4]int{{15, 100, 10, 100}, {530, 10000, 500, 10000}, {1, 3, 2, 7}} {
		a, b, cc, d := float64(c[0]), float64(c[1]-c[0]), float64(c[2]), float64(c[3]-c[2])
		rr := (a / (a + b)) / (cc / (cc + d))
		se := math.Sqrt(b/(a*(a+b)) + d/(cc*(cc+d)))
		lo, hi, ok := RatioCI(c[0], c[1], c[2], c[3], Z95)
		if !ok {
			t.Fatal(c)
		}
		near(t, "ratio lo", lo, rr/math.Exp(Z95*se)-1, 1e-12)
		near(t, "ratio hi", hi, rr*math.Exp(Z95*se)-1, 1e-12)
	}
	// 15/100 vs 10/100 by hand: RR 1.5, SE(ln RR) 0.382971, 95% CI
	// exp(0.405465 ± 0.750609) = 0.708118 to 3.177435.
	lo, hi, _ := RatioCI(15, 100, 10, 100, Z95)
	near(t, "katz lo", lo, 0.708118-1, 1e-6)
	near(t, "katz hi", hi, 3.177435-1, 1e-6)
	if _, _, ok := RatioCI(0, 10, 3, 10, Z95); ok {
		t.Fatal("a zero count has a ratio interval")
	}
}

// The pooled z test squared is Pearson's chi-square of the 2×2 table,
// N(ad − bc)² / ((a+b)(c+d)(a+c)(b+d)); with 1 degree of freedom its
// p-value is erfc(sqrt(X²/2)).
func TestTwoProportionZ(t *testing.T) {
	for _, c := range [][4]int{{56, 70, 48, 80}, {530, 10000, 500, 10000}, {120, 1000, 100, 1000}, {1, 50, 9, 60}} {
		a, b := float64(c[0]), float64(c[1]-c[0])
		cc, d := float64(c[2]), float64(c[3]-c[2])
		n := a + b + cc + d
		x2 := n * (a*d - b*cc) * (a*d - b*cc) / ((a + b) * (cc + d) * (a + cc) * (b + d))
		z, p, ok := TwoProportionZ(c[0], c[1], c[2], c[3])
		if !ok {
			t.Fatal(c)
		}
		near(t, "z²", z*z, x2, 1e-9*x2)
		near(t, "p", p, math.Erfc(math.Sqrt(x2/2)), 1e-12)
	}
	// |z| = 1.959964 gives p = 0.05 (normal table): 10000 per group.
	if _, _, ok := TwoProportionZ(0, 10, 0, 10); ok {
		t.Fatal("no variance but a test")
	}
}

// Chi-square critical values from the standard table (e.g. NIST/SEMATECH
// e-Handbook of Statistical Methods, 1.3.6.7.4): P(X ≥ c) = α.
func TestChiSquareTable(t *testing.T) {
	for _, c := range []struct {
		df    int
		crit  float64
		alpha float64
	}{
		{1, 3.841459, 0.05}, {2, 5.991465, 0.05}, {3, 7.814728, 0.05}, {10, 18.307038, 0.05},
		{1, 10.827566, 0.001}, {2, 13.815511, 0.001}, {3, 16.266236, 0.001}, {5, 20.515006, 0.001},
		{1, 6.634897, 0.01}, {4, 13.276704, 0.01},
	} {
		near(t, "chi-square p", ChiSquareSF(c.crit, c.df), c.alpha, c.alpha*2e-6)
	}
}

// Closed forms: for even df = 2m, Q = e^(−x/2) Σ_{k<m} (x/2)^k / k!; for
// odd df, Q = erfc(sqrt(x/2)) + e^(−x/2) Σ_{k=1}^{(df−1)/2} (x/2)^(k−½)/Γ(k+½).
func TestChiSquareClosedForms(t *testing.T) {
	closed := func(x float64, df int) float64 {
		h := x / 2
		if df%2 == 0 {
			s, term := 0.0, 1.0
			for k := 0; k < df/2; k++ {
				if k > 0 {
					term *= h / float64(k)
				}
				s += term
			}
			return math.Exp(-h) * s
		}
		s := math.Erfc(math.Sqrt(h))
		for k := 1; k <= (df-1)/2; k++ {
			s += math.Exp(-h+(float64(k)-0.5)*math.Log(h)) / math.Gamma(float64(k)+0.5)
		}
		return s
	}
	for _, df := range []int{1, 2, 3, 4, 5, 7, 10, 21} {
		for _, x := range []float64{0.01, 0.5, 1, 2.5, 5, 12, 30, 80, 200} {
			want := closed(x, df)
			near(t, "Q", ChiSquareSF(x, df), want, 1e-12+1e-10*want)
		}
	}
	// Far tail, relative accuracy: df 1, x 100 → erfc(sqrt 50) ≈ 1.5e-23.
	got, want := ChiSquareSF(100, 1), math.Erfc(math.Sqrt(50))
	near(t, "tail", got/want, 1, 1e-10)
}

// A sample-ratio mismatch: 821,588 vs 815,482 units in a 50/50 split.
// By hand: e = 818,535, X² = 2·3053²/e = 22.775, p = erfc(sqrt(X²/2))
// ≈ 1.8e-6.
func TestSRMExample(t *testing.T) {
	stat, df, p, ok := ChiSquareGOF([]int{821588, 815482}, []float64{50, 50})
	if !ok || df != 1 {
		t.Fatal(ok, df)
	}
	e := (821588.0 + 815482.0) / 2
	near(t, "stat", stat, 2*(821588-e)*(821588-e)/e, 1e-9)
	near(t, "p", p, math.Erfc(math.Sqrt(stat/2)), 1e-15)
	if p < 1.7e-6 || p > 1.9e-6 {
		t.Fatalf("p = %g, want about 1.8e-6", p)
	}
	if _, _, _, ok := ChiSquareGOF([]int{5}, []float64{1}); ok {
		t.Fatal("one category tested")
	}
}
