package ddbjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// seedFiles adds the golden inputs to a fuzz corpus.
func seedFiles(f *testing.F, wrap func([]byte) []byte) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wrap(bytes.TrimSpace(data)))
	}
}

func exportItem(data []byte) []byte {
	m, err := DecodeExportLine(data)
	if err != nil {
		return data
	}
	return AppendMap(nil, m)
}

var ddbSeeds = []string{
	`{}`, `{"a":{"S":"x"}}`, `{"a":{"N":"1.50"},"b":{"NS":["1","2e3"]}}`, `{"a":{"B":"AQ=="},"b":{"BS":["AQ==",""]}}`,
	`{"a":{"M":{"b":{"L":[{"NULL":true},{"BOOL":false},{"SS":["x"]}]}}}}`, `{"a":{"S":"\ud83d\ude00\n\u0000"}}`,
	`{"a":{"NULL":false}}`, `{"a":{"S":"x","N":"1"}}`, `{"a":{"N":"1.2.3"}}`, "{\"a\":{\"S\":\"\xff\"}}", `{"a":{"S":"\ud800"}}`,
	"{}\x00", `{"a":{"N":"+.5"}}`, `{"a":{"N":"007"}}`,
}

// FuzzDecodeMap: DecodeMap never panics, accepts only JSON, and whatever it
// decodes re-encodes (DynamoDB JSON, binary, plain JSON) to an Equal item.
func FuzzDecodeMap(f *testing.F) {
	for _, s := range ddbSeeds {
		f.Add([]byte(s))
	}
	for _, tt := range typeCases {
		f.Add([]byte(`{"v":` + tt.json + `}`))
	}
	seedFiles(f, exportItem)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMap(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeMap accepted %q, which is not JSON", data)
		}
		checkMapRoundTrips(t, m)
	})
}

// checkMapRoundTrips checks every encoding of m decodes to an Equal map.
func checkMapRoundTrips(t *testing.T, m Map) {
	t.Helper()
	enc := AppendMap(nil, m)
	m2, err := DecodeMap(enc)
	if err != nil {
		t.Fatalf("re-encoded DynamoDB JSON %s does not decode: %v", enc, err)
	}
	if !EqualMaps(m, m2) {
		t.Fatalf("DynamoDB JSON round trip differs:\n%#v\n%#v", m, m2)
	}
	if enc2 := AppendMap(nil, m2); !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable:\n%s\n%s", enc, enc2)
	}
	bin := AppendBinary(nil, m)
	m3, rest, err := DecodeBinary(bin)
	if err != nil || len(rest) != 0 {
		t.Fatalf("binary round trip: %v, %d bytes left", err, len(rest))
	}
	if !EqualMaps(m, m3) {
		t.Fatalf("binary round trip differs:\n%#v\n%#v", m, m3)
	}
	plain := AppendPlainMap(nil, m)
	if !json.Valid(plain) {
		t.Fatalf("plain output is not JSON: %s", plain)
	}
	if _, err := FromJSON(plain); err != nil {
		t.Fatalf("plain output %s does not decode: %v", plain, err)
	}
}

// FuzzDecodeExportLine: export lines decode without panics and round-trip.
func FuzzDecodeExportLine(f *testing.F) {
	for _, s := range ddbSeeds {
		f.Add([]byte(`{"Item":` + s + `}`))
	}
	f.Add([]byte(`{"Item":{},"Item":{}}`))
	f.Add([]byte(`{"Keys":{}}`))
	seedFiles(f, func(b []byte) []byte { return b })
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeExportLine(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeExportLine accepted %q, which is not JSON", data)
		}
		line := append(append([]byte(`{"Item":`), AppendMap(nil, m)...), '}')
		m2, err := DecodeExportLine(line)
		if err != nil {
			t.Fatalf("re-encoded line %s does not decode: %v", line, err)
		}
		if !EqualMaps(m, m2) {
			t.Fatalf("export line round trip differs:\n%#v\n%#v", m, m2)
		}
		checkMapRoundTrips(t, m)
	})
}

// intendedStricter reports whether FromJSON's error is one where it is
// meant to reject what encoding/json accepts: invalid UTF-8 in strings,
// unpaired UTF-16 surrogates, nesting deeper than MaxDepth.
func intendedStricter(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "invalid UTF-8 in string") ||
		strings.Contains(msg, "unpaired UTF-16 surrogate") ||
		strings.Contains(msg, "nesting deeper than")
}

// toAny converts a FromJSON value to what encoding/json decodes with
// UseNumber.
func toAny(v Value) any {
	switch v.Kind {
	case KindS:
		return v.Str
	case KindN:
		return json.Number(v.Str)
	case KindBOOL:
		return v.Bool
	case KindM:
		m := make(map[string]any, len(v.Map))
		for k, e := range v.Map {
			m[k] = toAny(e)
		}
		return m
	case KindL:
		l := make([]any, len(v.List))
		for i, e := range v.List {
			l[i] = toAny(e)
		}
		return l
	}
	return nil
}

// FuzzFromJSON: FromJSON accepts exactly what encoding/json accepts, apart
// from its intended strictness, reads the same document, and round-trips.
func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `true`, `0`, `-0.0e+1`, `"x"`, `[]`, `{}`, `{"a":[1,{"b":null}]}`, `"\ud83d\ude00"`, `"\u00e9\n"`,
		`12345678901234567890123456789012345678`, `0.1`, `1E+3`, `01`, `1.`, `-.5`, `+1`, "\"\xff\"", `"\udc00"`,
		"{}\x00", `[1,]`, `{"a":1,"a":2}`, " \t\r\n[ ] ", nestPlain(MaxDepth), nestPlain(MaxDepth + 1),
	} {
		f.Add([]byte(s))
	}
	seedFiles(f, func(b []byte) []byte { return b })
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := FromJSON(data)
		valid := json.Valid(data)
		if err != nil {
			if valid && !intendedStricter(err) {
				t.Fatalf("FromJSON rejected valid JSON %q: %v", data, err)
			}
			return
		}
		if !valid {
			t.Fatalf("FromJSON accepted %q, which is not JSON", data)
		}
		var want any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if got := toAny(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("FromJSON(%q) reads\n%#v\nencoding/json reads\n%#v", data, got, want)
		}
		plain := AppendPlain(nil, v)
		v2, err := FromJSON(plain)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", plain, err)
		}
		if !Equal(v, v2) {
			t.Fatalf("plain round trip differs:\n%#v\n%#v", v, v2)
		}
		ddb := AppendValue(nil, v)
		v3, err := DecodeValue(ddb)
		if err != nil {
			t.Fatalf("DynamoDB JSON %s of a plain value does not decode: %v", ddb, err)
		}
		if !Equal(v, v3) {
			t.Fatalf("DynamoDB JSON round trip differs:\n%#v\n%#v", v, v3)
		}
	})
}

// FuzzDecodeBinary: DecodeBinary never panics on stored bytes, and what it
// decodes encodes again to bytes that decode to an Equal map.
func FuzzDecodeBinary(f *testing.F) {
	for _, m := range binaryCases() {
		f.Add(AppendBinary(nil, m))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 1, 'a', 42})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, rest, err := DecodeBinary(data)
		if err != nil {
			if m != nil || rest != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		if !bytes.HasSuffix(data, rest) {
			t.Fatalf("rest %q is not the end of the input", rest)
		}
		enc := AppendBinary(nil, m)
		m2, rest2, err := DecodeBinary(enc)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-encoded item does not decode: %v, %d bytes left", err, len(rest2))
		}
		if !EqualMaps(m, m2) {
			t.Fatalf("binary round trip differs:\n%#v\n%#v", m, m2)
		}
		if enc2 := AppendBinary(nil, m2); !bytes.Equal(enc, enc2) {
			t.Fatal("binary encoding is not stable")
		}
	})
}

// FuzzDecodeIncrementalLine: an incremental export line never panics the
// decoder, and what decodes re-encodes to an equal line.
func FuzzDecodeIncrementalLine(f *testing.F) {
	for _, s := range []string{
		`{"Metadata":{"WriteTime":{"N":"1700000000000000"}},"Keys":{"id":{"S":"a"}},"NewImage":{"id":{"S":"a"},"n":{"N":"1.5"}},"OldImage":{"id":{"S":"a"}}}`,
		`{"Metadata":{"WriteTime":{"N":"1"}},"Keys":{"id":{"S":"a"}}}`,
		`{"Keys":{"id":{"N":"7"},"r":{"B":"AAE="}}}`,
		`{"Metadata":{"WriteTime":{"S":"x"}},"Keys":{"id":{"S":"a"}}}`,
		`{"Keys":{}}`, `[]`, `{"Other":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := DecodeIncrementalLine(data)
		if err != nil {
			return
		}
		line := `{"Keys":` + string(AppendMap(nil, l.Keys))
		if l.NewImage != nil {
			line += `,"NewImage":` + string(AppendMap(nil, l.NewImage))
		}
		if !l.WriteTime.IsZero() {
			line += fmt.Sprintf(`,"Metadata":{"WriteTime":{"N":"%d"}}`, l.WriteTime.UnixMicro())
		}
		back, err := DecodeIncrementalLine([]byte(line + "}"))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", line, err)
		}
		if !EqualMaps(back.Keys, l.Keys) || !EqualMaps(back.NewImage, l.NewImage) || !back.WriteTime.Equal(l.WriteTime) {
			t.Fatalf("round trip changed %q", data)
		}
	})
}
