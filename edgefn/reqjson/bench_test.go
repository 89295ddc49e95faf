package reqjson_test

import (
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/reqjson"
	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

// benchBodies are request bodies as edgefn receives them: an OFREP
// single-flag context (what the OpenFeature providers send), a bulk
// request with a nested user object, and a context whose strings carry
// escapes (the slow path of string decoding).
var benchBodies = []struct{ name, body string }{
	{"OFREPContext", `{"context":{"targetingKey":"user-123","email":"user@example.com","custom-plan":"premium","country":"CA"}}`},
	{"Nested", `{"context":{"targetingKey":"u-1","plan":"pro","user":{"plan":"enterprise","signupAt":"2023-05-01T00:00:00Z"},"tags":["early-adopter","beta"],"age":34,"beta":true,"score":-1.5e-3}}`},
	{"Escapes", `{"context":{"targetingKey":"u-\u00e9\ud83d\ude00","name":"Zo\u00eb \"Q\" O'Brien","path":"a\/b\\c\n"}}`},
}

func BenchmarkParse(b *testing.B) {
	for _, c := range benchBodies {
		data := []byte(c.body)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := benchmetric.CPU()
			for b.Loop() {
				if _, err := reqjson.Parse(data, reqjson.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
		})
	}
}
