package avro

import (
	"testing"

	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// BenchmarkImage measures the conversion of a 2022 tenure (Avro binary)
// into its image.
func BenchmarkImage(b *testing.B) {
	schema := kafkatest.TenureSchema(b)
	data := body(b, schema, kafkatest.NewTenure2022(3))
	conv := NewConverter(tenureOptions)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conv.Image(schema, data); err != nil {
			b.Fatal(err)
		}
	}
}
