package avro

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	hamba "github.com/hamba/avro/v2"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files from the current output")

// tenureOptions are the options the 2022 tenure topic needs: DateOfBirth
// is a date that does not end in "Date".
var tenureOptions = Options{DateFields: []string{"DateOfBirth"}}

func body(t testing.TB, schema hamba.Schema, v any) []byte {
	t.Helper()
	b, err := hamba.Marshal(schema, v)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return b
}

func parse(t testing.TB, schema string) hamba.Schema {
	t.Helper()
	s, err := hamba.Parse(schema)
	if err != nil {
		t.Fatalf("parsing %s: %v", schema, err)
	}
	return s
}

// TestGoldenTenure2022: tenures of the 2022 Avro shape become the table's
// images: camelCase names in every record, dates as the table's strings,
// int.MinValue dates NULL, money as exact numbers.
func TestGoldenTenure2022(t *testing.T) {
	schema := kafkatest.TenureSchema(t)
	conv := NewConverter(tenureOptions)
	dateRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`)
	for _, i := range []int{1, 3} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			img, err := conv.Image(schema, body(t, schema, kafkatest.NewTenure2022(i)))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, ddbjson.AppendMap(nil, img), "", "  "); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", fmt.Sprintf("tenure_2022_%d.golden.json", i)), out.Bytes())

			checkCamel(t, "", ddbjson.M(img))
			if got := img["id"]; got.Kind != ddbjson.KindS || got.Str != kafkatest.TenureID(i) {
				t.Errorf("id = %+v, want S %s", got, kafkatest.TenureID(i))
			}
			for _, f := range []string{"startOfTenureDate"} {
				if v := img[f]; v.Kind != ddbjson.KindS || !dateRE.MatchString(v.Str) {
					t.Errorf("%s = %+v, want a date string", f, v)
				}
			}
			for _, f := range []string{"successionDate", "evictionDate", "potentialEndDate", "subletEndDate"} {
				if v := img[f]; v.Kind != ddbjson.KindNULL {
					t.Errorf("%s = %+v, want NULL (int.MinValue)", f, v)
				}
			}
			wantEnd := ddbjson.KindNULL
			if i%3 == 0 {
				wantEnd = ddbjson.KindS
			}
			if v := img["endOfTenureDate"]; v.Kind != wantEnd {
				t.Errorf("endOfTenureDate = %+v, want %s", v, wantEnd)
			}
			dob := img["householdMembers"].List[0].Map["dateOfBirth"]
			if dob.Kind != ddbjson.KindS || !dateRE.MatchString(dob.Str) {
				t.Errorf("householdMembers[0].dateOfBirth = %+v, want a date (listed in DateFields)", dob)
			}
			if v := img["charges"].Map["currentBalance"]; v.Kind != ddbjson.KindN || v.Str != "-12.5" {
				t.Errorf("charges.currentBalance = %+v, want N -12.5", v)
			}
			if v := img["charges"].Map["tenancyInsuranceCharge"]; v.Kind != ddbjson.KindN || v.Str != "2" {
				t.Errorf("charges.tenancyInsuranceCharge = %+v, want N 2", v)
			}
		})
	}
}

// checkCamel fails for any record field name that starts with a capital.
func checkCamel(t *testing.T, at string, v ddbjson.Value) {
	t.Helper()
	switch v.Kind {
	case ddbjson.KindM:
		for k, e := range v.Map {
			if k != "" && k[0] >= 'A' && k[0] <= 'Z' {
				t.Errorf("field %s.%s is not camelCase", at, k)
			}
			checkCamel(t, at+"."+k, e)
		}
	case ddbjson.KindL:
		for i, e := range v.List {
			checkCamel(t, fmt.Sprintf("%s[%d]", at, i), e)
		}
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\ngot:\n%s", path, got)
	}
}

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{
		"Id": "id", "PaymentReference": "paymentReference", "Uprn": "uprn", "id": "id", "": "",
		"_Hidden": "_Hidden", "X": "x", "IsTenanted": "isTenanted", "UPRN": "uPRN",
	} {
		if got := FieldName(in); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

// convertOne converts a record holding the single field "F" of type typ.
func convertOne(t *testing.T, opts Options, name, typ string, v any) (ddbjson.Value, error) {
	t.Helper()
	schema := parse(t, fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":%q,"type":%s}]}`, name, typ))
	img, err := NewConverter(opts).Image(schema, body(t, schema, map[string]any{name: v}))
	if err != nil {
		return ddbjson.Value{}, err
	}
	return img[FieldName(name)], nil
}

func TestDatesAndNumbers(t *testing.T) {
	for _, c := range []struct {
		name, field, typ string
		opts             Options
		in               any
		want             ddbjson.Value
	}{
		{"epoch", "StartDate", `"int"`, Options{}, 0, ddbjson.S("1970-01-01T00:00:00.0000000Z")},
		{"seconds", "StartOfTenureDate", `"int"`, Options{}, 1559347200, ddbjson.S("2019-06-01T00:00:00.0000000Z")},
		{"empty int", "EndOfTenureDate", `"int"`, Options{}, math.MinInt32, ddbjson.Null()},
		{"empty long", "EndDate", `"long"`, Options{}, int64(math.MinInt32), ddbjson.Null()},
		{"empty long min", "EndDate", `"long"`, Options{}, int64(math.MinInt64), ddbjson.Null()},
		{"nullable date", "EndDate", `["null","int"]`, Options{}, 86400, ddbjson.S("1970-01-02T00:00:00.0000000Z")},
		{"null date", "EndDate", `["null","int"]`, Options{}, nil, ddbjson.Null()},
		{"before 1970", "BirthDate", `"int"`, Options{}, -86400, ddbjson.S("1969-12-31T00:00:00.0000000Z")},
		{"not a date", "NumberOfAdults", `"int"`, Options{}, 3, ddbjson.N("3")},
		{"int.MinValue not a date", "Count", `"int"`, Options{}, math.MinInt32, ddbjson.N("-2147483648")},
		{"listed by Avro name", "DateOfBirth", `"int"`, Options{DateFields: []string{"DateOfBirth"}}, 0, ddbjson.S("1970-01-01T00:00:00.0000000Z")},
		{"listed by table name", "DateOfBirth", `"int"`, Options{DateFields: []string{"dateOfBirth"}}, 0, ddbjson.S("1970-01-01T00:00:00.0000000Z")},
		{"suffix off", "EndDate", `"int"`, Options{NoDateSuffix: true}, 5, ddbjson.N("5")},
		{"date string untouched", "EndDate", `"string"`, Options{}, "2020-01-01", ddbjson.S("2020-01-01")},
		{"timestamp-millis", "Created", `{"type":"long","logicalType":"timestamp-millis"}`, Options{}, int64(-1), ddbjson.S("1969-12-31T23:59:59.9990000Z")},
		{"timestamp-micros", "Created", `{"type":"long","logicalType":"timestamp-micros"}`, Options{}, int64(1500001), ddbjson.S("1970-01-01T00:00:01.5000010Z")},
		{"logical date", "Day", `{"type":"int","logicalType":"date"}`, Options{}, 1, ddbjson.S("1970-01-02T00:00:00.0000000Z")},
		{"long", "Big", `"long"`, Options{}, int64(math.MaxInt64), ddbjson.N("9223372036854775807")},
		{"double", "Rent", `"double"`, Options{}, 105.37, ddbjson.N("105.37")},
		{"double int", "Rent", `"double"`, Options{}, 1234567.0, ddbjson.N("1234567")},
		{"double big", "Rent", `"double"`, Options{}, 1e21, ddbjson.N("1e+21")},
		{"double tiny", "Rent", `"double"`, Options{}, 1.5e-9, ddbjson.N("1.5e-09")},
		{"float", "Rate", `"float"`, Options{}, float32(0.1), ddbjson.N("0.1")},
		{"boolean", "IsSublet", `"boolean"`, Options{}, true, ddbjson.Bool(true)},
		{"bytes", "Blob", `"bytes"`, Options{}, []byte{1, 2}, ddbjson.B([]byte{1, 2})},
		{"enum", "Type", `{"type":"enum","name":"T","symbols":["Person","Organisation"]}`, Options{}, "Organisation", ddbjson.S("Organisation")},
		{"map keys kept", "Extra", `{"type":"map","values":"string"}`, Options{}, map[string]any{"Key": "v"}, ddbjson.M(ddbjson.Map{"Key": ddbjson.S("v")})},
		{"empty array", "Notices", `{"type":"array","items":"string"}`, Options{}, []any{}, ddbjson.L()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := convertOne(t, c.opts, c.field, c.typ, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !ddbjson.Equal(got, c.want) || got.Kind != c.want.Kind {
				t.Errorf("got %s, want %s", ddbjson.AppendValue(nil, got), ddbjson.AppendValue(nil, c.want))
			}
		})
	}
}

func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		b     []byte
		scale int
		want  string
	}{
		{[]byte{0x04, 0xd2}, 2, "12.34"},
		{[]byte{0xfb, 0x2e}, 2, "-12.34"},
		{[]byte{0x05}, 3, "0.005"},
		{[]byte{0xff}, 0, "-1"},
		{nil, 2, "0.00"},
	} {
		if got := decimalString(c.b, c.scale); got != c.want {
			t.Errorf("decimalString(%x, %d) = %s, want %s", c.b, c.scale, got, c.want)
		}
		if !ddbjson.ValidNumber(decimalString(c.b, c.scale)) {
			t.Errorf("decimalString(%x, %d) is not a valid number", c.b, c.scale)
		}
	}
	schema := parse(t, `{"type":"record","name":"R","fields":[{"name":"Rent","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}]}`)
	img, err := NewConverter(Options{}).Image(schema, []byte{4, 0x04, 0xd2})
	if err != nil {
		t.Fatal(err)
	}
	if v := img["rent"]; v.Kind != ddbjson.KindN || v.Str != "12.34" {
		t.Errorf("decimal rent = %+v, want N 12.34", v)
	}
}

// TestBadBodies: bytes a schema does not decode are an *Error whose reason
// names the field, never a panic or a partial image.
func TestBadBodies(t *testing.T) {
	tenure := kafkatest.TenureSchema(t)
	good := body(t, tenure, kafkatest.NewTenure2022(3))
	rec := func(typ string) hamba.Schema {
		return parse(t, `{"type":"record","name":"R","fields":[{"name":"F","type":`+typ+`}]}`)
	}
	list := parse(t, `{"type":"record","name":"Node","fields":[{"name":"Next","type":["null","Node"]}]}`)
	deep := bytes.Repeat([]byte{2}, 80) // 80 times the "Node" branch of the union
	deep = append(deep, 0)
	for _, c := range []struct {
		name   string
		schema hamba.Schema
		data   []byte
		want   string
	}{
		{"truncated", tenure, good[:len(good)/2], "the message ends inside"},
		{"empty", tenure, nil, "the message ends inside Id"},
		{"trailing bytes", tenure, append(append([]byte{}, good...), 0), "bytes are left after the record"},
		{"union branch", rec(`["null","string"]`), []byte{4}, "F: union branch 2 does not exist"},
		{"negative union branch", rec(`["null","string"]`), []byte{1}, "F: union branch -1 does not exist"},
		{"enum index", rec(`{"type":"enum","name":"E","symbols":["A"]}`), []byte{2}, "F: enum index 1 is not a symbol of E"},
		{"bool byte", rec(`"boolean"`), []byte{7}, "F: ReadBool: invalid bool"},
		{"utf-8", rec(`"string"`), []byte{2, 0xff, 0xfe}, "F: string is not valid UTF-8"},
		{"negative length", rec(`"string"`), []byte{3}, "F: ReadSTRING: invalid string length"},
		{"NaN", rec(`"double"`), []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, "F: NaN cannot be a DynamoDB number"},
		{"Inf", rec(`"double"`), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x7f}, "F: +Inf cannot be a DynamoDB number"},
		{"zero-width items", rec(`{"type":"array","items":"null"}`), []byte{0xfe, 0xff, 0xff, 0xff, 0x0f, 0}, "F: more array or map items than the message can hold"},
		{"deep", list, deep, "nested deeper than 64 levels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewConverter(Options{}).Image(c.schema, c.data)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !strings.Contains(e.Reason, c.want) {
				t.Errorf("reason %q, want it to contain %q", e.Reason, c.want)
			}
		})
	}
	if _, err := NewConverter(Options{}).Image(parse(t, `"string"`), []byte{0}); err == nil || !strings.Contains(err.Error(), "want a record") {
		t.Errorf("a schema that is no record: err = %v", err)
	}
	_, err := convertOne(t, Options{}, "EndDate", `"long"`, int64(1)<<50)
	if err == nil || !strings.Contains(err.Error(), "EndDate: date 1125899906842624 (Unix seconds) is out of range") {
		t.Errorf("date out of range: err = %v", err)
	}
	dup := parse(t, `{"type":"record","name":"R","fields":[{"name":"Id","type":"string"},{"name":"id","type":"string"}]}`)
	if _, err := NewConverter(Options{}).Image(dup, []byte{2, 'a', 2, 'b'}); err == nil || !strings.Contains(err.Error(), `two fields of R become "id"`) {
		t.Errorf("fields that collide: err = %v", err)
	}
}

func TestSplitWire(t *testing.T) {
	id, b, err := SplitWire([]byte{0, 0, 0, 1, 2, 9, 9})
	if err != nil || id != 258 || !bytes.Equal(b, []byte{9, 9}) {
		t.Errorf("SplitWire = %d, %x, %v; want 258, 0909, nil", id, b, err)
	}
	if got := AppendWire(nil, 258, []byte{9, 9}); !bytes.Equal(got, []byte{0, 0, 0, 1, 2, 9, 9}) {
		t.Errorf("AppendWire = %x", got)
	}
	for _, c := range []struct {
		msg  []byte
		want string
	}{
		{[]byte{0, 0, 1}, "message of 3 bytes is too short for the Confluent wire format"},
		{nil, "message of 0 bytes is too short"},
		{[]byte(`{"id":1}`), "wrong magic byte 0x7b, want 0x00"},
		{[]byte{1, 0, 0, 0, 1, 2}, "wrong magic byte 0x01"},
	} {
		_, _, err := SplitWire(c.msg)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Reason, c.want) {
			t.Errorf("SplitWire(%q) = %v, want an *Error containing %q", c.msg, err, c.want)
		}
	}
}
