package lake

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// inferImages builds the schema of a current table of the given images.
func inferImages(images ...ddbjson.Map) *table {
	st := newTableStats()
	for _, m := range images {
		st.add(&Row{Key: "k", Image: m}, Current)
	}
	return buildTable(st, Current)
}

// attrTypes returns "name type" for each attribute column.
func attrTypes(t *table) []string {
	var out []string
	for _, c := range t.attrs {
		out = append(out, c.name+" "+c.typeText())
	}
	return out
}

// one makes an image per value, all under attribute "a".
func one(vs ...ddbjson.Value) []ddbjson.Map {
	out := make([]ddbjson.Map, len(vs))
	for i, v := range vs {
		out[i] = ddbjson.Map{"a": v}
	}
	return out
}

func TestInferTypes(t *testing.T) {
	S, N := ddbjson.S, ddbjson.N
	m := func(kv ...any) ddbjson.Value {
		mm := ddbjson.Map{}
		for i := 0; i < len(kv); i += 2 {
			mm[kv[i].(string)] = kv[i+1].(ddbjson.Value)
		}
		return ddbjson.M(mm)
	}
	tests := []struct {
		name   string
		images []ddbjson.Map
		want   string // type of column "a"
	}{
		{"string", one(S("x"), S("y")), "string"},
		{"dotnet dates", one(S("2021-03-04T00:00:00.0000000Z"), S("2022-01-01T10:11:12.1230000Z")), "timestamp"},
		{"date forms mixed", one(S("2021-03-04T00:00:00Z"), S("1985-01-01T00:00:00"), S("2021-03-04"), S("2021-03-04T01:02:03+01:00")), "timestamp"},
		{"empty date is null", one(S("2021-03-04"), S(""), S("")), "timestamp"},
		{"one non-date makes string", one(S("2021-03-04"), S("soon")), "string"},
		{"impossible date makes string", one(S("2021-02-30")), "string"},
		{"only empty strings", one(S(""), S("")), "string"},
		{"100ns digits need nanos", one(S("2021-03-04T10:11:12.1234567Z")), "timestamp_ns"},
		{"nanos out of range keep string", one(S("2021-03-04T10:11:12.1234567Z"), S("0001-01-01T00:00:00")), "string"},
		{"year 1 is micros", one(S("0001-01-01T00:00:00"), S("2021-03-04")), "timestamp"},
		{"ints", one(N("1"), N("-42"), N("9223372036854775807")), "int64"},
		{"integral forms", one(N("12.0"), N("1.5e2"), N("3")), "int64"},
		{"int too big", one(N("1"), N("99999999999999999999")), "decimal(38,0)"},
		{"money", one(N("123.45"), N("7"), N("-0.5")), "decimal(18,2)"},
		{"scale from trailing zeros", one(N("1.50"), N("2")), "decimal(18,2)"},
		{"small exponent", one(N("1e-5"), N("2")), "decimal(18,5)"},
		{"precision over 18", one(N("12345678901234567.25")), "decimal(38,2)"},
		{"scale over 18", one(N("0.1234567890123456789")), "double"},
		{"precision over 38", one(N("1e40"), N("0.5")), "double"},
		{"bool", one(ddbjson.Bool(true)), "boolean"},
		{"binary", one(ddbjson.B([]byte{1, 2})), "binary"},
		{"null only", one(ddbjson.Null(), ddbjson.Null()), "string"},
		{"nulls ignored", one(ddbjson.Null(), N("1")), "int64"},
		{"struct union", one(m("x", S("1")), m("y", N("2.5"))), "struct<x:string,y:decimal(18,1)>"},
		{"nested struct", one(m("x", m("when", S("2021-03-04")))), "struct<x:struct<when:timestamp>>"},
		{"empty map is json text", one(m(), m()), "string"},
		{"list of structs", one(ddbjson.L(m("id", S("p1")), m("age", N("3")))), "list<struct<age:int64,id:string>>"},
		{"list of dates", one(ddbjson.L(S("2021-03-04"), S(""))), "list<timestamp>"},
		{"empty lists", one(ddbjson.L(), ddbjson.L()), "list<string>"},
		{"list of lists", one(ddbjson.L(ddbjson.L(N("1")), ddbjson.L())), "list<list<int64>>"},
		{"string set", one(ddbjson.SS("a", "b")), "list<string>"},
		{"number set", one(ddbjson.NS("1", "2.5")), "list<decimal(18,1)>"},
		{"binary set", one(ddbjson.BS([]byte("x"))), "list<binary>"},
		{"majority N over S", one(N("1"), N("2"), S("three")), "int64"},
		{"majority S over N", one(S("a"), S("b"), N("3")), "string"},
		{"tie goes to S", one(N("1"), S("x")), "string"},
		{"list elements mix M and S", one(ddbjson.L(m("id", S("p1")), m("id", S("p2")), S("junk"))), "list<struct<id:string>>"},
		{"struct field mixed kinds", one(m("rent", N("1.5")), m("rent", N("2")), m("rent", S("n/a"))), "struct<rent:decimal(18,1)>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := attrTypes(inferImages(tc.images...))
			if want := []string{"a " + tc.want}; !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestInferUnionOfAttributes(t *testing.T) {
	tbl := inferImages(
		ddbjson.Map{"b": ddbjson.S("x"), "a": ddbjson.N("1")},
		ddbjson.Map{"c": ddbjson.Bool(true)},
		ddbjson.Map{"B": ddbjson.S("y")},
	)
	got := attrTypes(tbl)
	// "B" and "b" differ only by case and have as many values: byte order
	// gives "B" the plain name.
	want := []string{"B string", "a int64", "b__2 string", "c boolean"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestColumnNames(t *testing.T) {
	tests := []struct {
		name   string
		images []ddbjson.Map
		want   map[string]string // attribute -> column name
	}{
		{
			name: "most values keep the plain name",
			images: []ddbjson.Map{
				{"id": ddbjson.S("1"), "Id": ddbjson.S("x")},
				{"id": ddbjson.S("2")},
			},
			want: map[string]string{"id": "id", "Id": "Id__2"},
		},
		{
			name:   "ties by byte order",
			images: []ddbjson.Map{{"ID": ddbjson.S("1"), "Id": ddbjson.S("2"), "id": ddbjson.S("3")}},
			want:   map[string]string{"ID": "ID", "Id": "Id__2", "id": "id__3"},
		},
		{
			name:   "reserved names",
			images: []ddbjson.Map{{"_key": ddbjson.S("1"), "import_date": ddbjson.S("2"), "_LEFTOVERS": ddbjson.S("3"), "Valid_From": ddbjson.S("4")}},
			want:   map[string]string{"_key": "_key__2", "import_date": "import_date__2", "_LEFTOVERS": "_LEFTOVERS__2", "Valid_From": "Valid_From"},
		},
		{
			name:   "characters outside [A-Za-z0-9_]",
			images: []ddbjson.Map{{"full name": ddbjson.S("1"), "full-name": ddbjson.S("2"), "café": ddbjson.S("3"), "": ddbjson.S("4"), "a.b": ddbjson.S("5")}},
			want:   map[string]string{"full name": "full_name", "full-name": "full_name__2", "café": "caf_", "": "_", "a.b": "a_b"},
		},
		{
			name:   "suffix already taken",
			images: []ddbjson.Map{{"a": ddbjson.S("1"), "A": ddbjson.S("2"), "a__2": ddbjson.S("3")}, {"a": ddbjson.S("1"), "a__2": ddbjson.S("3")}},
			want:   map[string]string{"a": "a", "a__2": "a__2", "A": "A__3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl := inferImages(tc.images...)
			got := map[string]string{}
			for _, c := range tbl.attrs {
				got[c.attr] = c.name
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStructFieldNamesFoldCase(t *testing.T) {
	tbl := inferImages(ddbjson.Map{"m": ddbjson.M(ddbjson.Map{"code": ddbjson.S("a"), "Code": ddbjson.S("b")})})
	if got, want := tbl.attrs[0].typeText(), "struct<Code:string,code__2:string>"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestColumnOrder(t *testing.T) {
	st := newTableStats()
	st.add(&Row{Key: "k", Image: ddbjson.Map{"zeta": ddbjson.S("1"), "Alpha": ddbjson.S("2"), "mid": ddbjson.N("3")}}, History)
	tbl := buildTable(st, History)
	var names []string
	for _, c := range tbl.columns() {
		names = append(names, c.Name)
	}
	want := "_key _version _op _event_id _event_type _event_time _source _ingested_at valid_from valid_to " +
		"Alpha mid zeta _leftovers import_year import_month import_day import_date import_datetime import_timestamp"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("columns:\n got %s\nwant %s", got, want)
	}
	// The parquet schema has the same order and one leaf per flat column.
	var fields []string
	for _, f := range tbl.schema.Fields() {
		fields = append(fields, f.Name())
	}
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("parquet fields:\n got %s\nwant %s", got, want)
	}
	if tbl.numLeaves != len(tbl.schema.Columns()) {
		t.Errorf("numLeaves %d, schema has %d leaf columns", tbl.numLeaves, len(tbl.schema.Columns()))
	}
}

func TestCurrentHasNoValidity(t *testing.T) {
	tbl := inferImages(ddbjson.Map{"a": ddbjson.S("x")})
	for _, c := range tbl.columns() {
		if c.Name == colValidFrom || c.Name == colValidTo {
			t.Errorf("current table has %s", c.Name)
		}
	}
}

func TestInferDeterministic(t *testing.T) {
	rows := tenureRows(200)
	var first []Column
	for i := range 5 {
		st := newTableStats()
		for j := range rows {
			st.add(&rows[j], Current)
		}
		cols := buildTable(st, Current).columns()
		if i == 0 {
			first = cols
		} else if !reflect.DeepEqual(cols, first) {
			t.Fatalf("run %d: schema differs:\n%v\n%v", i, cols, first)
		}
	}
}

func TestMetadataTypes(t *testing.T) {
	tests := []struct {
		name     string
		versions []string
		want     string
	}{
		{"no versions", nil, "int64"},
		{"integer versions", []string{"1", "2", "30"}, "int64"},
		{"decimal versions", []string{"1", "2.5"}, "decimal(18,1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newTableStats()
			for _, v := range tc.versions {
				st.add(&Row{Key: "k", Version: v}, Current)
			}
			st.add(&Row{Key: "k"}, Current)
			tbl := buildTable(st, Current)
			if got := tbl.meta[1].typeText(); got != tc.want {
				t.Errorf("_version %s, want %s", got, tc.want)
			}
		})
	}
}
