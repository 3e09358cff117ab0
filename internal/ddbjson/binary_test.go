package ddbjson

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func binaryCases() []Map {
	cases := []Map{
		{},
		{"": Null()},
		{"id": S("8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10")},
		sampleItem(),
		{"long": S(strings.Repeat("x", 300))}, // a length needing two uvarint bytes
		{"bin": B(bytes.Repeat([]byte{0xff}, 200))},
		{"many": L(func() []Value {
			vs := make([]Value, 200)
			for i := range vs {
				vs[i] = N(strings.Repeat("9", i%40+1))
			}
			return vs
		}()...)},
		{"utf8": S("Zoë 😀"), "ctl": S("\x00\n")},
	}
	for _, tt := range typeCases {
		cases = append(cases, Map{tt.name: tt.want})
	}
	return cases
}

func TestBinaryRoundTrip(t *testing.T) {
	for i, m := range binaryCases() {
		enc := AppendBinary(nil, m)
		got, rest, err := DecodeBinary(enc)
		if err != nil {
			t.Errorf("case %d: DecodeBinary: %v", i, err)
			continue
		}
		if len(rest) != 0 {
			t.Errorf("case %d: %d bytes left over", i, len(rest))
		}
		if !identicalMaps(got, m) {
			t.Errorf("case %d: round trip =\n%#v\nwant\n%#v", i, got, m)
		}
		if again := AppendBinary(nil, got); !bytes.Equal(again, enc) {
			t.Errorf("case %d: re-encoding differs", i)
		}
	}
}

func TestBinaryZeroValueIsNull(t *testing.T) {
	got, _, err := DecodeBinary(AppendBinary(nil, Map{"a": {}, "l": L(Value{})}))
	if err != nil {
		t.Fatal(err)
	}
	if got["a"].Kind != KindNULL || got["l"].List[0].Kind != KindNULL {
		t.Errorf("zero values decoded as %#v", got)
	}
}

func TestBinaryLayout(t *testing.T) {
	got := AppendBinary(nil, Map{"b": Bool(true), "a": S("hi")})
	want := []byte{
		2,                                // two members
		1, 'a', byte(KindS), 2, 'h', 'i', // "a": S "hi"
		1, 'b', byte(KindBOOL), 1, // "b": BOOL true
	}
	if !bytes.Equal(got, want) {
		t.Errorf("AppendBinary = %v, want %v", got, want)
	}
}

// TestBinaryDeterministic: equal maps encode to equal bytes, whatever the
// order their keys were inserted in.
func TestBinaryDeterministic(t *testing.T) {
	keys := []string{"id", "paymentReference", "charges", "tenureType", "isTenanted", "versionNumber", "notices", "a", "z", ""}
	build := func(order []string) Map {
		m := make(Map)
		for _, k := range order {
			inner := make(Map)
			for j := len(order) - 1; j >= 0; j-- {
				inner[order[j]] = N("1")
			}
			m[k] = M(inner)
		}
		return m
	}
	first := AppendBinary(nil, build(keys))
	for i := 0; i < 50; i++ {
		order := append([]string(nil), keys...)
		// A different order per round, without math/rand.
		for j := range order {
			k := (j*7 + i*3) % len(order)
			order[j], order[k] = order[k], order[j]
		}
		if got := AppendBinary(nil, build(order)); !bytes.Equal(got, first) {
			t.Fatalf("order %q encodes differently", order)
		}
	}
	// And a different map gives different bytes.
	other := build(keys)
	other["id"] = N("2")
	if bytes.Equal(AppendBinary(nil, other), first) {
		t.Error("different maps encode to the same bytes")
	}
}

func TestDecodeBinaryRest(t *testing.T) {
	enc := AppendBinary(nil, Map{"a": S("x")})
	enc = append(enc, "tail"...)
	m, rest, err := DecodeBinary(enc)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "tail" || m["a"].Str != "x" {
		t.Errorf("got %#v, rest %q", m, rest)
	}
	// Two maps back to back.
	two := AppendBinary(AppendBinary(nil, Map{"n": N("1")}), Map{"n": N("2")})
	m1, rest, err := DecodeBinary(two)
	if err != nil {
		t.Fatal(err)
	}
	m2, rest, err := DecodeBinary(rest)
	if err != nil || len(rest) != 0 || m1["n"].Str != "1" || m2["n"].Str != "2" {
		t.Errorf("back to back: %#v %#v %q %v", m1, m2, rest, err)
	}
}

func TestDecodeBinaryDoesNotAlias(t *testing.T) {
	enc := AppendBinary(nil, Map{"b": B([]byte("abc")), "bs": BS([]byte("def"))})
	m, _, err := DecodeBinary(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range enc {
		enc[i] = 0
	}
	if string(m["b"].Bin) != "abc" || string(m["bs"].Bins[0]) != "def" {
		t.Errorf("decoded values changed with the input buffer: %#v", m)
	}
}

func TestDecodeBinaryTruncated(t *testing.T) {
	enc := AppendBinary(nil, sampleItem())
	for n := 0; n < len(enc); n++ {
		m, _, err := DecodeBinary(enc[:n])
		if err == nil {
			t.Errorf("DecodeBinary of the first %d of %d bytes = %#v, want an error", n, len(enc), m)
			continue
		}
		if !errors.Is(err, errShort) {
			t.Errorf("truncated at %d: error = %v, want errShort", n, err)
		}
		if !strings.HasPrefix(err.Error(), "decoding stored item: ") {
			t.Errorf("error %q does not say what was being done", err)
		}
	}
}

func TestDecodeBinaryErrors(t *testing.T) {
	huge := binary.AppendUvarint(nil, 1<<62)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "binary value truncated"},
		{"unknown kind", []byte{1, 1, 'a', 42}, "unknown kind byte 42"},
		{"kind zero", []byte{1, 1, 'a', 0}, "unknown kind byte 0"},
		{"count past the data", append(huge, 0), "binary value truncated"},
		{"string length past the data", []byte{1, 1, 'a', byte(KindS), 9, 'x'}, "binary value truncated"},
		{"key length past the data", []byte{1, 5, 'a'}, "binary value truncated"},
		{"bad uvarint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "binary value truncated"},
		{"bool without byte", []byte{1, 1, 'a', byte(KindBOOL)}, "binary value truncated"},
		{"list count past the data", []byte{1, 1, 'a', byte(KindL), 100}, "binary value truncated"},
		{"list element missing", []byte{1, 1, 'a', byte(KindL), 1}, "binary value truncated"},
		{"set element missing", []byte{1, 1, 'a', byte(KindSS), 1}, "binary value truncated"},
		{"binary set element short", []byte{1, 1, 'a', byte(KindBS), 1, 3, 'x'}, "binary value truncated"},
	}
	for _, tt := range tests {
		m, rest, err := DecodeBinary(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: DecodeBinary(%v) error = %v, want it to contain %q", tt.name, tt.in, err, tt.want)
		}
		if m != nil || rest != nil {
			t.Errorf("%s: on error got %#v, rest %v; want nil, nil", tt.name, m, rest)
		}
	}
}

func TestDecodeBinaryDepth(t *testing.T) {
	deep := func(n int) Map {
		v := S("x")
		for i := 0; i < n; i++ {
			v = L(v)
		}
		return Map{"a": v}
	}
	if _, _, err := DecodeBinary(AppendBinary(nil, deep(MaxDepth))); err != nil {
		t.Errorf("%d nested lists: %v", MaxDepth, err)
	}
	_, _, err := DecodeBinary(AppendBinary(nil, deep(10*MaxDepth)))
	if err == nil || !strings.Contains(err.Error(), "nested too deep") {
		t.Errorf("%d nested lists: error = %v, want nested too deep", 10*MaxDepth, err)
	}
	// A hostile input of nested maps cannot recurse without limit either.
	var b []byte
	for i := 0; i < 100000; i++ {
		b = append(b, 1, 1, 'm', byte(KindM))
	}
	if _, _, err := DecodeBinary(b); err == nil {
		t.Error("100000 nested maps decoded without error")
	}
}
