package experiment

import "strconv"

// Cells are one variant's figures as report text: percentages with two
// decimals (lifts signed), intervals as "lo<sep>hi", p-values with three
// significant digits, and none for what the variant does not have.
type Cells struct {
	Share, Rate, RateCI, Lift, LiftCI, RelativeLift, RelativeLiftCI, PValue string
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 2, 64) + "%" }

func signedPct(f float64) string {
	s := pct(f)
	if f > 0 {
		s = "+" + s
	}
	return s
}

// Cells formats v for the text and HTML reports.
func (v *VariantResult) Cells(none, sep string) Cells {
	c := Cells{Share: none, Rate: pct(v.Rate), RateCI: pct(v.RateCI[0]) + sep + pct(v.RateCI[1]),
		Lift: none, LiftCI: none, RelativeLift: none, RelativeLiftCI: none, PValue: none}
	if v.ExpectedShare != nil {
		c.Share = strconv.FormatFloat(100**v.ExpectedShare, 'f', -1, 64) + "%"
	}
	if v.Lift != nil {
		c.Lift = signedPct(*v.Lift)
		c.LiftCI = signedPct(v.LiftCI[0]) + sep + signedPct(v.LiftCI[1])
	}
	if v.RelativeLift != nil {
		c.RelativeLift = signedPct(*v.RelativeLift)
	}
	if v.RelativeLiftCI != nil {
		c.RelativeLiftCI = signedPct(v.RelativeLiftCI[0]) + sep + signedPct(v.RelativeLiftCI[1])
	}
	if v.PValue != nil {
		c.PValue = strconv.FormatFloat(*v.PValue, 'g', 3, 64)
	}
	return c
}
