package event

import (
	"bytes"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
)

// BenchmarkDecodeAndMap decodes a realistic event and maps it to a change,
// as a source does for each message; events/s is the throughput of one core.
func BenchmarkDecodeAndMap(b *testing.B) {
	m := testMapper(b)
	for _, bc := range []struct{ name, file string }{
		{"TenureUpdatedEvent", "tenure_updated.json"},
		{"TenureCreatedEvent", "tenure_created.json"},
		{"SNS/TenureUpdatedEvent", "sns_tenure_updated.json"},
	} {
		raw := bytes.TrimSpace(readFile(b, "good", bc.file))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			pos := change.Position{Source: "events:bench"}
			for b.Loop() {
				env, err := Decode(raw, 256<<10)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.Change(env, pos); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
