package experiment

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
)

// WriteHTML writes r as one self-contained HTML page: a table of the
// variants, the warnings and data quality, and two inline SVG charts
// (conversion rate with its 95% interval per variant; cumulative exposed
// units per day). It loads nothing: no scripts, fonts, images or styles
// from elsewhere.
func WriteHTML(w io.Writer, r *Results) error {
	if err := pageTemplate.Execute(w, newPage(r)); err != nil {
		return fmt.Errorf("write results page: %w", err)
	}
	return nil
}

// palette colors the variants (control first), readable on white and in
// grey-scale print.
var palette = []string{"#4b5563", "#059669", "#d97706", "#2563eb", "#db2777", "#7c3aed", "#0891b2", "#65a30d"}

func colorOf(i int) string { return palette[i%len(palette)] }

type page struct {
	R        *Results
	Rows     []row
	Rates    rateChart
	Cum      cumChart
	SRMText  string
	Flagged  bool
	Quality  [][2]string
	HasDaily bool
}

type row struct {
	Variant, Color                             string
	Exposed, Converted                         int
	Rate, RateCI, Lift, LiftCI, RelLift, RelCI string
	PValue, Share                              string
	Control                                    bool
}

type rateChart struct {
	W, H   int
	Axis   []tick
	Marks  []rateMark
	X0, X1 float64
}

type tick struct {
	X     float64
	Label string
}

type rateMark struct {
	Y, Top, Bottom float64
	Lo, Hi, At     float64
	Label, Color   string
	Control        bool
}

type cumChart struct {
	W, H           int
	Lines          []cumLine
	YTicks         []ytick
	XLabels        []tick
	X0, X1, Y0, Y1 float64
}

type ytick struct {
	Y     float64
	Label string
}

type cumLine struct {
	Points, Color, Label string
	LastX, LabelY        float64
}

func newPage(r *Results) *page {
	p := &page{R: r}
	for i, v := range r.Variants {
		c := v.Cells("—", " – ")
		p.Rows = append(p.Rows, row{Variant: v.Variant, Color: colorOf(i), Exposed: v.Exposed, Converted: v.Converted, Control: i == 0,
			Rate: c.Rate, RateCI: c.RateCI, Lift: c.Lift, LiftCI: c.LiftCI, RelLift: c.RelativeLift, RelCI: c.RelativeLiftCI, PValue: c.PValue, Share: c.Share})
	}
	if r.SRMPValue != nil {
		p.SRMText = fmt.Sprintf("p = %.3g (χ² = %.2f)", *r.SRMPValue, *r.SRMChiSquare)
		p.Flagged = r.SRM
	} else {
		p.SRMText = "not tested"
	}
	q := r.Quality
	p.Quality = [][2]string{
		{"Events outside the window", strconv.Itoa(q.OutsideWindow)},
		{"Duplicate events", strconv.Itoa(q.Duplicates)},
		{"Units exposed to several variants", strconv.Itoa(q.MultipleVariants)},
		{"Exposures to other variants", strconv.Itoa(q.OtherVariants)},
		{"Converted units never exposed", strconv.Itoa(q.ConvertedNotExposed)},
		{"Unreadable lines or batches", strconv.Itoa(q.Unreadable)},
	}
	p.Rates = rates(r)
	p.Cum = cumulative(r)
	p.HasDaily = len(r.Daily) > 0
	return p
}

// niceMax rounds up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

func rates(r *Results) rateChart {
	c := rateChart{W: 720, H: 60 + 44*len(r.Variants), X0: 130, X1: 690}
	top := 0.0
	for _, v := range r.Variants {
		top = math.Max(top, v.RateCI[1])
	}
	top = math.Min(niceMax(top*1.05), 1)
	x := func(f float64) float64 { return c.X0 + (c.X1-c.X0)*f/top }
	for i := 0; i <= 5; i++ {
		f := top * float64(i) / 5
		c.Axis = append(c.Axis, tick{X: x(f), Label: strconv.FormatFloat(100*f, 'g', 3, 64) + "%"})
	}
	for i, v := range r.Variants {
		y := 30 + 44*float64(i) + 22
		c.Marks = append(c.Marks, rateMark{Y: y, Top: y - 7, Bottom: y + 7, Lo: x(v.RateCI[0]), Hi: x(v.RateCI[1]), At: x(v.Rate),
			Label: v.Variant, Color: colorOf(i), Control: i == 0})
	}
	return c
}

func cumulative(r *Results) cumChart {
	c := cumChart{W: 720, H: 300, X0: 60, X1: 600, Y0: 260, Y1: 20}
	n := len(r.Daily)
	if n == 0 {
		return c
	}
	totals := make([]int, len(r.Variants))
	series := make([][]int, len(r.Variants))
	for _, d := range r.Daily {
		for i := range totals {
			totals[i] += d.Exposed[i]
			series[i] = append(series[i], totals[i])
		}
	}
	top := 0
	for _, t := range totals {
		top = max(top, t)
	}
	ymax := niceMax(float64(top))
	x := func(i int) float64 {
		if n == 1 {
			return (c.X0 + c.X1) / 2
		}
		return c.X0 + (c.X1-c.X0)*float64(i)/float64(n-1)
	}
	y := func(v int) float64 { return c.Y0 - (c.Y0-c.Y1)*float64(v)/ymax }
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		c.YTicks = append(c.YTicks, ytick{Y: c.Y0 - (c.Y0-c.Y1)*float64(i)/4, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	step := max(1, (n+5)/6)
	for i := 0; i < n; i += step {
		c.XLabels = append(c.XLabels, tick{X: x(i), Label: r.Daily[i].Date[5:]})
	}
	for vi, s := range series {
		pts := ""
		for i, v := range s {
			pts += fmt.Sprintf("%.1f,%.1f ", x(i), y(v))
		}
		c.Lines = append(c.Lines, cumLine{Points: pts, Color: colorOf(vi), Label: fmt.Sprintf("%s %d", r.Variants[vi].Variant, totals[vi]),
			LastX: x(n - 1), LabelY: y(s[n-1])})
	}
	// End labels at least 14 px apart, top to bottom.
	order := make([]int, len(c.Lines))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return c.Lines[order[a]].LabelY < c.Lines[order[b]].LabelY })
	for k := 1; k < len(order); k++ {
		prev, cur := &c.Lines[order[k-1]], &c.Lines[order[k]]
		if cur.LabelY < prev.LabelY+14 {
			cur.LabelY = prev.LabelY + 14
		}
	}
	return c
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Experiment {{.R.Experiment}}: results</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:2rem auto;max-width:60rem;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}
.sub{color:#4b5563;margin:0 0 1.5rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:right;padding:.35rem .6rem;border-bottom:1px solid #e5e7eb;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;vertical-align:-.05em}
.warn{background:#fef3c7;border-left:4px solid #d97706;padding:.5rem .8rem;margin:.4rem 0}
.bad{background:#fee2e2;border-left-color:#dc2626}
.ok{color:#059669}
svg{max-width:100%;height:auto;display:block;margin:.5rem 0 1.5rem}
svg text{font:12px system-ui,sans-serif;fill:#374151}
.small{color:#6b7280;font-size:.85rem}
</style>
</head>
<body>
<h1>Experiment <code>{{.R.Experiment}}</code></h1>
<p class="sub">Flag <code>{{.R.Flag}}</code> in {{.R.Project}}/{{.R.Environment}} · {{.R.Status}} · {{.R.Start}} to {{.R.End}} · conversions: {{range $i, $c := .R.Conversions}}{{if $i}}, {{end}}<code>{{$c}}</code>{{end}}</p>

{{range .R.Warnings}}<div class="warn{{if $.Flagged}} bad{{end}}" role="alert">{{.}}</div>
{{end}}
<table id="variants">
<thead><tr><th>Variant</th><th>Split</th><th>Exposed units</th><th>Converted</th><th>Rate</th><th>95% interval</th><th>Lift</th><th>95% interval</th><th>Relative lift</th><th>95% interval</th><th>p-value</th></tr></thead>
<tbody>
{{range .Rows}}<tr data-variant="{{.Variant}}"><td><span class="swatch" style="background:{{.Color}}"></span>{{.Variant}}{{if .Control}} <span class="small">(control)</span>{{end}}</td><td>{{.Share}}</td><td>{{.Exposed}}</td><td>{{.Converted}}</td><td>{{.Rate}}</td><td>{{.RateCI}}</td><td>{{.Lift}}</td><td>{{.LiftCI}}</td><td>{{.RelLift}}</td><td>{{.RelCI}}</td><td>{{.PValue}}</td></tr>
{{end}}</tbody>
</table>
<p>Sample ratio: {{if .Flagged}}<strong>mismatch</strong>{{else}}<span class="ok">{{if .R.SRMPValue}}consistent with the split{{end}}</span>{{end}} ({{.SRMText}}; flagged below p = 0.001).
Minimum sample {{.R.MinimumSample}} units per variant: {{if .R.SampleReached}}<span class="ok">reached</span>{{else}}<strong>not reached</strong>{{end}}.</p>

<h2>Conversion rate with 95% interval</h2>
<svg id="rates" viewBox="0 0 {{.Rates.W}} {{.Rates.H}}" width="{{.Rates.W}}" height="{{.Rates.H}}" role="img" aria-label="Conversion rate per variant with 95% Wilson intervals">
{{range .Rates.Axis}}<line x1="{{.X}}" y1="20" x2="{{.X}}" y2="{{$.Rates.H}}" stroke="#e5e7eb"/><text x="{{.X}}" y="14" text-anchor="middle">{{.Label}}</text>
{{end}}{{range .Rates.Marks}}<g class="mark" data-variant="{{.Label}}"><text x="{{$.Rates.X0}}" dx="-10" y="{{.Y}}" dy="4" text-anchor="end">{{.Label}}</text>
<line class="interval" x1="{{.Lo}}" y1="{{.Y}}" x2="{{.Hi}}" y2="{{.Y}}" stroke="{{.Color}}" stroke-width="3"/>
<line x1="{{.Lo}}" y1="{{.Top}}" x2="{{.Lo}}" y2="{{.Bottom}}" stroke="{{.Color}}" stroke-width="2"/><line x1="{{.Hi}}" y1="{{.Top}}" x2="{{.Hi}}" y2="{{.Bottom}}" stroke="{{.Color}}" stroke-width="2"/>
<circle class="rate" cx="{{.At}}" cy="{{.Y}}" r="6" fill="{{.Color}}"/></g>
{{end}}</svg>

<h2>Cumulative exposed units per day</h2>
{{if .HasDaily}}<svg id="cumulative" viewBox="0 0 {{.Cum.W}} {{.Cum.H}}" width="{{.Cum.W}}" height="{{.Cum.H}}" role="img" aria-label="Cumulative exposed units per day and variant">
{{range .Cum.YTicks}}<line x1="{{$.Cum.X0}}" y1="{{.Y}}" x2="{{$.Cum.X1}}" y2="{{.Y}}" stroke="#e5e7eb"/><text x="{{$.Cum.X0}}" dx="-6" y="{{.Y}}" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}{{range .Cum.XLabels}}<text x="{{.X}}" y="{{$.Cum.Y0}}" dy="18" text-anchor="middle">{{.Label}}</text>
{{end}}{{range .Cum.Lines}}<polyline class="series" points="{{.Points}}" fill="none" stroke="{{.Color}}" stroke-width="2.5"/><text x="{{.LastX}}" dx="8" y="{{.LabelY}}" dy="4" fill="{{.Color}}">{{.Label}}</text>
{{end}}</svg>{{else}}<p class="small">No exposures yet.</p>{{end}}

<h2>Data quality</h2>
<table id="quality"><tbody>
{{range .Quality}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>
{{end}}</tbody></table>
<p class="small">Rates: Wilson score intervals. Lift: difference of rates with Newcombe's hybrid score interval; relative lift: ratio of rates − 1 with the Katz log interval; p-value: two-sided pooled two-proportion z test against the control; sample ratio: chi-square goodness of fit against the split's weights. A unit counts under the variant of its first exposure in the window and converts with a conversion event at or after it, before the end.{{if .R.Scanned.From}} Scanned {{.R.Scanned.Events}} events in {{.R.Scanned.Batches}} batches (partitions {{.R.Scanned.From}} to {{.R.Scanned.To}}).{{end}}</p>
</body>
</html>
`))
