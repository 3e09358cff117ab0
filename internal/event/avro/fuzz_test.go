package avro

import (
	"context"
	"errors"
	"testing"

	hamba "github.com/hamba/avro/v2"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// FuzzDecode feeds arbitrary messages to the decoder with the 2022 tenure
// schema (id 1) and a schema of every Avro type (id 2): it must never
// panic or hang, every failure is an *Error, and every image it returns can
// be stored (binary form round trip); a tenure has camelCase fields.
func FuzzDecode(f *testing.F) {
	tenure := kafkatest.TenureSchema(f)
	all, err := hamba.Parse(`{"type":"record","name":"All","fields":[
		{"name":"B","type":"boolean"},{"name":"I","type":"int"},{"name":"L","type":"long"},
		{"name":"F","type":"float"},{"name":"D","type":"double"},{"name":"S","type":"string"},
		{"name":"Y","type":"bytes"},{"name":"X","type":{"type":"fixed","name":"X4","size":4}},
		{"name":"E","type":{"type":"enum","name":"E","symbols":["A","B"]}},
		{"name":"A","type":{"type":"array","items":["null","int"]}},
		{"name":"M","type":{"type":"map","values":"All"}},
		{"name":"SomeDate","type":"long"},
		{"name":"Dec","type":{"type":"bytes","logicalType":"decimal","precision":20,"scale":4}},
		{"name":"Ts","type":{"type":"long","logicalType":"timestamp-micros"}},
		{"name":"Next","type":["null","All"]}]}`)
	if err != nil {
		f.Fatal(err)
	}
	schemas := map[int]hamba.Schema{1: tenure, 2: all}
	d := NewDecoder(func(_ context.Context, id int) (hamba.Schema, error) {
		if s, ok := schemas[id]; ok {
			return s, nil
		}
		return nil, ErrUnknownSchema
	}, tenureOptions)
	for i := range 4 {
		f.Add(kafkatest.EncodeAvro(f, tenure, 1, kafkatest.NewTenure2022(i)))
	}
	good := kafkatest.EncodeAvro(f, tenure, 1, kafkatest.NewTenure2022(3))
	f.Add(good[:len(good)-7])
	f.Add([]byte{0, 0, 0, 0, 2, 1, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 'x', 0, 1, 2, 3, 4, 2, 1, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 9})
	f.Add([]byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		rec, err := d.Decode(context.Background(), msg)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("error %v is not an *Error with a reason", err)
			}
			return
		}
		bin := ddbjson.AppendBinary(nil, rec.Image)
		back, rest, err := ddbjson.DecodeBinary(bin)
		if err != nil || len(rest) != 0 || !ddbjson.EqualMaps(back, rec.Image) {
			t.Fatalf("image does not round trip through the store's binary form: %v", err)
		}
		if rec.SchemaID == 1 { // the All schema has maps, whose keys are kept as sent
			checkCamel(t, "", ddbjson.M(rec.Image))
		}
	})
}
