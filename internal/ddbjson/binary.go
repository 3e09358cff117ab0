package ddbjson

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The binary form is what the state store keeps: a kind byte, then for
// strings and binaries a uvarint length and the bytes, for maps and lists a
// uvarint count and the members (map keys in byte order, so equal maps encode
// to equal bytes).

var errShort = errors.New("binary value truncated")

// AppendBinary appends the binary form of m.
func AppendBinary(dst []byte, m Map) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	var arr [48]string
	for _, k := range m.appendSortedKeys(arr[:0]) {
		dst = appendBytes(dst, k)
		dst = appendBinaryValue(dst, m[k])
	}
	return dst
}

func appendBytes(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBinaryValue(dst []byte, v Value) []byte {
	if v.Kind == KindInvalid {
		v = Null()
	}
	dst = append(dst, byte(v.Kind))
	switch v.Kind {
	case KindS, KindN:
		dst = appendBytes(dst, v.Str)
	case KindB:
		dst = appendBytes(dst, string(v.Bin))
	case KindBOOL:
		if v.Bool {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	case KindM:
		dst = AppendBinary(dst, v.Map)
	case KindL:
		dst = binary.AppendUvarint(dst, uint64(len(v.List)))
		for _, e := range v.List {
			dst = appendBinaryValue(dst, e)
		}
	case KindSS, KindNS:
		dst = binary.AppendUvarint(dst, uint64(len(v.Strs)))
		for _, s := range v.Strs {
			dst = appendBytes(dst, s)
		}
	case KindBS:
		dst = binary.AppendUvarint(dst, uint64(len(v.Bins)))
		for _, b := range v.Bins {
			dst = appendBytes(dst, string(b))
		}
	}
	return dst
}

// DecodeBinary decodes a map written by AppendBinary and returns the bytes
// after it. The data is copied once into a string that every decoded string
// shares, so decoding costs one allocation per map and list, not per string.
func DecodeBinary(data []byte) (Map, []byte, error) {
	d := binDecoder{s: string(data)}
	m := d.m(0)
	if d.err != nil {
		return nil, nil, fmt.Errorf("decoding stored item: %w", d.err)
	}
	return m, data[d.pos:], nil
}

type binDecoder struct {
	s   string
	pos int
	err error
}

func (d *binDecoder) uvarint() int {
	if d.err != nil {
		return 0
	}
	var n uint64
	var shift uint
	for i := d.pos; i < len(d.s) && shift < 64; i++ {
		b := d.s[i]
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if n > uint64(len(d.s)) {
				break
			}
			d.pos = i + 1
			return int(n)
		}
		shift += 7
	}
	d.err = errShort
	return 0
}

func (d *binDecoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > len(d.s)-d.pos {
		d.err = errShort
		return ""
	}
	v := d.s[d.pos : d.pos+n]
	d.pos += n
	return v
}

func (d *binDecoder) byte() byte {
	if d.err != nil || d.pos >= len(d.s) {
		d.err = errShort
		return 0
	}
	b := d.s[d.pos]
	d.pos++
	return b
}

func (d *binDecoder) m(depth int) Map {
	n := d.uvarint()
	m := make(Map, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.value(depth + 1)
	}
	return m
}

func (d *binDecoder) value(depth int) Value {
	if depth > MaxDepth+1 {
		d.err = errors.New("binary value nested too deep")
		return Value{}
	}
	k := Kind(d.byte())
	if d.err != nil {
		return Value{}
	}
	switch k {
	case KindS, KindN:
		return Value{Kind: k, Str: d.str()}
	case KindB:
		return B([]byte(d.str()))
	case KindBOOL:
		return Bool(d.byte() == 1)
	case KindNULL:
		return Null()
	case KindM:
		return M(d.m(depth))
	case KindL:
		n := d.uvarint()
		l := make([]Value, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			l = append(l, d.value(depth+1))
		}
		return L(l...)
	case KindSS, KindNS:
		n := d.uvarint()
		ss := make([]string, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			ss = append(ss, d.str())
		}
		return Value{Kind: k, Strs: ss}
	case KindBS:
		n := d.uvarint()
		bs := make([][]byte, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			bs = append(bs, []byte(d.str()))
		}
		return BS(bs...)
	}
	d.err = fmt.Errorf("unknown kind byte %d", k)
	return Value{}
}
