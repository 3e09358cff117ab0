package ddbjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestAppendMapSortsKeys(t *testing.T) {
	m := Map{"zeta": N("1"), "alpha": S("a"), "Mid": Bool(false), "": Null()}
	got := string(AppendMap(nil, m))
	want := `{"":{"NULL":true},"Mid":{"BOOL":false},"alpha":{"S":"a"},"zeta":{"N":"1"}}`
	if got != want {
		t.Errorf("AppendMap =\n%s\nwant\n%s", got, want)
	}
	if got := string(AppendMap(nil, nil)); got != `{}` {
		t.Errorf("AppendMap(nil) = %s", got)
	}
	// Appends to what dst holds.
	if got := string(AppendMap([]byte("x="), Map{"a": S("b")})); got != `x={"a":{"S":"b"}}` {
		t.Errorf("AppendMap with a prefix = %s", got)
	}
}

func TestAppendValueEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"zero value is NULL", Value{}, `{"NULL":true}`},
		{"nil map", M(nil), `{"M":{}}`},
		{"nil list", Value{Kind: KindL}, `{"L":[]}`},
		{"nil binary", B(nil), `{"B":""}`},
		{"empty sets", SS(), `{"SS":[]}`},
		{"zero value in list", L(Value{}, S("x")), `{"L":[{"NULL":true},{"S":"x"}]}`},
		{"nested map keys sorted", M(Map{"b": S("2"), "a": M(Map{"y": N("1"), "x": N("0")})}),
			`{"M":{"a":{"M":{"x":{"N":"0"},"y":{"N":"1"}}},"b":{"S":"2"}}}`},
		{"set order kept", NS("3", "1", "2"), `{"NS":["3","1","2"]}`},
		{"BS", BS([]byte("hi"), nil), `{"BS":["aGk=",""]}`},
	}
	for _, tt := range tests {
		if got := string(AppendValue(nil, tt.v)); got != tt.want {
			t.Errorf("%s: AppendValue = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestAppendStringEscapes(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain", `"plain"`},
		{"", `""`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"line\nbreak", `"line\nbreak"`},
		{"cr\r", `"cr\r"`},
		{"tab\t", `"tab\t"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\b\f", `"\u0008\u000c"`},
		{"/", `"/"`},
		{"\x7f", "\"\x7f\""},
		{"é€😀", `"é€😀"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"\xc3", `"\ufffd"`},
		{"\xe2\x82", `"\ufffd\ufffd"`},
		{"ok\xc3\xa9\xff", `"oké\ufffd"`},
	}
	for _, tt := range tests {
		got := string(appendString(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("appendString(%q) = %s is not valid JSON", tt.in, got)
		}
		// encoding/json reads back the same string (invalid UTF-8 as U+FFFD).
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(tt.in) && back != tt.in {
			t.Errorf("json.Unmarshal(%s) = %q, want %q", got, back, tt.in)
		}
	}
}

func TestAppendPlain(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"S", S("x\"y"), `"x\"y"`},
		{"N", N("-23.10"), `-23.10`},
		{"N exponent", N("1E+3"), `1E+3`},
		{"N 38 digits", N("12345678901234567890123456789012345678"), `12345678901234567890123456789012345678`},
		{"N leading plus", N("+5"), `5`},
		{"N leading zeros", N("007.50"), `7.50`},
		{"N negative leading zeros", N("-00.5"), `-0.5`},
		{"N no integer part", N(".5"), `0.5`},
		{"N negative no integer part", N("-.5e3"), `-0.5e3`},
		{"N trailing dot", N("5."), `5`},
		{"N trailing dot then exponent", N("5.E+2"), `5E+2`},
		{"N zero with plus", N("+0"), `0`},
		{"B", B([]byte{0, 1, 2, 255}), `"AAEC/w=="`},
		{"BOOL", Bool(false), `false`},
		{"NULL", Null(), `null`},
		{"zero value", Value{}, `null`},
		{"M", M(Map{"b": N("1"), "a": S("x")}), `{"a":"x","b":1}`},
		{"M nil", M(nil), `{}`},
		{"L", L(S("a"), Null(), L()), `["a",null,[]]`},
		{"SS", SS("a", "b"), `["a","b"]`},
		{"NS", NS("1.5", "2"), `[1.5,2]`},
		{"NS normalised", NS("+1", ".5"), `[1,0.5]`},
		{"BS", BS([]byte("hi")), `["aGk="]`},
		{"unknown kind", Value{Kind: Kind(99)}, `null`},
	}
	for _, tt := range tests {
		got := string(AppendPlain(nil, tt.v))
		if got != tt.want {
			t.Errorf("%s: AppendPlain = %s, want %s", tt.name, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: AppendPlain = %s is not valid JSON", tt.name, got)
		}
	}
}

// TestAppendPlainNumbersKeepValue: numbers that JSON's grammar does not
// allow are rewritten, but always to an equal number.
func TestAppendPlainNumbersKeepValue(t *testing.T) {
	for _, n := range []string{"+5", "007.50", "-00.5", ".5", "-.5e3", "5.", "5.E+2", "+0", "00", "-0.", "+.0e-0"} {
		out := AppendPlain(nil, N(n))
		v, err := FromJSON(out)
		if err != nil {
			t.Errorf("%s: FromJSON(%s): %v", n, out, err)
			continue
		}
		if v.Kind != KindN || !Equal(v, N(n)) {
			t.Errorf("%s: AppendPlain wrote %s, which reads back as %#v", n, out, v)
		}
	}
}

// TestAppendPlainMatchesEncodingJSON: encoding/json reads the plain form
// of an item as the same document the item holds.
func TestAppendPlainMatchesEncodingJSON(t *testing.T) {
	m := sampleItem()
	out := AppendPlainMap(nil, m)
	var got map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("encoding/json cannot read %s: %v", out, err)
	}
	want := map[string]any{
		"s":    "text",
		"n":    json.Number("12.50"),
		"b":    "AAEC",
		"bool": true,
		"null": nil,
		"m":    map[string]any{"inner": "x", "deep": map[string]any{"k": json.Number("1")}},
		"l":    []any{"a", map[string]any{"x": json.Number("2")}, []any{false}},
		"ss":   []any{"a", "b"},
		"ns":   []any{json.Number("1"), json.Number("2.5")},
		"bs":   []any{"eA==", "eQ=="},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("encoding/json read\n%#v\nwant\n%#v", got, want)
	}
}

// TestDDBJSONMatchesEncodingJSON: AppendMap writes the DynamoDB JSON that
// encoding/json (and so the AWS SDKs) read as the same typed document.
func TestDDBJSONMatchesEncodingJSON(t *testing.T) {
	out := AppendMap(nil, Map{"a": S("é\n"), "n": NS("1", "2"), "m": M(Map{"x": Null()})})
	var got map[string]map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("encoding/json cannot read %s: %v", out, err)
	}
	want := map[string]map[string]any{
		"a": {"S": "é\n"},
		"n": {"NS": []any{"1", "2"}},
		"m": {"M": map[string]any{"x": map[string]any{"NULL": true}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestRoundTripEveryType(t *testing.T) {
	for _, tt := range typeCases {
		item := Map{"v": tt.want}
		got, err := DecodeMap(AppendMap(nil, item))
		if err != nil {
			t.Errorf("%s: DynamoDB JSON round trip: %v", tt.name, err)
		} else if !identicalMaps(got, item) {
			t.Errorf("%s: DynamoDB JSON round trip = %#v, want %#v", tt.name, got, item)
		}
		line, err := DecodeExportLine(append(append([]byte(`{"Item":`), AppendMap(nil, item)...), '}'))
		if err != nil || !EqualMaps(line, item) {
			t.Errorf("%s: export line round trip = %#v, %v", tt.name, line, err)
		}
	}
}
