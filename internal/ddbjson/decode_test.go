package ddbjson

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// typeCases is one value of every DynamoDB type with its DynamoDB JSON, in
// the form AppendValue writes.
var typeCases = []struct {
	name string
	json string
	want Value
}{
	{"S", `{"S":"Hackney"}`, S("Hackney")},
	{"S empty", `{"S":""}`, S("")},
	{"S unicode", `{"S":"Zoë Ōkubo 😀"}`, S("Zoë Ōkubo 😀")},
	{"S escapes", `{"S":"a\"b\\c\nd\te\r\u0001"}`, S("a\"b\\c\nd\te\r\x01")},
	{"N integer", `{"N":"42"}`, N("42")},
	{"N fraction", `{"N":"-23.10"}`, N("-23.10")},
	{"N exponent", `{"N":"1E+3"}`, N("1E+3")},
	{"N 38 digits", `{"N":"12345678901234567890123456789012345678"}`, N("12345678901234567890123456789012345678")},
	{"B", `{"B":"AAEC/w=="}`, B([]byte{0, 1, 2, 255})},
	{"B empty", `{"B":""}`, B([]byte{})},
	{"BOOL true", `{"BOOL":true}`, Bool(true)},
	{"BOOL false", `{"BOOL":false}`, Bool(false)},
	{"NULL", `{"NULL":true}`, Null()},
	{"M", `{"M":{"code":{"S":"SEC"},"description":{"S":"Secure"}}}`, M(Map{"code": S("SEC"), "description": S("Secure")})},
	{"M empty", `{"M":{}}`, M(Map{})},
	{"L", `{"L":[{"S":"a"},{"N":"1"},{"NULL":true},{"L":[]}]}`, L(S("a"), N("1"), Null(), L())},
	{"L empty", `{"L":[]}`, L()},
	{"SS", `{"SS":["uh_tag_ref","u_saff_tenancy"]}`, SS("uh_tag_ref", "u_saff_tenancy")},
	{"NS", `{"NS":["52","53.5","-1E+2"]}`, NS("52", "53.5", "-1E+2")},
	{"BS", `{"BS":["AQ==","AgM="]}`, BS([]byte{1}, []byte{2, 3})},
	{"L of M", `{"L":[{"M":{"id":{"S":"x"},"isResponsible":{"BOOL":true}}}]}`, L(M(Map{"id": S("x"), "isResponsible": Bool(true)}))},
}

func TestDecodeValueTypes(t *testing.T) {
	for _, tt := range typeCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeValue([]byte(tt.json))
			if err != nil {
				t.Fatalf("DecodeValue(%s): %v", tt.json, err)
			}
			if !identical(got, tt.want) {
				t.Errorf("DecodeValue(%s) =\n %#v\nwant\n %#v", tt.json, got, tt.want)
			}
			if enc := string(AppendValue(nil, tt.want)); enc != tt.json {
				t.Errorf("AppendValue(%+v) = %s, want %s", tt.want, enc, tt.json)
			}
		})
	}
}

func TestDecodeValueWhitespace(t *testing.T) {
	in := " \t\r\n{ \"M\" :\n { \"a\" : { \"L\" : [ { \"N\" : \"1\" } , { \"BOOL\" : false } ] } } }\n "
	got, err := DecodeValue([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := M(Map{"a": L(N("1"), Bool(false))})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestDecodeMap(t *testing.T) {
	in := `{"id":{"S":"8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10"},"versionNumber":{"N":"7"},"isTenanted":{"BOOL":true},"endOfTenureDate":{"NULL":true}}`
	got, err := DecodeMap([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Map{
		"id":              S("8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10"),
		"versionNumber":   N("7"),
		"isTenanted":      Bool(true),
		"endOfTenureDate": Null(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	if got, err := DecodeMap([]byte(`{}`)); err != nil || got == nil || len(got) != 0 {
		t.Errorf("DecodeMap({}) = %#v, %v; want empty non-nil map", got, err)
	}
}

func TestDecodeExportLine(t *testing.T) {
	got, err := DecodeExportLine([]byte(`{"Item":{"id":{"S":"a"},"n":{"N":"1"}}}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Map{"id": S("a"), "n": N("1")}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	bad := []struct {
		name, in, want string
	}{
		{"no Item", `{}`, "export line has no Item"},
		{"other member", `{"Keys":{"id":{"S":"a"}}}`, `unexpected member "Keys" in export line, want Item`},
		{"duplicate Item", `{"Item":{"id":{"S":"a"}},"Item":{"id":{"S":"b"}}}`, "duplicate Item"},
		{"Item not a map", `{"Item":[]}`, `unexpected '[', want '{'`},
		{"bad attribute", `{"Item":{"id":{"X":"a"}}}`, `attribute "id": offset 19: unknown attribute type "X"`},
		{"array", `[{"Item":{}}]`, "not a JSON object"},
		{"empty", ``, "not a JSON object"},
		{"trailing", `{"Item":{}} {"Item":{}}`, "unexpected data after the value"},
		{"truncated", `{"Item":{"id":{"S":"a"}`, "offset 23: want , or } in object"},
	}
	for _, tt := range bad {
		if _, err := DecodeExportLine([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: DecodeExportLine(%s) error = %v, want it to contain %q", tt.name, tt.in, err, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown type", `{"X":{"Z":"1"}}`, `attribute "X": offset 10: unknown attribute type "Z"`},
		{"lower case type", `{"a":{"s":"1"}}`, `unknown attribute type "s"`},
		{"two types", `{"a":{"S":"x","N":"1"}}`, "attribute value with more than one type"},
		{"no type", `{"a":{}}`, "attribute value with no type"},
		{"NULL false", `{"a":{"NULL":false}}`, "NULL must be true"},
		{"NULL string", `{"a":{"NULL":"true"}}`, "want true or false"},
		{"BOOL string", `{"a":{"BOOL":"true"}}`, "want true or false"},
		{"BOOL misspelt", `{"a":{"BOOL":tru}}`, "invalid literal, want true"},
		{"bad base64", `{"a":{"B":"not base64!"}}`, "invalid base64"},
		{"bad base64 in BS", `{"a":{"BS":["AQ==","%%%"]}}`, "invalid base64"},
		{"base64 without padding", `{"a":{"B":"AQ"}}`, "invalid base64"},
		{"invalid number", `{"a":{"N":"1.2.3"}}`, `invalid number "1.2.3"`},
		{"empty number", `{"a":{"N":""}}`, `invalid number ""`},
		{"NaN", `{"a":{"N":"NaN"}}`, `invalid number "NaN"`},
		{"number not a string", `{"a":{"N":1}}`, `unexpected '1', want '"'`},
		{"invalid number in NS", `{"a":{"NS":["1","x"]}}`, `invalid number "x" in NS`},
		{"S not a string", `{"a":{"S":1}}`, `want '"'`},
		{"SS not a list", `{"a":{"SS":"a"}}`, `unexpected '"', want '['`},
		{"SS element not a string", `{"a":{"SS":[1]}}`, `want '"'`},
		{"L element not typed", `{"a":{"L":["x"]}}`, `unexpected '"', want '{'`},
		{"M not an object", `{"a":{"M":[]}}`, `unexpected '[', want '{'`},
		{"value not an object", `{"a":"x"}`, `unexpected '"', want '{'`},
		{"truncated after key", `{"a"`, "unexpected end of input, want ':'"},
		{"truncated in value", `{"a":{"S":"x`, "unterminated string"},
		{"truncated in list", `{"a":{"L":[{"S":"x"},`, "unexpected end of input"},
		{"truncated escape", `{"a":{"S":"x\`, "unterminated string"},
		{"missing comma", `{"a":{"S":"x"} "b":{"S":"y"}}`, "want , or } in object"},
		{"missing comma in list", `{"a":{"L":[{"S":"x"} {"S":"y"}]}}`, "want , or ] in array"},
		{"trailing comma", `{"a":{"S":"x"},}`, `unexpected '}', want '"'`},
		{"single quotes", `{'a':{"S":"x"}}`, `unexpected '\'', want '"'`},
		{"key not a string", `{a:{"S":"x"}}`, `unexpected 'a', want '"'`},
		{"invalid UTF-8", "{\"a\":{\"S\":\"\xff\xfe\"}}", "invalid UTF-8 in string"},
		{"invalid UTF-8 after escape", "{\"a\":{\"S\":\"\\n\xc3\"}}", "invalid UTF-8 in string"},
		{"invalid UTF-8 in key", "{\"\xc3\x28\":{\"S\":\"x\"}}", "invalid UTF-8 in string"},
		{"control character", "{\"a\":{\"S\":\"x\ty\"}}", "control character 0x09 in string"},
		{"control character after escape", "{\"a\":{\"S\":\"\\n\x01\"}}", "control character 0x01 in string"},
		{"bad escape", `{"a":{"S":"\x41"}}`, `bad escape \x`},
		{"bad unicode escape", `{"a":{"S":"\u12G4"}}`, `bad \u escape`},
		{"short unicode escape", `{"a":{"S":"\u12"}}`, `bad \u escape`},
		{"unpaired high surrogate", `{"a":{"S":"\ud83d"}}`, "unpaired UTF-16 surrogate"},
		{"unpaired low surrogate", `{"a":{"S":"\ude00x"}}`, "unpaired UTF-16 surrogate"},
		{"high surrogate then letter", `{"a":{"S":"\ud83d\u0041"}}`, "unpaired UTF-16 surrogate"},
		{"high surrogate then bad escape", `{"a":{"S":"\ud83d\uZZZZ"}}`, `bad \u escape`},
		{"two high surrogates", `{"a":{"S":"\ud83d\ud83d"}}`, "unpaired UTF-16 surrogate"},
		{"trailing data", `{"a":{"S":"x"}}x`, "offset 15: unexpected data after the value"},
		{"two objects", `{}{}`, "unexpected data after the value"},
		{"trailing NUL", "{\"a\":{\"S\":\"x\"}}\x00", "unexpected data after the value"},
		{"trailing NUL then junk", "{}\x00{\"junk\":1}", "unexpected data after the value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeMap([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodeMap(%q) = %#v, want an error containing %q", tt.in, m, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeMap(%q) error = %q, want it to contain %q", tt.in, err, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %v is not a *SyntaxError", err)
			} else if se.Offset < 0 || se.Offset > len(tt.in) {
				t.Errorf("offset %d outside the input of %d bytes", se.Offset, len(tt.in))
			}
		})
	}
}

func TestDecodeNotObject(t *testing.T) {
	for _, in := range []string{``, ` `, `[]`, `"x"`, `1`, `null`, "\x00"} {
		if _, err := DecodeMap([]byte(in)); !errors.Is(err, ErrNotObject) {
			t.Errorf("DecodeMap(%q) error = %v, want ErrNotObject", in, err)
		}
		if _, err := DecodeExportLine([]byte(in)); !errors.Is(err, ErrNotObject) {
			t.Errorf("DecodeExportLine(%q) error = %v, want ErrNotObject", in, err)
		}
	}
	if _, err := DecodeValue([]byte(`"x"`)); err == nil || !strings.Contains(err.Error(), `want '{'`) {
		t.Errorf("DecodeValue of a string: error = %v", err)
	}
}

func TestStringDecoding(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`"plain"`, "plain"},
		{`""`, ""},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{`"\u0041\u00e9\u20AC"`, "Aé€"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\uD83D\uDE00 ok"`, "😀 ok"},
		{`"\u0000"`, "\x00"},
		{`"\ufffd"`, "\ufffd"},
		{`"é then \n"`, "é then \n"},
		{"\"\u2028\"", "\u2028"},
		{"\"\x7f\"", "\x7f"},
	}
	for _, tt := range tests {
		v, err := FromJSON([]byte(tt.in))
		if err != nil {
			t.Errorf("FromJSON(%s): %v", tt.in, err)
			continue
		}
		if v.Kind != KindS || v.Str != tt.want {
			t.Errorf("FromJSON(%s) = %#v, want S(%q)", tt.in, v, tt.want)
		}
		// The same string inside DynamoDB JSON.
		dv, err := DecodeValue([]byte(`{"S":` + tt.in + `}`))
		if err != nil || dv.Str != tt.want {
			t.Errorf("DecodeValue(S %s) = %#v, %v", tt.in, dv, err)
		}
	}
}

// nestPlain is n nested JSON arrays; nestDDB n nested M values around an S;
// nestDDBList n nested L values.
func nestPlain(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func nestDDB(n int) string {
	s := `{"S":"x"}`
	for i := 0; i < n; i++ {
		s = `{"M":{"a":` + s + `}}`
	}
	return s
}

func nestDDBList(n int) string {
	s := `{"L":[]}`
	for i := 1; i < n; i++ {
		s = `{"L":[` + s + `]}`
	}
	return s
}

func TestMaxDepth(t *testing.T) {
	// MaxDepth levels of maps or lists decode in every decoder; one more
	// does not.
	if _, err := FromJSON([]byte(nestPlain(MaxDepth))); err != nil {
		t.Errorf("FromJSON at MaxDepth: %v", err)
	}
	if _, err := FromJSON([]byte(nestPlain(MaxDepth + 1))); err == nil || !strings.Contains(err.Error(), "nesting deeper than 64 levels") {
		t.Errorf("FromJSON past MaxDepth: error = %v", err)
	}
	if _, err := DecodeValue([]byte(nestDDB(MaxDepth))); err != nil {
		t.Errorf("DecodeValue of %d nested M: %v", MaxDepth, err)
	}
	if _, err := DecodeValue([]byte(nestDDB(MaxDepth + 1))); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("DecodeValue past MaxDepth: error = %v", err)
	}
	if _, err := DecodeValue([]byte(nestDDBList(MaxDepth))); err != nil {
		t.Errorf("DecodeValue of %d nested L: %v", MaxDepth, err)
	}
	if _, err := DecodeValue([]byte(nestDDBList(MaxDepth + 1))); err == nil {
		t.Error("DecodeValue of too many nested L: no error")
	}
	// An item is a map itself: it holds MaxDepth-1 more levels.
	item := `{"a":` + nestDDB(MaxDepth-1) + `}`
	m, err := DecodeMap([]byte(item))
	if err != nil {
		t.Fatalf("DecodeMap at MaxDepth: %v", err)
	}
	if _, err := DecodeMap([]byte(`{"a":` + nestDDB(MaxDepth) + `}`)); err == nil {
		t.Error("DecodeMap past MaxDepth: no error")
	}
	// What one decoder accepts, the others accept once re-encoded.
	if _, err := DecodeExportLine([]byte(`{"Item":` + item + `}`)); err != nil {
		t.Errorf("DecodeExportLine at MaxDepth: %v", err)
	}
	if _, err := FromJSON(AppendPlainMap(nil, m)); err != nil {
		t.Errorf("FromJSON of the plain form of a MaxDepth item: %v", err)
	}
	if _, _, err := DecodeBinary(AppendBinary(nil, m)); err != nil {
		t.Errorf("DecodeBinary of a MaxDepth item: %v", err)
	}
	deep, err := FromJSON([]byte(nestPlain(MaxDepth)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeValue(AppendValue(nil, deep)); err != nil {
		t.Errorf("DecodeValue of the DynamoDB JSON of a MaxDepth plain value: %v", err)
	}
}

// TestDynamoDBNestingLimit: DynamoDB stores items with 32 levels of nested
// documents; an export of such an item must decode.
func TestDynamoDBNestingLimit(t *testing.T) {
	line := `{"Item":{"id":{"S":"x"},"doc":` + nestDDB(32) + `}}`
	m, err := DecodeExportLine([]byte(line))
	if err != nil {
		t.Fatalf("32 nested levels: %v", err)
	}
	v := m["doc"]
	for i := 0; i < 32; i++ {
		if v.Kind != KindM {
			t.Fatalf("level %d: kind %v", i, v.Kind)
		}
		v = v.Map["a"]
	}
	if v.Kind != KindS || v.Str != "x" {
		t.Errorf("innermost value = %#v", v)
	}
}

func TestFromJSON(t *testing.T) {
	in := `{"id":"8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10","rent":112.54,"balance":-23.10,"big":12345678901234567890123456789012345678,
		"e":1E+3,"isTenanted":true,"isSublet":false,"endOfTenureDate":null,"members":[{"fullName":"Jane"}],"empty":{},"none":[]}`
	v, err := FromJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := M(Map{
		"id":              S("8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10"),
		"rent":            N("112.54"),
		"balance":         N("-23.10"),
		"big":             N("12345678901234567890123456789012345678"),
		"e":               N("1E+3"),
		"isTenanted":      Bool(true),
		"isSublet":        Bool(false),
		"endOfTenureDate": Null(),
		"members":         L(M(Map{"fullName": S("Jane")})),
		"empty":           M(Map{}),
		"none":            L(),
	})
	if !identical(v, want) {
		t.Errorf("FromJSON =\n%#v\nwant\n%#v", v, want)
	}
	scalars := []struct {
		in   string
		want Value
	}{
		{`"s"`, S("s")}, {`0`, N("0")}, {`-0`, N("-0")}, {`-1.5e-3`, N("-1.5e-3")}, {`true`, Bool(true)},
		{`false`, Bool(false)}, {`null`, Null()}, {` [ 1 , "a" ] `, L(N("1"), S("a"))},
	}
	for _, tt := range scalars {
		if got, err := FromJSON([]byte(tt.in)); err != nil || !identical(got, tt.want) {
			t.Errorf("FromJSON(%s) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestFromJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "unexpected end of input"},
		{"space", `   `, "unexpected end of input"},
		{"truncated object", `{"a":1`, "want , or } in object"},
		{"truncated array", `[1,`, "unexpected end of input"},
		{"truncated string", `"abc`, "unterminated string"},
		{"bare word", `hello`, `unexpected 'h'`},
		{"nul", `nul`, "invalid literal, want null"},
		{"True", `True`, `unexpected 'T'`},
		{"leading plus", `+1`, `unexpected '+'`},
		{"leading zero", `01`, `invalid number "01"`},
		{"negative leading zero", `[-01]`, `invalid number "-01"`},
		{"dot without fraction", `1.`, `invalid number "1."`},
		{"dot then exponent", `1.e3`, `invalid number "1.e3"`},
		{"no integer part", `-.5`, `invalid number "-.5"`},
		{"double dot", `1.2.3`, `invalid number "1.2.3"`},
		{"exponent without digits", `1e`, `invalid number "1e"`},
		{"minus alone", `-`, `invalid number "-"`},
		{"number then plus", `1+2`, `invalid number "1+2"`},
		{"NaN", `NaN`, `unexpected 'N'`},
		{"hex", `0x10`, "unexpected data after the value"},
		{"trailing", `{} []`, "unexpected data after the value"},
		{"trailing NUL", "{}\x00", "unexpected data after the value"},
		{"key not a string", `{1:2}`, `want '"'`},
		{"missing colon", `{"a" 1}`, `want ':'`},
		{"trailing comma", `[1,]`, `unexpected ']'`},
		{"invalid UTF-8", "\"\xff\"", "invalid UTF-8 in string"},
		{"unpaired surrogate", `"\udead"`, "unpaired UTF-16 surrogate"},
		{"bad escape", `"\a"`, `bad escape \a`},
		{"control", "\"\n\"", "control character 0x0a"},
	}
	for _, tt := range tests {
		v, err := FromJSON([]byte(tt.in))
		if err == nil {
			t.Errorf("%s: FromJSON(%q) = %#v, want an error containing %q", tt.name, tt.in, v, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: FromJSON(%q) error = %q, want it to contain %q", tt.name, tt.in, err, tt.want)
		}
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	_, err := DecodeMap([]byte(`{"id":{"S":"a"},"n":{"N":"x"}}`))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *SyntaxError", err)
	}
	if se.Offset != 28 || se.Msg != `invalid number "x"` {
		t.Errorf("SyntaxError = %+v, want offset 28 and the number named", se)
	}
	if got := (&SyntaxError{Offset: 3, Msg: "boom"}).Error(); got != "offset 3: boom" {
		t.Errorf("Error() = %q", got)
	}
}
