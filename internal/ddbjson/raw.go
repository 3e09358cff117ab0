package ddbjson

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// Raw values read the binary form (AppendBinary) in place, without building
// maps: a sink that walks every stored item (the lake's publish) reads its
// attributes from the stored bytes. Strings returned by a Raw value share
// the bytes it was read from, which must not change while they are in use.

// RawValue is one attribute value in the binary form.
type RawValue struct {
	Kind Kind
	body []byte // the value's bytes after its kind byte
}

// RawMember is one attribute of a RawMap.
type RawMember struct {
	Key string
	Val RawValue
}

var errRawKind = errors.New("binary value: unknown kind byte")

// RawMembers appends the members of the map at the start of data (the
// binary form of a Map, as AppendBinary writes it) to dst, in key order,
// and returns the bytes after the map.
func RawMembers(dst []RawMember, data []byte) ([]RawMember, []byte, error) {
	n, rest, err := rawCount(data)
	if err != nil {
		return dst, nil, err
	}
	for i := 0; i < n; i++ {
		var k []byte
		if k, rest, err = rawBytes(rest); err != nil {
			return dst, nil, err
		}
		var v RawValue
		if v, rest, err = rawValue(rest, 0); err != nil {
			return dst, nil, err
		}
		dst = append(dst, RawMember{Key: unsafeString(k), Val: v})
	}
	return dst, rest, nil
}

// Members appends the members of an M value to dst, in key order.
func (v RawValue) Members(dst []RawMember) ([]RawMember, error) {
	dst, _, err := RawMembers(dst, v.body)
	return dst, err
}

// ReadRaw reads the value at the start of data, in the binary form of one
// value (a kind byte, then its body, as TranscodeJSON writes it), in place,
// and returns the bytes after it.
func ReadRaw(data []byte) (RawValue, []byte, error) {
	return rawValue(data, 0)
}

// Get returns the member name of an M value, read in place; ok is false
// when v is not a map or has no such member.
func (v RawValue) Get(name string) (m RawValue, ok bool, err error) {
	if v.Kind != KindM {
		return RawValue{}, false, nil
	}
	return RawGet(v.body, name)
}

// MapBytes returns an M value's map in the binary form AppendBinary writes
// (shared, not copied), or nil for another kind.
func (v RawValue) MapBytes() []byte {
	if v.Kind != KindM {
		return nil
	}
	return v.body
}

// Str returns an S or N value's string.
func (v RawValue) Str() string {
	b, _, _ := rawBytes(v.body)
	return unsafeString(b)
}

// Bytes returns a B value's bytes (shared, not copied).
func (v RawValue) Bytes() []byte {
	b, _, _ := rawBytes(v.body)
	return b
}

// Bool returns a BOOL value.
func (v RawValue) Bool() bool { return len(v.body) > 0 && v.body[0] == 1 }

// IsNull reports whether v is NULL or absent (the zero RawValue).
func (v RawValue) IsNull() bool { return v.Kind == KindNULL || v.Kind == KindInvalid }

// Len returns the number of members of an M value, or of elements of an
// L, SS, NS or BS value.
func (v RawValue) Len() int {
	n, _, err := rawCount(v.body)
	if err != nil {
		return 0
	}
	return n
}

// Elems appends the elements of an L, SS, NS or BS value to dst: set
// elements come as S, N or B values.
func (v RawValue) Elems(dst []RawValue) ([]RawValue, error) {
	n, rest, err := rawCount(v.body)
	if err != nil {
		return dst, err
	}
	for i := 0; i < n; i++ {
		var e RawValue
		switch v.Kind {
		case KindL:
			e, rest, err = rawValue(rest, 0)
		case KindSS, KindNS, KindBS:
			start := rest
			if _, rest, err = rawBytes(rest); err == nil {
				k := KindS
				switch v.Kind {
				case KindNS:
					k = KindN
				case KindBS:
					k = KindB
				}
				e = RawValue{Kind: k, body: start[:len(start)-len(rest)]}
			}
		default:
			return dst, errors.New("binary value: not a list or set")
		}
		if err != nil {
			return dst, err
		}
		dst = append(dst, e)
	}
	return dst, nil
}

// Value decodes v into a Value (copying what it shares).
func (v RawValue) Value() (Value, error) {
	if v.Kind == KindInvalid {
		return Value{}, nil
	}
	buf := make([]byte, 0, 1+len(v.body))
	buf = append(append(buf, byte(v.Kind)), v.body...)
	d := binDecoder{s: string(buf)}
	out := d.value(0)
	return out, d.err
}

func rawCount(b []byte) (int, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return 0, nil, errShort
	}
	return int(n), b[k:], nil
}

func rawBytes(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errShort
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// rawValue reads the value at the start of b and returns the bytes after it.
func rawValue(b []byte, depth int) (RawValue, []byte, error) {
	if depth > MaxDepth+1 {
		return RawValue{}, nil, errors.New("binary value nested too deep")
	}
	if len(b) == 0 {
		return RawValue{}, nil, errShort
	}
	k := Kind(b[0])
	body := b[1:]
	rest := body
	var err error
	switch k {
	case KindS, KindN, KindB:
		_, rest, err = rawBytes(body)
	case KindBOOL:
		if len(body) == 0 {
			return RawValue{}, nil, errShort
		}
		rest = body[1:]
	case KindNULL:
	case KindM:
		var n int
		if n, rest, err = rawCount(body); err != nil {
			break
		}
		for i := 0; i < n && err == nil; i++ {
			if _, rest, err = rawBytes(rest); err == nil {
				_, rest, err = rawValue(rest, depth+1)
			}
		}
	case KindL:
		var n int
		if n, rest, err = rawCount(body); err != nil {
			break
		}
		for i := 0; i < n && err == nil; i++ {
			_, rest, err = rawValue(rest, depth+1)
		}
	case KindSS, KindNS, KindBS:
		var n int
		if n, rest, err = rawCount(body); err != nil {
			break
		}
		for i := 0; i < n && err == nil; i++ {
			_, rest, err = rawBytes(rest)
		}
	default:
		return RawValue{}, nil, errRawKind
	}
	if err != nil {
		return RawValue{}, nil, err
	}
	return RawValue{Kind: k, body: body[:len(body)-len(rest)]}, rest, nil
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
