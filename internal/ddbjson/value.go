// Package ddbjson holds DynamoDB attribute values and their encodings: the
// DynamoDB JSON of exports and streams, plain JSON as Hackney events carry it,
// and a compact binary form for the state store.
//
// Numbers stay exact: an N value is kept as its decimal string until a sink
// gives it a type, so 0.1 never becomes 0.1000000000000000055.
package ddbjson

import (
	"bytes"
	"slices"
)

// Kind is the DynamoDB type of a Value.
type Kind uint8

// The DynamoDB attribute types.
const (
	KindInvalid Kind = iota
	KindS
	KindN
	KindB
	KindBOOL
	KindNULL
	KindM
	KindL
	KindSS
	KindNS
	KindBS
)

var kindNames = [...]string{"invalid", "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}

// String returns the DynamoDB type descriptor ("S", "N", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Value is one DynamoDB attribute value. Only the fields of its Kind are set.
//
// Kind and Bool sit together so that a Value is 128 bytes: Go keeps map
// values of at most 128 bytes inline, so a Map insert does not allocate.
type Value struct {
	Kind Kind
	Bool bool     // BOOL
	Str  string   // S, and N as an exact decimal string
	Bin  []byte   // B
	Map  Map      // M
	List []Value  // L
	Strs []string // SS, NS
	Bins [][]byte // BS
}

// Map is a map of attribute values: an item, or the value of an M attribute.
type Map map[string]Value

// S returns a string value.
func S(s string) Value { return Value{Kind: KindS, Str: s} }

// N returns a number value; s must be a valid number (see ValidNumber).
func N(s string) Value { return Value{Kind: KindN, Str: s} }

// B returns a binary value.
func B(b []byte) Value { return Value{Kind: KindB, Bin: b} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{Kind: KindBOOL, Bool: b} }

// Null returns the NULL value.
func Null() Value { return Value{Kind: KindNULL} }

// M returns a map value.
func M(m Map) Value { return Value{Kind: KindM, Map: m} }

// L returns a list value.
func L(vs ...Value) Value { return Value{Kind: KindL, List: vs} }

// SS returns a string set.
func SS(ss ...string) Value { return Value{Kind: KindSS, Strs: ss} }

// NS returns a number set.
func NS(ns ...string) Value { return Value{Kind: KindNS, Strs: ns} }

// BS returns a binary set.
func BS(bs ...[]byte) Value { return Value{Kind: KindBS, Bins: bs} }

// IsNull reports whether v is NULL or absent (the zero Value).
func (v Value) IsNull() bool { return v.Kind == KindNULL || v.Kind == KindInvalid }

// SortedKeys returns the keys of m in byte order.
func (m Map) SortedKeys() []string {
	return m.appendSortedKeys(make([]string, 0, len(m)))
}

// appendSortedKeys appends the keys of m to buf in byte order; encoders
// pass a stack array so that sorting allocates nothing.
func (m Map) appendSortedKeys(buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

// Clone returns a deep copy of m.
func (m Map) Clone() Map {
	if m == nil {
		return nil
	}
	out := make(Map, len(m))
	for k, v := range m {
		out[k] = v.Clone()
	}
	return out
}

// Clone returns a deep copy of v.
func (v Value) Clone() Value {
	switch v.Kind {
	case KindB:
		v.Bin = bytes.Clone(v.Bin)
	case KindM:
		v.Map = v.Map.Clone()
	case KindL:
		l := make([]Value, len(v.List))
		for i, e := range v.List {
			l[i] = e.Clone()
		}
		v.List = l
	case KindSS, KindNS:
		v.Strs = append([]string(nil), v.Strs...)
	case KindBS:
		bs := make([][]byte, len(v.Bins))
		for i, b := range v.Bins {
			bs[i] = bytes.Clone(b)
		}
		v.Bins = bs
	}
	return v
}

// Equal reports whether a and b hold the same value. Numbers compare by
// value ("1.50" equals "1.5"), sets compare as sets, and an absent value
// equals NULL.
func Equal(a, b Value) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull()
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindS:
		return a.Str == b.Str
	case KindN:
		return a.Str == b.Str || CanonicalNumber(a.Str) == CanonicalNumber(b.Str)
	case KindB:
		return bytes.Equal(a.Bin, b.Bin)
	case KindBOOL:
		return a.Bool == b.Bool
	case KindM:
		return EqualMaps(a.Map, b.Map)
	case KindL:
		if len(a.List) != len(b.List) {
			return false
		}
		for i := range a.List {
			if !Equal(a.List[i], b.List[i]) {
				return false
			}
		}
		return true
	case KindSS:
		return sameSet(a.Strs, b.Strs, func(s string) string { return s })
	case KindNS:
		return sameSet(a.Strs, b.Strs, CanonicalNumber)
	case KindBS:
		as := make([]string, len(a.Bins))
		bs := make([]string, len(b.Bins))
		for i, x := range a.Bins {
			as[i] = string(x)
		}
		for i, x := range b.Bins {
			bs[i] = string(x)
		}
		return sameSet(as, bs, func(s string) string { return s })
	}
	return false
}

// EqualMaps reports whether two maps hold equal values for every key; a key
// absent on one side equals NULL on the other.
func EqualMaps(a, b Map) bool {
	for k, av := range a {
		if !Equal(av, b[k]) {
			return false
		}
	}
	for k, bv := range b {
		if _, ok := a[k]; !ok && !bv.IsNull() {
			return false
		}
	}
	return true
}

func sameSet(a, b []string, canon func(string) string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]int, len(a))
	for _, s := range a {
		seen[canon(s)]++
	}
	for _, s := range b {
		c := canon(s)
		if seen[c] == 0 {
			return false
		}
		seen[c]--
	}
	return true
}
