package ddbjson

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// checkTranscodeJSON fails unless TranscodeJSON agrees with FromJSON: the
// bytes of the value FromJSON reads, encoded, for good JSON (and ReadRaw
// reads them back whole), the same error for bad JSON, and dst kept as it
// was.
func checkTranscodeJSON(t *testing.T, data []byte) {
	t.Helper()
	v, derr := FromJSON(data)
	prefix := []byte("prefix")
	got, terr := TranscodeJSON(bytes.Clone(prefix), data)
	if derr != nil || terr != nil {
		if derr == nil || terr == nil || derr.Error() != terr.Error() {
			t.Fatalf("%q:\n FromJSON error:      %v\n TranscodeJSON error: %v", data, derr, terr)
		}
		if !bytes.Equal(got, prefix) {
			t.Fatalf("%q: a failed transcoding changed dst to %q", data, got)
		}
		return
	}
	want := appendBinaryValue(bytes.Clone(prefix), v)
	if !bytes.Equal(got, want) {
		t.Fatalf("%q:\n transcoded %x\n want       %x", data, got, want)
	}
	r, rest, err := ReadRaw(got[len(prefix):])
	if err != nil || len(rest) != 0 {
		t.Fatalf("%q: ReadRaw: %v, %d bytes left", data, err, len(rest))
	}
	back, err := r.Value()
	if err != nil || !Equal(back, v) {
		t.Fatalf("%q: read back as %#v (%v), want %#v", data, back, err, v)
	}
	if v.Kind == KindM {
		m, _, err := DecodeBinary(r.MapBytes())
		if err != nil || !EqualMaps(m, v.Map) {
			t.Fatalf("%q: MapBytes decodes to %#v (%v)", data, m, err)
		}
	} else if r.MapBytes() != nil {
		t.Fatalf("%q: MapBytes of a %s", data, r.Kind)
	}
}

func TestTranscodeJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-1.50e+3`, `"x"`, `""`,
		`{"id":"6a7b8c9d","n":1.50,"m":{"a":[1,null,{"b":true}]},"z":null,"e":{},"l":[]}`,
		`{"b":"1","a":"2","b":3}`, // a repeated name keeps its last value
		`{"a":{"x":1},"a":{"y":2}}`,
		`{"s":"caf\u00e9 \"q\" \\ \/ \n\t\ud83d\ude00","k\u00e9y":1}`,
		` { "a" : [ 1 , 2 ] } `,
		`[[[],[{}]],{"a":[]}]`,
		nestPlain(MaxDepth), nestPlain(MaxDepth + 1),
		strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40),
		// Bad JSON fails as FromJSON fails.
		``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `{"a":1}x`, `{}` + "\x00", `01`, `1.`, `-`, `+1`, `tru`, `nul`,
		"\"\xff\"", `"\udc00"`, `"\x"`, "\"a\nb\"", `{1:2}`, `{"a":1 "b":2}`,
	} {
		checkTranscodeJSON(t, []byte(s))
	}
	for _, name := range []string{"tenure_export.json"} {
		data, err := readFileTrim(name)
		if err != nil {
			t.Fatal(err)
		}
		checkTranscodeJSON(t, data) // a DynamoDB JSON line is plain JSON too
	}
}

func TestTranscodeJSONAllocs(t *testing.T) {
	data := []byte(`{"id":"6a7b8c9d","eventData":{"oldData":{"charges":{"rent":112.54}},"newData":{"charges":{"rent":115.00},"e":[true,null,"x"]}}}`)
	buf := make([]byte, 0, 1024)
	if a := testing.AllocsPerRun(100, func() { _, _ = TranscodeJSON(buf[:0], data) }); a > 0 {
		t.Errorf("TranscodeJSON: %v allocations, want none into a buffer large enough", a)
	}
}

// FuzzTranscodeJSON: TranscodeJSON and FromJSON agree on every input,
// good or bad.
func FuzzTranscodeJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `0`, `"x"`, `[]`, `{}`, `{"a":[1,{"b":null}]}`, `{"b":1,"a":2,"b":3}`, `"\ud83d\ude00"`, "{}\x00",
		`[1,]`, nestPlain(MaxDepth), nestPlain(MaxDepth + 1),
	} {
		f.Add([]byte(s))
	}
	seedFiles(f, func(b []byte) []byte { return b })
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTranscodeJSON(t, data)
	})
}

// checkPatchRaw checks PatchBinaryRaw against patchByMaps of the set
// decoded: the same bytes and changed, or an error from both, dst returned
// as it was on error, and neither base nor set changed.
func checkPatchRaw(t *testing.T, base, set []byte) {
	t.Helper()
	beforeBase, beforeSet := bytes.Clone(base), bytes.Clone(set)
	got, changed, err := PatchBinaryRaw([]byte("dst:"), base, set)
	if !bytes.Equal(base, beforeBase) || !bytes.Equal(set, beforeSet) {
		t.Fatalf("PatchBinaryRaw changed its arguments")
	}
	m, _, serr := DecodeBinary(set)
	if serr != nil {
		if err == nil {
			t.Fatalf("PatchBinaryRaw(%x, %x): no error for a set that does not decode (%v)", base, set, serr)
		}
		if string(got) != "dst:" {
			t.Fatalf("PatchBinaryRaw: error %v with dst %q", err, got)
		}
		return
	}
	want, wantChanged, wantErr := patchByMaps([]byte("dst:"), base, m)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("PatchBinaryRaw(%x, %x): error %v, decoding gives %v", base, set, err, wantErr)
	}
	if err != nil {
		if string(got) != "dst:" || !strings.HasPrefix(err.Error(), "patching stored item: ") {
			t.Fatalf("PatchBinaryRaw: error %q with dst %q", err, got)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("PatchBinaryRaw(%x, %x) =\n%x\nAppendBinary of the merged map =\n%x", base, set, got, want)
	}
	if changed != wantChanged {
		t.Fatalf("PatchBinaryRaw(%x, %x): changed = %v, EqualMaps says %v", base, set, changed, wantChanged)
	}
}

func TestPatchBinaryRaw(t *testing.T) {
	base := tenureImage(t)
	s := byte(KindS)
	for _, set := range [][]byte{
		AppendBinary(nil, Map{}),
		AppendBinary(nil, tenurePatch()),
		AppendBinary(nil, tenurePatchUnchanged()),
		AppendBinary(nil, Map{"aaa": S("first"), "zzz": Null(), "paymentReference": S("x")}),
		AppendBinary(nil, Map{"charges": M(Map{"rent": N("115.00")})}),
		AppendBinary(nil, manyAttrs(200)),
		{2, 1, 'b', s, 1, 'x', 1, 'a', s, 1, 'y'}, // names out of order
		{2, 1, 'a', s, 1, 'x', 1, 'a', s, 1, 'y'}, // a repeated name: the last wins
		{1, 1, 'a', byte(KindBOOL), 2},            // a BOOL byte other than 0 or 1
		{1, 0x81, 0, 'a', s, 1, 'x'},              // a long-form uvarint
		{1, 1, 'a', s, 1, 'x', 0},                 // bytes after the map
		{1, 1, 'a', s, 5, 'x'},                    // truncated
		{1, 1, 'a', 42},                           // an unknown kind
		{},
	} {
		checkPatchRaw(t, base, set)
		checkPatchRaw(t, AppendBinary(nil, Map{"a": S("x"), "m": M(Map{"k": N("1")})}), set)
		checkPatchRaw(t, []byte{0}, set)
		checkPatchRaw(t, base[:len(base)/2], set)
	}
}

// FuzzPatchBinaryRaw: PatchBinaryRaw agrees with merging decoded maps, for
// sets in AppendBinary's form and for the fuzz bytes as they are.
func FuzzPatchBinaryRaw(f *testing.F) {
	tenure := `{}`
	if data, err := readFileTrim("tenure_export.json"); err == nil {
		tenure = string(exportItem(data))
	}
	f.Add([]byte(tenure), []byte(`{"a":{"S":"y"}}`), false)
	f.Add([]byte(`{"id":"x","n":1.50,"m":{"a":[1,null,{"b":true}]},"z":null}`), []byte(`{"n":1.5,"m":{"a":[1.0,null,{"b":true}]}}`), false)
	f.Add([]byte(`{"a":"x"}`), []byte{2, 1, 'b', 1, 1, 'x', 1, 'a', 1, 1, 'y'}, true)
	f.Fuzz(func(t *testing.T, baseDoc, setDoc []byte, rawSet bool) {
		base := AppendBinary(nil, fuzzMap(baseDoc))
		set := setDoc
		if !rawSet {
			set = AppendBinary(nil, fuzzMap(setDoc))
		}
		checkPatchRaw(t, base, set)
		checkPatchRaw(t, baseDoc, set)
	})
}

// TestRawEqualRaw compares every pair of a set of values, both stored,
// with RawEqualRaw and with Equal.
func TestRawEqualRaw(t *testing.T) {
	vs := rawEqualValues()
	for _, a := range vs {
		if a.Kind > KindBS {
			continue
		}
		ra := rawOf(t, a)
		for _, b := range vs {
			if b.Kind > KindBS {
				continue
			}
			got, err := RawEqualRaw(ra, rawOf(t, b))
			if err != nil || got != Equal(a, b) {
				t.Errorf("RawEqualRaw(%#v, %#v) = %v, %v; Equal says %v", a, b, got, err, Equal(a, b))
			}
		}
		if got, err := RawEqualRaw(RawValue{}, ra); err != nil || got != a.IsNull() {
			t.Errorf("RawEqualRaw(absent, %#v) = %v, %v", a, got, err)
		}
	}
}

// FuzzRawEqualRaw: RawEqualRaw agrees with Equal on values from JSON
// documents.
func FuzzRawEqualRaw(f *testing.F) {
	f.Add([]byte(`{"a":[1.50,{"b":null}]}`), []byte(`{"a":[1.5,{}]}`))
	f.Add([]byte(`1.5`), []byte(`15e-1`))
	f.Add([]byte(`{"S":"x"}`), []byte(`"x"`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		va, oka := fuzzValue(a)
		vb, okb := fuzzValue(b)
		if !oka || !okb || va.Kind > KindBS || vb.Kind > KindBS {
			return
		}
		got, err := RawEqualRaw(rawOf(t, va), rawOf(t, vb))
		if err != nil || got != Equal(va, vb) {
			t.Fatalf("RawEqualRaw(%#v, %#v) = %v, %v; Equal says %v", va, vb, got, err, Equal(va, vb))
		}
	})
}

// BenchmarkTranscodeJSON reads a realistic event into the binary form;
// compare BenchmarkFromJSON.
func BenchmarkTranscodeJSON(b *testing.B) {
	data, err := readFileTrim("../../event/testdata/good/tenure_updated.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		if buf, err = TranscodeJSON(buf[:0], data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRawEqualRawMembersOutOfOrder: M values whose members are out of key
// order or repeat a name (not as this package writes them) compare as their
// decoded values do, where the last of a name wins.
func TestRawEqualRawMembersOutOfOrder(t *testing.T) {
	str := func(s string) []byte { return binary.AppendUvarint([]byte{byte(KindS)}, uint64(len(s))) }
	member := func(name, val string) []byte {
		b := binary.AppendUvarint(nil, uint64(len(name)))
		b = append(b, name...)
		return append(append(b, str(val)...), val...)
	}
	m := func(members ...[]byte) RawValue {
		b := binary.AppendUvarint([]byte{byte(KindM)}, uint64(len(members)))
		for _, mb := range members {
			b = append(b, mb...)
		}
		v, rest, err := ReadRaw(b)
		if err != nil || len(rest) != 0 {
			t.Fatalf("ReadRaw: %v, %d bytes left", err, len(rest))
		}
		return v
	}
	vs := []RawValue{
		m(member("a", "1"), member("b", "2")),
		m(member("b", "2"), member("a", "1")),                   // out of order
		m(member("a", "0"), member("b", "2"), member("a", "1")), // a repeated: the last wins
		m(member("a", "1"), member("b", "3")),
		m(member("b", "3"), member("a", "1")),
		m(member("a", "1")),
		m(),
	}
	for _, a := range vs {
		da, err := a.Value()
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range vs {
			db, err := b.Value()
			if err != nil {
				t.Fatal(err)
			}
			if got, err := RawEqualRaw(a, b); err != nil || got != Equal(da, db) {
				t.Errorf("RawEqualRaw(%#v, %#v) = %v, %v; Equal says %v", da, db, got, err, Equal(da, db))
			}
		}
	}
}
