package eventlog

import (
	"testing"

	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

// BenchmarkDecode decodes stored event lines with one Decoder, as the
// readers of a store do.
func BenchmarkDecode(b *testing.B) {
	ev := sample()
	line := ev.AppendJSON(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var d Decoder
	var e Event
	cpu := benchmetric.CPU()
	for b.Loop() {
		if err := d.Decode(line, &e, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	benchmetric.ReportCPU(b, cpu)
}
