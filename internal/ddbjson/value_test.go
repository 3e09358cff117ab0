package ddbjson

import (
	"reflect"
	"testing"
)

// identical reports whether a and b are the same value written the same
// way: numbers with the same text, sets in the same order. Unlike
// reflect.DeepEqual it does not tell a nil slice from an empty one.
func identical(a, b Value) bool {
	return a.Kind == b.Kind && string(AppendValue(nil, a)) == string(AppendValue(nil, b))
}

func identicalMaps(a, b Map) bool {
	return len(a) == len(b) && string(AppendMap(nil, a)) == string(AppendMap(nil, b))
}

func TestIdentical(t *testing.T) {
	if !identical(L(), Value{Kind: KindL, List: []Value{}}) || !identical(B(nil), B([]byte{})) {
		t.Error("identical tells nil from empty")
	}
	if identical(N("1.0"), N("1")) || identical(SS("a", "b"), SS("b", "a")) || identical(Null(), Value{}) {
		t.Error("identical does not compare exactly")
	}
	if identicalMaps(Map{"a": Null()}, Map{}) {
		t.Error("identicalMaps ignores a NULL member")
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{KindInvalid, "invalid"},
		{KindS, "S"},
		{KindN, "N"},
		{KindB, "B"},
		{KindBOOL, "BOOL"},
		{KindNULL, "NULL"},
		{KindM, "M"},
		{KindL, "L"},
		{KindSS, "SS"},
		{KindNS, "NS"},
		{KindBS, "BS"},
		{Kind(11), "invalid"},
		{Kind(255), "invalid"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(tt.k), got, tt.want)
		}
	}
}

func TestConstructors(t *testing.T) {
	tests := []struct {
		name string
		got  Value
		want Value
	}{
		{"S", S("x"), Value{Kind: KindS, Str: "x"}},
		{"N", N("1.5"), Value{Kind: KindN, Str: "1.5"}},
		{"B", B([]byte{1, 2}), Value{Kind: KindB, Bin: []byte{1, 2}}},
		{"BOOL", Bool(true), Value{Kind: KindBOOL, Bool: true}},
		{"NULL", Null(), Value{Kind: KindNULL}},
		{"M", M(Map{"a": S("b")}), Value{Kind: KindM, Map: Map{"a": S("b")}}},
		{"L", L(S("a"), N("1")), Value{Kind: KindL, List: []Value{S("a"), N("1")}}},
		{"SS", SS("a", "b"), Value{Kind: KindSS, Strs: []string{"a", "b"}}},
		{"NS", NS("1", "2"), Value{Kind: KindNS, Strs: []string{"1", "2"}}},
		{"BS", BS([]byte("a")), Value{Kind: KindBS, Bins: [][]byte{[]byte("a")}}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}

func TestIsNull(t *testing.T) {
	tests := []struct {
		v    Value
		want bool
	}{
		{Value{}, true},
		{Null(), true},
		{S(""), false},
		{N("0"), false},
		{Bool(false), false},
		{M(nil), false},
		{L(), false},
	}
	for _, tt := range tests {
		if got := tt.v.IsNull(); got != tt.want {
			t.Errorf("%+v.IsNull() = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestSortedKeys(t *testing.T) {
	m := Map{"b": Null(), "a": Null(), "B": Null(), "aa": Null(), "é": Null(), "": Null()}
	got := m.SortedKeys()
	want := []string{"", "B", "a", "aa", "b", "é"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SortedKeys() = %q, want %q", got, want)
	}
	if got := Map(nil).SortedKeys(); len(got) != 0 {
		t.Errorf("nil map SortedKeys() = %q, want empty", got)
	}
}

func sampleItem() Map {
	return Map{
		"s":    S("text"),
		"n":    N("12.50"),
		"b":    B([]byte{0, 1, 2}),
		"bool": Bool(true),
		"null": Null(),
		"m":    M(Map{"inner": S("x"), "deep": M(Map{"k": N("1")})}),
		"l":    L(S("a"), M(Map{"x": N("2")}), L(Bool(false))),
		"ss":   SS("a", "b"),
		"ns":   NS("1", "2.5"),
		"bs":   BS([]byte("x"), []byte("y")),
	}
}

func TestCloneIsDeep(t *testing.T) {
	orig := sampleItem()
	c := orig.Clone()
	if !EqualMaps(orig, c) || !reflect.DeepEqual(orig, c) {
		t.Fatalf("Clone differs from original:\n got %+v\nwant %+v", c, orig)
	}
	// Mutate every nested part of the clone; the original must not move.
	c["b"].Bin[0] = 99
	c["m"].Map["inner"] = S("changed")
	c["m"].Map["deep"].Map["k"] = N("9")
	c["l"].List[0] = S("changed")
	c["l"].List[1].Map["x"] = N("3")
	c["ss"].Strs[0] = "changed"
	c["ns"].Strs[0] = "7"
	c["bs"].Bins[0][0] = 'z'
	c["new"] = S("added")
	if !reflect.DeepEqual(orig, sampleItem()) {
		t.Errorf("mutating the clone changed the original: %+v", orig)
	}
	if Map(nil).Clone() != nil {
		t.Error("Map(nil).Clone() is not nil")
	}
	if v := S("x").Clone(); !reflect.DeepEqual(v, S("x")) {
		t.Errorf("S clone = %+v", v)
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b Value
		want bool
	}{
		{"same string", S("a"), S("a"), true},
		{"different string", S("a"), S("b"), false},
		{"string is case sensitive", S("a"), S("A"), false},
		{"trailing zero", N("1.50"), N("1.5"), true},
		{"zero and negative zero", N("0"), N("-0.0"), true},
		{"exponent", N("1e2"), N("100"), true},
		{"exponent upper case plus", N("1E+3"), N("1000"), true},
		{"leading zeros", N("007"), N("7"), true},
		{"leading plus", N("+7"), N("7"), true},
		{"negative fraction", N("-0.50"), N("-5e-1"), true},
		{"different numbers", N("1.5"), N("1.05"), false},
		{"sign matters", N("-1"), N("1"), false},
		{"38 digits", N("12345678901234567890123456789012345678"), N("12345678901234567890123456789012345678.0"), true},
		{"38 digits differ in last", N("12345678901234567890123456789012345678"), N("12345678901234567890123456789012345679"), false},
		{"number vs string", N("1"), S("1"), false},
		{"binary", B([]byte{1, 2}), B([]byte{1, 2}), true},
		{"binary differs", B([]byte{1, 2}), B([]byte{2, 1}), false},
		{"nil and empty binary", B(nil), B([]byte{}), true},
		{"bool", Bool(true), Bool(true), true},
		{"bool differs", Bool(true), Bool(false), false},
		{"null", Null(), Null(), true},
		{"absent equals null", Value{}, Null(), true},
		{"null equals absent", Null(), Value{}, true},
		{"absent equals absent", Value{}, Value{}, true},
		{"null is not false", Null(), Bool(false), false},
		{"null is not empty string", S(""), Null(), false},
		{"maps", M(Map{"a": N("1.0")}), M(Map{"a": N("1")}), true},
		{"map missing key equals null", M(Map{"a": S("x"), "b": Null()}), M(Map{"a": S("x")}), true},
		{"map extra key", M(Map{"a": S("x")}), M(Map{"a": S("x"), "b": S("y")}), false},
		{"nil map and empty map", M(nil), M(Map{}), true},
		{"lists", L(N("1"), S("x")), L(N("1.0"), S("x")), true},
		{"list order matters", L(N("1"), N("2")), L(N("2"), N("1")), false},
		{"list length", L(N("1")), L(N("1"), N("1")), false},
		{"string sets as sets", SS("a", "b", "c"), SS("c", "a", "b"), true},
		{"string sets differ", SS("a", "b"), SS("a", "c"), false},
		{"string set sizes", SS("a"), SS("a", "a"), false},
		{"number sets by value", NS("1.0", "20"), NS("2e1", "1"), true},
		{"number sets differ", NS("1", "2"), NS("1", "3"), false},
		{"binary sets as sets", BS([]byte("x"), []byte("y")), BS([]byte("y"), []byte("x")), true},
		{"binary sets differ", BS([]byte("x")), BS([]byte("z")), false},
		{"SS vs NS", SS("1"), NS("1"), false},
		{"list vs set", L(S("a")), SS("a"), false},
		{"nested", M(Map{"l": L(M(Map{"n": N("0.10")}))}), M(Map{"l": L(M(Map{"n": N(".1")}))}), true},
		{"nested differ", M(Map{"l": L(M(Map{"n": N("0.10")}))}), M(Map{"l": L(M(Map{"n": N("0.11")}))}), false},
		{"huge exponent keeps sign", N("-1e99999999999999999999"), N("1e99999999999999999999"), false},
		{"exponent overflow", N("1.5e-9223372036854775808"), N("15e9223372036854775807"), false},
		{"exponent underflow", N("10e9223372036854775807"), N("1e-9223372036854775808"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal(%+v, %+v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := Equal(tt.b, tt.a); got != tt.want {
				t.Errorf("Equal is not symmetric: Equal(%+v, %+v) = %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestEqualMaps(t *testing.T) {
	tests := []struct {
		name string
		a, b Map
		want bool
	}{
		{"both nil", nil, nil, true},
		{"nil and empty", nil, Map{}, true},
		{"nil and all-null", nil, Map{"x": Null()}, true},
		{"nil and non-null", nil, Map{"x": S("")}, false},
		{"same item", sampleItem(), sampleItem(), true},
		{"one value differs", sampleItem(), func() Map { m := sampleItem(); m["n"] = N("12.51"); return m }(), false},
		{"number written differently", sampleItem(), func() Map { m := sampleItem(); m["n"] = N("1.25e1"); return m }(), true},
	}
	for _, tt := range tests {
		if got := EqualMaps(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: EqualMaps = %v, want %v", tt.name, got, tt.want)
		}
		if got := EqualMaps(tt.b, tt.a); got != tt.want {
			t.Errorf("%s: EqualMaps reversed = %v, want %v", tt.name, got, tt.want)
		}
	}
}
