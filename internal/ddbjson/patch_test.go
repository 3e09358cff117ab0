package ddbjson

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// patchByMaps is what PatchBinary stands for: decode the stored map,
// assign the patch to a copy, compare, encode.
func patchByMaps(dst, base []byte, set Map) ([]byte, bool, error) {
	m, _, err := DecodeBinary(base)
	if err != nil {
		return dst, false, err
	}
	merged := maps.Clone(m)
	maps.Copy(merged, set)
	return AppendBinary(dst, merged), !EqualMaps(merged, m), nil
}

// checkPatch checks PatchBinary against patchByMaps: the same bytes and
// changed, or an error from both (and dst returned as it was). base must
// not change.
func checkPatch(t *testing.T, base []byte, set Map) error {
	t.Helper()
	before := bytes.Clone(base)
	got, changed, err := PatchBinary([]byte("dst:"), base, set)
	want, wantChanged, wantErr := patchByMaps([]byte("dst:"), base, set)
	if !bytes.Equal(base, before) {
		t.Fatalf("PatchBinary changed its base %x to %x", before, base)
	}
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("PatchBinary(%x, %#v): error %v, decoding gives %v", base, set, err, wantErr)
	}
	if err != nil {
		if string(got) != "dst:" {
			t.Fatalf("PatchBinary(%x): error %v with dst %q", base, err, got)
		}
		if !strings.HasPrefix(err.Error(), "patching stored item: ") {
			t.Fatalf("error %q does not say what failed", err)
		}
		return err
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("PatchBinary(%x, %#v) =\n%x\nAppendBinary of the merged map =\n%x", base, set, got, want)
	}
	if changed != wantChanged {
		t.Fatalf("PatchBinary(%x, %#v): changed = %v, EqualMaps says %v", base, set, changed, wantChanged)
	}
	return nil
}

func manyAttrs(n int) Map {
	m := make(Map, n)
	for i := range n {
		m[fmt.Sprintf("a%03d", i)] = N(fmt.Sprint(i))
	}
	return m
}

func TestPatchBinary(t *testing.T) {
	person := func(id, name string) Value {
		return M(Map{"id": S(id), "fullName": S(name), "isResponsible": Bool(false)})
	}
	base := Map{
		"b": S("x"), "d": N("1.50"), "f": Null(), "j": Bool(true), "l": L(person("1", "A")),
		"h": M(Map{"x": N("1"), "y": L(S("a"), Null()), "s": NS("1", "2")}),
	}
	tests := []struct {
		name    string
		base    Map
		set     Map
		changed bool
	}{
		{"insert before all", base, Map{"a": S("new")}, true},
		{"insert after all", base, Map{"z": N("0")}, true},
		{"insert in the middle", base, Map{"c": Bool(false)}, true},
		{"insert several", base, Map{"a": S("1"), "c": S("2"), "e": S("3"), "zz": S("4")}, true},
		{"insert a prefix of a name", base, Map{"bb": S("1"), "b\x00": S("2")}, true},
		{"replace", base, Map{"d": N("2")}, true},
		{"replace first and last", base, Map{"b": S("y"), "l": L()}, true},
		{"replace and insert", base, Map{"a": S("y"), "j": Bool(false), "k": Null()}, true},
		{"replace with equal values", base, Map{"b": S("x"), "j": Bool(true)}, false},
		{"replace a number with an equal one", base, Map{"d": N("1.5")}, false},
		{"replace a number with an equal one in another form", base, Map{"d": N("15e-1")}, false},
		{"replace a number with another", base, Map{"d": N("1.51")}, true},
		{"equal nested map", base, Map{"h": M(Map{"x": N("1.0"), "y": L(S("a"), Null()), "s": NS("2", "1"), "n": Null()})}, false},
		{"changed nested map", base, Map{"h": M(Map{"x": N("1"), "y": L(S("a"), S("b")), "s": NS("1", "2")})}, true},
		{"nested map with a member more", base, Map{"h": M(Map{"x": N("1"), "y": L(S("a"), Null()), "s": NS("1", "2"), "t": S("")})}, true},
		{"nested maps in set", base, Map{"k": M(Map{"p": M(Map{"q": L(person("2", "B"))}), "a": SS("x", "y")})}, true},
		{"equal list of maps", base, Map{"l": L(person("1", "A"))}, false},
		{"list of maps with a change", base, Map{"l": L(person("1", "a"))}, true},
		{"list with an element more", base, Map{"l": L(person("1", "A"), person("1", "A"))}, true},
		{"NULL over absent", base, Map{"c": Null()}, false},
		{"NULL over NULL", base, Map{"f": Null()}, false},
		{"NULL over a value", base, Map{"b": Null()}, true},
		{"value over NULL", base, Map{"f": S("")}, true},
		{"KindInvalid over absent", base, Map{"c": {}}, false},
		{"KindInvalid over NULL", base, Map{"f": {}}, false},
		{"KindInvalid over a value", base, Map{"b": {}}, true},
		{"KindInvalid in a nested map", base, Map{"k": M(Map{"x": {}})}, true},
		{"another kind", base, Map{"b": N("1")}, true},
		{"empty set", base, Map{}, false},
		{"nil set", base, nil, false},
		{"empty base", Map{}, Map{"a": S("x")}, true},
		{"empty base and set", Map{}, nil, false},
		{"empty base, NULL", Map{}, Map{"a": Null()}, false},
		{"empty name", base, Map{"": N("0")}, true},
		{"count grows to two bytes", manyAttrs(127), Map{"zzz": S("x")}, true},
		{"count stays two bytes", manyAttrs(128), Map{"a000": S("x"), "a127": N("127.0")}, true},
		{"count grows past 16383", manyAttrs(16383), Map{"b": Null()}, false},
		{"sets", Map{"ns": NS("1", "2.0"), "bs": BS([]byte{1}, nil), "ss": SS("a", "b")},
			Map{"ns": NS("2", "1.00"), "ss": SS("b", "a"), "bs": BS(nil, []byte{1})}, false},
		{"sets differ", Map{"ns": NS("1", "2.0"), "ss": SS("a", "b")}, Map{"ns": NS("1", "3")}, true},
		{"set grows", Map{"ss": SS("a", "b")}, Map{"ss": SS("a", "b", "c")}, true},
		{"binary", Map{"b": B([]byte{1, 2}), "e": B(nil)}, Map{"b": B([]byte{1, 2}), "e": B([]byte{})}, false},
		{"binary differs", Map{"b": B([]byte{1, 2})}, Map{"b": B([]byte{1, 3})}, true},
		{"many patched", manyAttrs(50), manyAttrs(60), true},
		{"many patched, equal", manyAttrs(50), manyAttrs(50), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := AppendBinary(nil, tt.base)
			merged := maps.Clone(tt.base)
			maps.Copy(merged, tt.set)
			want := AppendBinary([]byte("dst:"), merged)
			got, changed, err := PatchBinary([]byte("dst:"), enc, tt.set)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got\n%x\nwant\n%x", got, want)
			}
			if changed != tt.changed || changed == EqualMaps(merged, tt.base) {
				t.Errorf("changed = %v, want %v (EqualMaps %v)", changed, tt.changed, EqualMaps(merged, tt.base))
			}
			// Bytes after the map are not part of it.
			got, changed2, err := PatchBinary(nil, append(enc, 0xff, 0), tt.set)
			if err != nil || !bytes.Equal(got, want[4:]) || changed2 != changed {
				t.Errorf("with trailing bytes: %x, %v, %v", got, changed2, err)
			}
			checkPatch(t, enc, tt.set)
		})
	}
}

// TestPatchBinaryInPlace: dst may be the buffer base is in.
func TestPatchBinaryInPlace(t *testing.T) {
	base := Map{"a": S("1"), "c": S(strings.Repeat("x", 100)), "e": N("5")}
	set := Map{"b": S(strings.Repeat("y", 50)), "c": S("short"), "d": Null()}
	merged := maps.Clone(base)
	maps.Copy(merged, set)
	want := AppendBinary(nil, merged)
	for _, room := range []int{0, 10, 1000} {
		buf := AppendBinary(make([]byte, 0, 200+room), base)
		got, changed, err := PatchBinary(buf[:0], buf, set)
		if err != nil || !changed || !bytes.Equal(got, want) {
			t.Errorf("room %d: %x, %v, %v; want %x", room, got, changed, err, want)
		}
	}
}

// TestPatchBinaryOtherForms: a base not exactly as AppendBinary writes it
// (DecodeBinary reads it all the same) gives AppendBinary's bytes.
func TestPatchBinaryOtherForms(t *testing.T) {
	s, n, m, l, boolean, null := byte(KindS), byte(KindN), byte(KindM), byte(KindL), byte(KindBOOL), byte(KindNULL)
	bases := map[string][]byte{
		"names out of order":        {2, 1, 'b', s, 1, 'x', 1, 'a', s, 1, 'y'},
		"repeated name":             {2, 1, 'a', s, 1, 'x', 1, 'a', s, 1, 'y'},
		"repeated name, first kept": {3, 1, 'a', s, 1, 'x', 1, 'a', s, 1, 'y', 1, 'b', null},
		"long count":                {0x81, 0x00, 1, 'a', null},
		"long name length":          {1, 0x81, 0x00, 'a', null},
		"long string length":        {1, 1, 'a', s, 0x81, 0x00, 'x'},
		"BOOL byte 2":               {1, 1, 'a', boolean, 2},
		"nested names out of order": {1, 1, 'm', m, 2, 1, 'b', null, 1, 'a', null},
		"nested repeated name":      {1, 1, 'm', m, 2, 1, 'a', n, 1, '1', 1, 'a', n, 1, '2'},
		"long list count":           {1, 1, 'l', l, 0x80, 0x00},
		"BOOL byte 2 in a list":     {1, 1, 'l', l, 1, boolean, 7},
	}
	sets := []Map{nil, {"a": S("y")}, {"a": S("x")}, {"c": Null()}, {"m": M(Map{"a": N("2.0")})}, {"m": M(Map{"a": Null(), "b": {}})},
		{"a": Bool(false)}, {"l": L()}, {"l": L(Bool(false))}, {"0": S("first")}}
	for name, base := range bases {
		if _, _, err := DecodeBinary(base); err != nil {
			t.Fatalf("%s: DecodeBinary: %v", name, err)
		}
		for _, set := range sets {
			if err := checkPatch(t, base, set); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

func TestPatchBinaryCorrupt(t *testing.T) {
	item := sampleItem()
	item["people"] = L(M(Map{"id": S("1"), "tags": SS("a")}), M(Map{"id": S("2")}))
	enc := AppendBinary(nil, item)
	set := Map{"s": S("new"), "zzz": N("1")}
	for i := range enc {
		if err := checkPatch(t, enc[:i], set); err == nil {
			t.Fatalf("%d of %d bytes: no error", i, len(enc))
		}
	}
	for _, b := range [][]byte{nil, {0x80}, {1, 1, 'a', 0}, {1, 1, 'a', 42}, {1, 1, 'a', byte(KindL), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if err := checkPatch(t, b, set); err == nil {
			t.Errorf("%x: no error", b)
		}
	}
	// Nesting: PatchBinary accepts exactly the depth DecodeBinary accepts.
	deep := func(n int, wrap func(Value) Value) []byte {
		v := S("x")
		for range n {
			v = wrap(v)
		}
		return AppendBinary(nil, Map{"a": v})
	}
	for _, wrap := range []func(Value) Value{func(v Value) Value { return L(v) }, func(v Value) Value { return M(Map{"m": v}) }} {
		ok := 0
		for n := MaxDepth - 2; n < MaxDepth+4; n++ {
			if checkPatch(t, deep(n, wrap), set) == nil {
				ok++
			}
		}
		if ok == 0 || ok == 6 {
			t.Errorf("%d of 6 depths around MaxDepth patched", ok)
		}
	}
}

func TestPatchBinaryAllocs(t *testing.T) {
	base := tenureImage(t)
	set := tenurePatch()
	t.Logf("tenure image: %d bytes", len(base))
	dst := make([]byte, 0, 2*len(base))
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := PatchBinary(dst[:0], base, set); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("PatchBinary: %v allocations, want 0", allocs)
	}
}

// FuzzPatchBinary: PatchBinary gives AppendBinary's bytes for the merged
// map and EqualMaps' answer for changed, on bases built from JSON documents,
// on the fuzz bytes as a stored base, and on corrupted bases (an error when
// DecodeBinary fails, never a panic).
func FuzzPatchBinary(f *testing.F) {
	tenure := `{}`
	if data, err := readFileTrim("tenure_export.json"); err == nil {
		tenure = string(exportItem(data))
	}
	docs := append([]string{tenure, `{"id":"x","n":1.50,"m":{"a":[1,null,{"b":true}]},"z":null}`}, ddbSeeds...)
	sets := []string{`{}`, `{"a":{"S":"y"}}`, `{"a":{"NULL":true},"b":{"N":"1.5"}}`, `{"n":1.5,"m":{"a":[1.0,null,{"b":true}]}}`,
		`{"versionNumber":{"N":"8"},"tenureType":{"M":{"code":{"S":"INT"}}},"aaa":{"L":[]}}`, `{"id":"x","zz":{"SS":["a"]}}`}
	for i, d := range docs {
		f.Add([]byte(d), []byte(sets[i%len(sets)]), byte(i), uint16(i*37))
	}
	for i, m := range binaryCases() {
		f.Add(AppendBinary(nil, m), []byte(sets[i%len(sets)]), byte(0), uint16(i))
	}
	f.Add([]byte{2, 1, 'b', 1, 1, 'x', 1, 'a', 1, 1, 'y'}, []byte(`{"a":{"S":"y"}}`), byte(0), uint16(0))
	f.Add([]byte{1, 1, 'a', 4, 2}, []byte(`{"a":{"BOOL":false}}`), byte(0), uint16(0))
	f.Fuzz(func(t *testing.T, baseDoc, setDoc []byte, flags byte, at uint16) {
		set := fuzzMap(setDoc)
		checkPatch(t, baseDoc, set) // the fuzz bytes as a stored base
		base := fuzzMap(baseDoc)
		if flags&1 != 0 { // NULL values of set as the zero Value
			for k, v := range set {
				if v.Kind == KindNULL {
					set[k] = Value{}
				}
			}
		}
		if flags&2 != 0 { // some of base's attributes set to what they are
			for i, k := range base.SortedKeys() {
				if _, ok := set[k]; !ok && i%2 == 0 {
					set[k] = base[k]
				}
			}
		}
		if flags&4 != 0 { // base's numbers written another way
			for k, v := range base {
				if v.Kind == KindN && !strings.ContainsAny(v.Str, "eE") {
					set[k] = N(v.Str + "e0")
				}
			}
		}
		enc := AppendBinary(nil, base)
		if err := checkPatch(t, enc, set); err != nil {
			t.Fatalf("%x: %v", enc, err)
		}
		if flags&8 != 0 {
			if err := checkPatch(t, append(bytes.Clone(enc), flags, 0x80), set); err != nil {
				t.Fatalf("%x with trailing bytes: %v", enc, err)
			}
		}
		i := int(at) % len(enc)
		if err := checkPatch(t, enc[:i], set); err == nil {
			t.Fatalf("%d of %d bytes of %x: no error", i, len(enc), enc)
		}
		c := bytes.Clone(enc)
		c[i] ^= byte(at>>8) | 1
		checkPatch(t, c, set)
	})
}

// fuzzMap reads doc as a DynamoDB JSON map, or as a plain JSON object, or
// gives an empty map.
func fuzzMap(doc []byte) Map {
	if m, err := DecodeMap(doc); err == nil {
		return m
	}
	if v, err := FromJSON(doc); err == nil && v.Kind == KindM && v.Map != nil {
		return v.Map
	}
	return Map{}
}

func readFileTrim(name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	return bytes.TrimSpace(data), err
}

// rawOf returns v as stored: a RawValue read from AppendBinary's bytes.
func rawOf(t testing.TB, v Value) RawValue {
	t.Helper()
	r, ok, err := RawGet(AppendBinary(nil, Map{"v": v}), "v")
	if err != nil || !ok {
		t.Fatalf("RawGet: %v, %v", ok, err)
	}
	return r
}

// checkRawEqual checks RawEqual(r, v) against Equal of r decoded.
func checkRawEqual(t *testing.T, r RawValue, v Value) bool {
	t.Helper()
	got, err := RawEqual(r, v)
	dv, derr := r.Value()
	if derr != nil {
		return got // the bytes do not decode: whatever it says, no panic
	}
	if err != nil {
		t.Fatalf("RawEqual(%#v, %#v): %v, but it decodes", dv, v, err)
	}
	if want := Equal(dv, v); got != want {
		t.Fatalf("RawEqual(%#v, %#v) = %v, Equal says %v", dv, v, got, want)
	}
	return got
}

func rawEqualValues() []Value {
	vs := []Value{{}, Null(), S(""), S("x"), S("1.5"), N("1.5"), N("1.50"), N("15e-1"), N("-1.5"), N("0"), N("-0.0"), N("1e2"), N("100"),
		B(nil), B([]byte{1}), B([]byte("x")), Bool(true), Bool(false),
		M(nil), M(Map{}), M(Map{"a": Null()}), M(Map{"a": {}}), M(Map{"a": S("x")}), M(Map{"a": S("x"), "b": Null()}), M(Map{"a": S("y")}),
		M(Map{"a": S("x"), "b": N("1")}), M(Map{"b": N("1.0"), "a": S("x")}), M(Map{"a": M(Map{"b": L(N("1"), Null())})}), M(Map{"a": M(Map{"b": L(N("1.0"), Value{})})}),
		L(), L(Null()), L(Value{}), L(S("x")), L(S("x"), S("x")), L(N("2"), M(Map{"a": Null()})), L(N("2.0"), M(Map{})),
		SS(), SS("a"), SS("a", "b"), SS("b", "a"), SS("a", "a"), NS("1"), NS("1.0"), NS("1", "2"), NS("2.0", "1"), BS(), BS(nil), BS([]byte{1}), BS([]byte{1}, nil),
		{Kind: 42}}
	for _, tt := range typeCases {
		vs = append(vs, tt.want)
	}
	return vs
}

// TestRawEqual compares every pair of a set of values with RawEqual and
// with Equal.
func TestRawEqual(t *testing.T) {
	vs := rawEqualValues()
	for _, a := range vs {
		if a.Kind > KindBS {
			continue // AppendBinary writes no value of an unknown kind
		}
		r := rawOf(t, a)
		if !checkRawEqual(t, r, a) {
			t.Errorf("%#v does not equal itself stored", a)
		}
		for _, b := range vs {
			if got, want := checkRawEqual(t, r, b), Equal(a, b); got != want {
				t.Errorf("RawEqual(%#v, %#v) = %v, want %v", a, b, got, want)
			}
		}
	}
	for _, b := range vs {
		if got, err := RawEqual(RawValue{}, b); err != nil || got != b.IsNull() {
			t.Errorf("RawEqual(absent, %#v) = %v, %v", b, got, err)
		}
	}
	// A stored map with a repeated name compares as DecodeBinary reads it:
	// the last value of the name.
	s := byte(KindS)
	ms, _, err := RawMembers(nil, []byte{1, 1, 'm', byte(KindM), 3, 1, 'a', s, 1, 'x', 1, 'a', s, 1, 'y', 1, 'b', s, 1, 'z'})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []Value{M(Map{"a": S("y"), "b": S("z")}), M(Map{"a": S("x"), "b": S("z")}), M(Map{"a": S("y"), "b": S("w")})} {
		checkRawEqual(t, ms[0].Val, v)
	}
}

func TestRawEqualAllocs(t *testing.T) {
	base := tenureImage(t)
	set := tenurePatch()
	for k, v := range set {
		r, _, err := RawGet(base, k)
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(100, func() { _, _ = RawEqual(r, v) }); a > 0 {
			t.Errorf("RawEqual of %s: %v allocations", k, a)
		}
	}
	r := rawOf(t, N("112.54"))
	if a := testing.AllocsPerRun(100, func() { _, _ = RawEqual(r, N("112.540")) }); a > 0 {
		t.Errorf("RawEqual of numbers: %v allocations", a)
	}
}

// FuzzRawEqual: RawEqual agrees with Equal on values from JSON documents,
// and on the members of the fuzz bytes read as a stored map.
func FuzzRawEqual(f *testing.F) {
	vs := rawEqualValues()
	for i, a := range vs {
		f.Add(AppendValue(nil, a), AppendValue(nil, vs[(i*7)%len(vs)]))
		f.Add(AppendValue(nil, a), AppendValue(nil, a))
	}
	f.Add([]byte(`{"a":[1.50,{"b":null}]}`), []byte(`{"a":[1.5,{}]}`))
	f.Add([]byte{1, 1, 'm', byte(KindM), 2, 1, 'a', byte(KindNULL), 1, 'a', byte(KindN), 1, '1'}, []byte(`{"a":1}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		va, oka := fuzzValue(a)
		vb, okb := fuzzValue(b)
		if oka {
			r := rawOf(t, va)
			if !checkRawEqual(t, r, va) {
				t.Fatalf("%#v does not equal itself stored", va)
			}
			checkRawEqual(t, r, vb)
		}
		if okb {
			checkRawEqual(t, RawValue{}, vb)
		}
		ms, _, err := RawMembers(nil, a)
		if err != nil {
			return
		}
		for _, m := range ms {
			checkRawEqual(t, m.Val, vb)
			if len(vb.Map) > 0 {
				checkRawEqual(t, m.Val, vb.Map[m.Key])
			}
		}
	})
}

// fuzzValue reads doc as a DynamoDB JSON value, or as plain JSON.
func fuzzValue(doc []byte) (Value, bool) {
	if v, err := DecodeValue(doc); err == nil {
		return v, true
	}
	v, err := FromJSON(doc)
	return v, err == nil
}

// FuzzRawEqualNumbers: numbers compare as CanonicalNumber compares them.
func FuzzRawEqualNumbers(f *testing.F) {
	for _, p := range [][2]string{
		{"1.50", "1.5"}, {"0", "-0.0e5"}, {"100", "1e2"}, {"1E+2", "100.00"}, {".5", "5e-1"}, {"5.", "5"}, {"+1", "1"}, {"-1", "1"},
		{"01.10", "1.1"}, {"1e-0", "1"}, {"1e1073741825", "10e1073741824"}, {"1.0e1073741825", "1e1073741825"},
		{"1e-1073741824", "0.1e-1073741823"}, {"1e99999999999999999999", "1e99999999999999999999"}, {"x", "x"}, {"1.2.3", "1.2"},
		{"0.000", "0e9"}, {"12345678901234567890123456789012345678", "1.2345678901234567890123456789012345678e37"}, {"10", "1"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		want := CanonicalNumber(a) == CanonicalNumber(b)
		if got := equalNumbers(a, b); got != want {
			t.Fatalf("equalNumbers(%q, %q) = %v; canonical forms %q, %q", a, b, got, CanonicalNumber(a), CanonicalNumber(b))
		}
		if ValidNumber(a) {
			r := rawOf(t, N(a))
			if got, err := RawEqual(r, N(b)); err != nil || got != want {
				t.Fatalf("RawEqual(%q, %q) = %v, %v", a, b, got, err)
			}
		}
	})
}

// tenureImage is a stored tenure of about 2.4 KB: the export test item
// (35 attributes, nested maps, every type) with three household members.
func tenureImage(t testing.TB) []byte {
	t.Helper()
	data, err := readFileTrim("tenure_export.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeExportLine(data)
	if err != nil {
		t.Fatal(err)
	}
	members := m["householdMembers"].List
	for i, name := range []string{"Obinna Okonkwo-Brennan"} {
		p := members[1].Clone()
		p.Map["id"] = S(fmt.Sprintf("c7d9e2a1-4f3b-4c8d-9e0a-7b6c5d4e3f%02d", 30+i))
		p.Map["fullName"] = S(name)
		members = append(members, p)
	}
	m["householdMembers"] = L(members...)
	return AppendBinary(nil, m)
}

// tenurePatch is a tenure update event's new data: three attributes, one
// of them a map.
func tenurePatch() Map {
	return Map{
		"endOfTenureDate": S("2024-03-31T00:00:00"),
		"tenureType":      M(Map{"code": S("INT"), "description": S("Introductory")}),
		"versionNumber":   N("8"),
	}
}

// tenurePatchUnchanged sets the three attributes to what the image holds.
func tenurePatchUnchanged() Map {
	return Map{
		"endOfTenureDate": Null(),
		"tenureType":      M(Map{"code": S("SEC"), "description": S("Secure")}),
		"versionNumber":   N("7.0"),
	}
}

// benchPatch runs patch over the stored tenure, with a patch that changes
// it and one that sets what it already holds.
func benchPatch(b *testing.B, patch func(out, base []byte, set Map) ([]byte, error)) {
	base := tenureImage(b)
	for _, bc := range []struct {
		name string
		set  Map
	}{{"changed", tenurePatch()}, {"unchanged", tenurePatchUnchanged()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(base)))
			b.ReportAllocs()
			out := make([]byte, 0, 2*len(base))
			for b.Loop() {
				var err error
				if out, err = patch(out[:0], base, bc.set); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPatchBinary applies a patch to a stored tenure in its binary form.
func BenchmarkPatchBinary(b *testing.B) {
	benchPatch(b, func(out, base []byte, set Map) ([]byte, error) {
		out, _, err := PatchBinary(out, base, set)
		return out, err
	})
}

// BenchmarkPatchMaps applies the patch of BenchmarkPatchBinary as the
// materializer did: decode, clone, assign, EqualMaps, AppendBinary.
func BenchmarkPatchMaps(b *testing.B) {
	benchPatch(b, func(out, base []byte, set Map) ([]byte, error) {
		prev, _, err := DecodeBinary(base)
		if err != nil {
			return out, err
		}
		img := maps.Clone(prev)
		maps.Copy(img, set)
		if EqualMaps(img, prev) {
			return out, nil
		}
		return AppendBinary(out, img), nil
	})
}
