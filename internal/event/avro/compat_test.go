package avro

import (
	"strings"
	"testing"

	hamba "github.com/hamba/avro/v2"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// evolve returns the 2022 tenure schema with old replaced by new in its text.
func evolve(t *testing.T, old, new string) hamba.Schema {
	t.Helper()
	text := strings.Replace(kafkatest.TenureSchema2022, old, new, 1)
	if text == kafkatest.TenureSchema2022 {
		t.Fatalf("%q is not in the schema", old)
	}
	return parse(t, text)
}

const (
	isSubletField = `{"name": "IsSublet", "type": ["null", "boolean"], "default": null}`
	newFields     = `{"name": "TenureSource", "type": ["null", "string"], "default": null},
    {"name": "NumberOfAdultsInProperty", "type": "int", "default": 0}`
)

// TestSchemaEvolution checks schema changes with hamba/avro's compatibility
// rules (Compatible(reader, writer): can reader read writer's data?), since
// the fake registry's compatibility endpoint always says yes; and that the
// converter, which decodes with the writer's schema, keeps every field a
// newer producer sends.
func TestSchemaEvolution(t *testing.T) {
	v1 := kafkatest.TenureSchema(t)
	sc := hamba.NewSchemaCompatibility()

	// Optional fields with defaults added (two of the fields the 2022 shape
	// dropped): compatible both ways.
	v2 := evolve(t, isSubletField, isSubletField+",\n    "+newFields)
	if err := sc.Compatible(v2, v1); err != nil {
		t.Errorf("v2 (new optional fields with defaults) cannot read v1 data: %v", err)
	}
	if err := sc.Compatible(v1, v2); err != nil {
		t.Errorf("v1 cannot read v2 data (it should skip the new fields): %v", err)
	}

	// A required field (no default) removed: readers of the old schema
	// cannot read the new data.
	v3 := evolve(t, `{"name": "StartOfTenureDate", "type": "int"},`, ``)
	if err := sc.Compatible(v1, v3); err == nil {
		t.Error("removing the required StartOfTenureDate was judged compatible for v1 readers")
	}
	// A required field added without a default: new readers cannot read
	// old data.
	v4 := evolve(t, isSubletField, isSubletField+`,
    {"name": "TenureSource", "type": "string"}`)
	if err := sc.Compatible(v4, v1); err == nil {
		t.Error("a new required field without a default was judged compatible with old data")
	}
	// A type change that Avro cannot promote.
	v5 := evolve(t, `{"name": "Id", "type": "string"}`, `{"name": "Id", "type": "int"}`)
	if err := sc.Compatible(v5, v1); err == nil {
		t.Error("changing Id from string to int was judged compatible")
	}

	// A v2 message is a v1 body followed by the new fields (they are last).
	tail := parse(t, `{"type":"record","name":"Tail","fields":[`+newFields+`]}`)
	src := "HousingSearch"
	msg := append(body(t, v1, kafkatest.NewTenure2022(2)), body(t, tail, struct {
		TenureSource *string `avro:"TenureSource"`
		Adults       int32   `avro:"NumberOfAdultsInProperty"`
	}{&src, 2})...)
	conv := NewConverter(tenureOptions)
	img, err := conv.Image(v2, msg)
	if err != nil {
		t.Fatal(err)
	}
	if v := img["tenureSource"]; v.Kind != ddbjson.KindS || v.Str != src {
		t.Errorf("tenureSource = %+v, want %q", v, src)
	}
	if v := img["numberOfAdultsInProperty"]; v.Kind != ddbjson.KindN || v.Str != "2" {
		t.Errorf("numberOfAdultsInProperty = %+v, want N 2", v)
	}
	old, err := conv.Image(v1, msg[:len(msg)-len(src)-3])
	if err != nil {
		t.Fatal(err)
	}
	if len(img) != len(old)+2 {
		t.Errorf("v2 image has %d attributes, the v1 image %d: want 2 more", len(img), len(old))
	}
	// Read with the wrong (older) schema, the extra bytes are noticed.
	if _, err := conv.Image(v1, msg); err == nil || !strings.Contains(err.Error(), "bytes are left after the record") {
		t.Errorf("v2 message read with v1: %v", err)
	}
}
