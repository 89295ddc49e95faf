package experiment

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	d := def
	d.Conversions = []string{`<img src=x onerror=alert(1)>`, "purchase"}
	a, err := NewAnalyzer(d, []float64{0.5, 0.25, 0.25})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"control", "control", "green", "orange"} {
		e := expo(v+string(rune('a'+i)), "x", v, at(i*30))
		a.Add(&e)
	}
	c := conv("controla", "c", "purchase", at(2))
	a.Add(&c)
	r := a.Result(end)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<img") || !strings.Contains(page, "&lt;img src=x") {
		t.Fatal("conversion name not escaped")
	}
	for _, bad := range []string{"<script", "<link", "src=\"", "href=", "url(", "@import", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Fatalf("page refers outside itself: %q", bad)
		}
	}
	if n := strings.Count(page, `<circle class="rate"`); n != 3 {
		t.Fatalf("%d rate marks", n)
	}
	if n := strings.Count(page, `<polyline class="series"`); n != 3 {
		t.Fatalf("%d series", n)
	}
	// Each point of the interval chart lies within its interval line.
	re := regexp.MustCompile(`x1="([0-9.]+)" y1="[0-9.]+" x2="([0-9.]+)"[^>]*stroke-width="3"/>\s*<line[^>]*/><line[^>]*/>\s*<circle class="rate" cx="([0-9.]+)"`)
	ms := re.FindAllStringSubmatch(page, -1)
	if len(ms) != 3 {
		t.Fatalf("%d interval marks parsed", len(ms))
	}
	for _, m := range ms {
		lo, _ := strconv.ParseFloat(m[1], 64)
		hi, _ := strconv.ParseFloat(m[2], 64)
		at, _ := strconv.ParseFloat(m[3], 64)
		if !(lo <= at && at <= hi && lo < hi) {
			t.Fatalf("point %s outside [%s, %s]", m[3], m[1], m[2])
		}
	}
	// An empty experiment renders too.
	a2, _ := NewAnalyzer(def, nil)
	buf.Reset()
	if err := WriteHTML(&buf, a2.Result(start.Add(-time.Hour))); err != nil || !strings.Contains(buf.String(), "No exposures yet") {
		t.Fatalf("empty: %v", err)
	}
	_ = eventlog.TypeExposure
}
