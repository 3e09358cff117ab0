package ddbjson

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

// Patching works on the binary form (AppendBinary) in place: a partial
// update of a stored item copies the bytes of the attributes it leaves alone
// and encodes only the ones it sets, instead of decoding the item into a Map,
// assigning, comparing and encoding the whole map again.

// PatchBinary appends to dst the binary form of the map base (as
// AppendBinary writes it; bytes after the map are ignored) with every
// top-level attribute of set put into it, replacing an attribute of the same
// name or inserted at its place in name order. The bytes are those of
// AppendBinary(dst, merged), where merged is DecodeBinary(base) with each
// entry of set assigned: a KindInvalid value in set is written as NULL and
// counts as a member.
//
// changed reports whether merged differs from base as EqualMaps compares
// them: false when every value of set equals the one base holds, numbers by
// value, and NULL (or KindInvalid) equal to an absent attribute.
//
// Attributes of base that set does not name are copied byte for byte. A base
// whose bytes are not exactly what AppendBinary writes (keys out of order,
// a long-form uvarint, a BOOL byte other than 0 or 1) is decoded and encoded
// again instead, so the result is the same for every base DecodeBinary
// accepts; a base it rejects (truncated, corrupt) is an error, and dst is
// returned unchanged. dst may share memory with base.
func PatchBinary(dst, base []byte, set Map) (out []byte, changed bool, err error) {
	buf := patchBufs.Get().(*patchBuf)
	defer buf.release()
	buf.bin = AppendBinary(buf.bin[:0], set)
	if members, ok := canonMembers(buf.members[:0], buf.bin); ok {
		buf.members = members
		if out, changed, ok := patchCanonical(dst, base, members); ok {
			return out, changed, nil
		}
	}
	return patchDecoded(dst, base, set)
}

// PatchBinaryRaw is PatchBinary with set in the binary form of a map, as
// AppendBinary writes it (an object TranscodeJSON read is in that form): the
// set attributes' bytes are copied as they are, without decoding them. A set
// DecodeBinary rejects is an error.
func PatchBinaryRaw(dst, base, set []byte) (out []byte, changed bool, err error) {
	buf := patchBufs.Get().(*patchBuf)
	defer buf.release()
	if members, ok := canonMembers(buf.members[:0], set); ok {
		buf.members = members
		if out, changed, ok := patchCanonical(dst, base, members); ok {
			return out, changed, nil
		}
	}
	m, _, err := DecodeBinary(set)
	if err != nil {
		return dst, false, fmt.Errorf("patching stored item: the changed attributes: %w", err)
	}
	return patchDecoded(dst, base, m)
}

// patchBuf holds a patch's set attributes while they are merged.
type patchBuf struct {
	bin     []byte
	members []RawMember
}

var patchBufs = sync.Pool{New: func() any { return new(patchBuf) }}

func (b *patchBuf) release() {
	if cap(b.bin) > 1<<20 || cap(b.members) > 4096 {
		return // an unusual patch: do not keep its buffers
	}
	clear(b.members)
	b.members = b.members[:0]
	patchBufs.Put(b)
}

// canonMembers appends the members of the binary map data to dst. ok is
// false when data is not exactly what AppendBinary writes (names out of
// order or repeated, a value not in its canonical form, bytes after it).
func canonMembers(dst []RawMember, data []byte) ([]RawMember, bool) {
	n, rest, ok := canonCount(data)
	var prev []byte
	for i := 0; i < n && ok; i++ {
		var k []byte
		if k, rest, ok = canonBytes(rest); !ok || (i > 0 && !ascending(prev, k)) {
			return dst, false
		}
		prev = k
		val := rest
		if rest, ok = skipCanonical(rest, 1); ok {
			dst = append(dst, RawMember{Key: unsafeString(k), Val: RawValue{Kind: Kind(val[0]), body: val[1 : len(val)-len(rest)]}})
		}
	}
	return dst, ok && len(rest) == 0
}

// appendRaw appends the member name and value v in the binary form.
func appendRaw(dst []byte, name string, v RawValue) []byte {
	return append(append(appendBytes(dst, name), byte(v.Kind)), v.body...)
}

// patchCanonical is PatchBinary for a base in AppendBinary's exact form,
// walked once, with the set attributes in name order. ok is false, with
// nothing appended to dst, when base is malformed or in another form.
func patchCanonical(dst, base []byte, set []RawMember) (out []byte, changed, ok bool) {
	if overlaps(dst[len(dst):cap(dst)], base) {
		base = bytes.Clone(base) // appending to dst would overwrite base
	}
	n, rest, ok := canonCount(base)
	if !ok {
		return dst, false, false
	}
	start := len(dst)
	// The count is written for the members base has, and corrected at the
	// end if set adds some.
	dst = binary.AppendUvarint(dst, uint64(n))
	countLen := len(dst) - start
	total := 0
	copied := len(base) - len(rest) // base bytes before this are in dst or replaced
	ki := 0
	var prev []byte
	for i := range n {
		at := len(base) - len(rest)
		var k []byte
		if k, rest, ok = canonBytes(rest); !ok || (i > 0 && !ascending(prev, k)) {
			return dst[:start], false, false
		}
		prev = k
		val := rest
		if rest, ok = skipCanonical(rest, 1); !ok {
			return dst[:start], false, false
		}
		name := unsafeString(k)
		for ki < len(set) && set[ki].Key < name {
			dst = append(dst, base[copied:at]...)
			copied = at
			dst = appendRaw(dst, set[ki].Key, set[ki].Val)
			changed = changed || !set[ki].Val.IsNull()
			total++
			ki++
		}
		if ki < len(set) && set[ki].Key == name {
			dst = append(dst, base[copied:at]...)
			copied = len(base) - len(rest)
			v := set[ki].Val
			dst = appendRaw(dst, name, v)
			if !changed {
				old := RawValue{Kind: Kind(val[0]), body: val[1 : len(val)-len(rest)]}
				eq, err := RawEqualRaw(old, v)
				if err != nil {
					return dst[:start], false, false
				}
				changed = !eq
			}
			ki++
		}
		total++
	}
	dst = append(dst, base[copied:len(base)-len(rest)]...)
	for ; ki < len(set); ki++ {
		dst = appendRaw(dst, set[ki].Key, set[ki].Val)
		changed = changed || !set[ki].Val.IsNull()
		total++
	}
	if total != n {
		var c [binary.MaxVarintLen64]byte
		count := binary.AppendUvarint(c[:0], uint64(total))
		if len(count) == countLen {
			copy(dst[start:], count)
		} else {
			dst = slices.Replace(dst, start, start+countLen, count...)
		}
	}
	return dst, changed, true
}

// patchDecoded is PatchBinary by way of a Map, for a base that is not in
// AppendBinary's exact form.
func patchDecoded(dst, base []byte, set Map) ([]byte, bool, error) {
	d := binDecoder{s: string(base)}
	m := d.m(0)
	if d.err != nil {
		return dst, false, fmt.Errorf("patching stored item: %w", d.err)
	}
	changed := false
	for k, v := range set {
		changed = changed || !Equal(m[k], v)
		m[k] = v
	}
	return AppendBinary(dst, m), changed, nil
}

// overlaps reports whether a and b share memory.
func overlaps(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return a0 < b0+uintptr(len(b)) && b0 < a0+uintptr(len(a))
}

// ascending reports whether name a sorts before name b, as AppendBinary
// orders them; most names differ in their first byte.
func ascending(a, b []byte) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return string(a) < string(b)
}

// canonUvarint reads a uvarint in the shortest form, as AppendUvarint
// writes it.
func canonUvarint(b []byte) (uint64, []byte, bool) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), b[1:], true
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || b[k-1] == 0 {
		return 0, nil, false
	}
	return n, b[k:], true
}

// canonCount reads the count of a map, list or set; every element takes at
// least a byte.
func canonCount(b []byte) (int, []byte, bool) {
	n, rest, ok := canonUvarint(b)
	if !ok || n > uint64(len(rest)) {
		return 0, nil, false
	}
	return int(n), rest, true
}

// canonBytes reads a length-prefixed string.
func canonBytes(b []byte) ([]byte, []byte, bool) {
	n, rest, ok := canonUvarint(b)
	if !ok || n > uint64(len(rest)) {
		return nil, nil, false
	}
	return rest[:n], rest[n:], true
}

// skipCanonical reads the value at the start of b and returns the bytes
// after it. ok is false when the value is malformed, nested deeper than
// DecodeBinary accepts (depth counts as binDecoder.value counts it), or not
// byte for byte what AppendBinary writes for the value DecodeBinary reads
// from it, so that copying its bytes would differ from encoding it again.
func skipCanonical(b []byte, depth int) (rest []byte, ok bool) {
	if depth > MaxDepth+1 || len(b) == 0 {
		return nil, false
	}
	k := Kind(b[0])
	b = b[1:]
	switch k {
	case KindS, KindN, KindB:
		_, b, ok = canonBytes(b)
		return b, ok
	case KindBOOL:
		if len(b) == 0 || b[0] > 1 {
			return nil, false
		}
		return b[1:], true
	case KindNULL:
		return b, true
	case KindM:
		n, b, ok := canonCount(b)
		var prev, key []byte
		for i := 0; i < n && ok; i++ {
			if key, b, ok = canonBytes(b); ok && i > 0 && !ascending(prev, key) {
				ok = false // out of order, or a repeated name
			}
			if ok {
				prev = key
				b, ok = skipCanonical(b, depth+1)
			}
		}
		return b, ok
	case KindL:
		n, b, ok := canonCount(b)
		for i := 0; i < n && ok; i++ {
			b, ok = skipCanonical(b, depth+1)
		}
		return b, ok
	case KindSS, KindNS, KindBS:
		n, b, ok := canonCount(b)
		for i := 0; i < n && ok; i++ {
			_, b, ok = canonBytes(b)
		}
		return b, ok
	}
	return nil, false
}

// RawEqual reports whether the stored value r equals v as Equal compares
// decoded values: Equal(r.Value(), v), without decoding r where it can
// (strings, numbers by value as CanonicalNumber compares them, binaries,
// booleans, NULL, maps and lists of those). A zero RawValue, an attribute
// RawGet did not find, equals NULL and a KindInvalid v, as Equal treats a
// missing Map entry. The error is for bytes of r that do not decode, which
// a RawValue read by this package never has.
func RawEqual(r RawValue, v Value) (bool, error) {
	if r.IsNull() || v.IsNull() {
		return r.IsNull() && v.IsNull(), nil
	}
	if r.Kind != v.Kind {
		return false, nil
	}
	switch r.Kind {
	case KindS, KindN, KindB:
		b, _, err := rawBytes(r.body)
		if err != nil {
			return false, fmt.Errorf("comparing stored %s value: %w", r.Kind, err)
		}
		switch r.Kind {
		case KindS:
			return string(b) == v.Str, nil
		case KindN:
			return equalNumbers(unsafeString(b), v.Str), nil
		}
		return bytes.Equal(b, v.Bin), nil
	case KindBOOL:
		if len(r.body) == 0 {
			return false, fmt.Errorf("comparing stored BOOL value: %w", errShort)
		}
		return (r.body[0] == 1) == v.Bool, nil
	case KindM:
		return rawEqualMap(r, v.Map)
	case KindL:
		n, rest, err := rawCount(r.body)
		if err != nil {
			return false, fmt.Errorf("comparing stored L value: %w", err)
		}
		if n != len(v.List) {
			return false, nil
		}
		for _, e := range v.List {
			var re RawValue
			if re, rest, err = rawValue(rest, 0); err != nil {
				return false, fmt.Errorf("comparing stored L value: %w", err)
			}
			if eq, err := RawEqual(re, e); !eq || err != nil {
				return false, err
			}
		}
		return true, nil
	case KindSS, KindNS:
		if r.Len() != len(v.Strs) {
			return false, nil // sets of different sizes, without decoding
		}
	case KindBS:
		if r.Len() != len(v.Bins) {
			return false, nil
		}
	}
	return rawEqualDecoded(r, v)
}

// RawEqualRaw reports whether two values in the binary form are equal as
// Equal compares them decoded: Equal(a.Value(), b.Value()). Equal bytes are
// equal; strings, numbers, binaries and booleans are compared in place, and
// other values of differing bytes by decoding b.
func RawEqualRaw(a, b RawValue) (bool, error) {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull(), nil
	}
	if a.Kind != b.Kind {
		return false, nil
	}
	if bytes.Equal(a.body, b.body) {
		return true, nil
	}
	switch a.Kind {
	case KindS, KindN, KindB:
		x, _, err := rawBytes(a.body)
		if err != nil {
			return false, fmt.Errorf("comparing stored %s value: %w", a.Kind, err)
		}
		y, _, err := rawBytes(b.body)
		if err != nil {
			return false, fmt.Errorf("comparing %s value: %w", b.Kind, err)
		}
		if a.Kind == KindN {
			return equalNumbers(unsafeString(x), unsafeString(y)), nil
		}
		return bytes.Equal(x, y), nil
	case KindBOOL:
		if len(a.body) == 0 || len(b.body) == 0 {
			return false, fmt.Errorf("comparing BOOL values: %w", errShort)
		}
		return (a.body[0] == 1) == (b.body[0] == 1), nil
	case KindL:
		return rawEqualLists(a, b)
	case KindM:
		if eq, ok, err := rawEqualMaps(a, b); ok || err != nil {
			return eq, err
		}
	}
	bv, err := b.Value()
	if err != nil {
		return false, fmt.Errorf("comparing %s value: %w", b.Kind, err)
	}
	return RawEqual(a, bv)
}

// rawEqualLists is RawEqualRaw for two L values, element by element in
// place.
func rawEqualLists(a, b RawValue) (bool, error) {
	na, ra, err := rawCount(a.body)
	if err != nil {
		return false, fmt.Errorf("comparing stored L value: %w", err)
	}
	nb, rb, err := rawCount(b.body)
	if err != nil {
		return false, fmt.Errorf("comparing L value: %w", err)
	}
	if na != nb {
		return false, nil
	}
	for range na {
		var ea, eb RawValue
		if ea, ra, err = rawValue(ra, 0); err != nil {
			return false, fmt.Errorf("comparing stored L value: %w", err)
		}
		if eb, rb, err = rawValue(rb, 0); err != nil {
			return false, fmt.Errorf("comparing L value: %w", err)
		}
		if eq, err := RawEqualRaw(ea, eb); !eq || err != nil {
			return false, err
		}
	}
	return true, nil
}

// rawEqualMaps is RawEqualRaw for two M values whose members are in key
// order, each name once (as AppendBinary and TranscodeJSON write them): their
// members are walked side by side in place, a NULL value counting as a
// missing member, as EqualMaps has it. ok is false for members out of
// order, which the caller compares by decoding.
func rawEqualMaps(a, b RawValue) (eq, ok bool, err error) {
	var x, y memberIter
	if err := x.start(a.body); err != nil {
		return false, false, fmt.Errorf("comparing stored M value: %w", err)
	}
	if err := y.start(b.body); err != nil {
		return false, false, fmt.Errorf("comparing M value: %w", err)
	}
	eq = true
	for !x.done || !y.done {
		c := 0
		switch {
		case x.done:
			c = 1
		case y.done:
			c = -1
		default:
			c = bytes.Compare(x.k, y.k)
		}
		switch {
		case c == 0 && eq:
			if eq, err = RawEqualRaw(x.v, y.v); err != nil {
				return false, false, err
			}
		case c < 0:
			eq = eq && x.v.IsNull() // a member only a has
		case c > 0:
			eq = eq && y.v.IsNull()
		}
		// Both sides are read to their end: a member out of order
		// anywhere sends the pair to the decoding comparison.
		if c <= 0 {
			if err := x.next(); err != nil {
				return false, false, fmt.Errorf("comparing stored M value: %w", err)
			}
		}
		if c >= 0 {
			if err := y.next(); err != nil {
				return false, false, fmt.Errorf("comparing M value: %w", err)
			}
		}
		if !x.inOrder || !y.inOrder {
			return false, false, nil
		}
	}
	return eq, true, nil
}

// memberIter reads the members of an M value's body in place.
type memberIter struct {
	n       int    // members left to read
	rest    []byte // the bytes after the current member
	k       []byte // the current member's name
	v       RawValue
	done    bool // no current member: all were read
	inOrder bool // every name read came after the one before it
}

func (it *memberIter) start(body []byte) error {
	n, rest, err := rawCount(body)
	if err != nil {
		return err
	}
	*it = memberIter{n: n, rest: rest, inOrder: true}
	return it.next()
}

func (it *memberIter) next() error {
	if it.n == 0 {
		it.done = true
		return nil
	}
	it.n--
	prev, first := it.k, it.k == nil
	k, rest, err := rawBytes(it.rest)
	if err != nil {
		return err
	}
	if it.v, it.rest, err = rawValue(rest, 0); err != nil {
		return err
	}
	if !first && !ascending(prev, k) {
		it.inOrder = false
	}
	it.k = k[:len(k):len(k)]
	if it.k == nil {
		it.k = []byte{} // an empty name: first is judged by nil
	}
	return nil
}

// rawEqualDecoded is RawEqual by decoding r.
func rawEqualDecoded(r RawValue, v Value) (bool, error) {
	dv, err := r.Value()
	if err != nil {
		return false, fmt.Errorf("comparing stored %s value: %w", r.Kind, err)
	}
	return Equal(dv, v), nil
}

// rawEqualMap is RawEqual for an M value: EqualMaps of its members and m.
// Members with repeated names or out of order (not as AppendBinary writes
// them) are compared by decoding, where the last of a name wins.
func rawEqualMap(r RawValue, m Map) (bool, error) {
	var it memberIter
	if err := it.start(r.body); err != nil {
		return false, fmt.Errorf("comparing stored M value: %w", err)
	}
	eq, found := true, 0 // found: the non-NULL values of m whose name r has
	for !it.done {
		if eq { // once unequal, the names are still read to check their order
			mv, ok := m[unsafeString(it.k)]
			var err error
			if eq, err = RawEqual(it.v, mv); err != nil {
				return false, err
			}
			if ok && !mv.IsNull() {
				found++
			}
		}
		if err := it.next(); err != nil {
			return false, fmt.Errorf("comparing stored M value: %w", err)
		}
		if !it.inOrder {
			return rawEqualDecoded(r, M(m))
		}
	}
	if !eq {
		return false, nil
	}
	for _, mv := range m {
		if !mv.IsNull() {
			found--
		}
	}
	return found == 0, nil // no non-NULL value of m is missing from r
}

// equalNumbers reports whether CanonicalNumber(a) == CanonicalNumber(b),
// without building the canonical strings where the numbers are valid.
func equalNumbers(a, b string) bool {
	if a == b {
		return true
	}
	x, okx := splitNumber(a)
	y, oky := splitNumber(b)
	if !okx || !oky {
		return CanonicalNumber(a) == CanonicalNumber(b)
	}
	if x.zero || y.zero {
		return x.zero && y.zero
	}
	if x.neg != y.neg || x.exp != y.exp {
		return false
	}
	// The significant digits, skipping the decimal points.
	i, j := x.lo, y.lo
	for {
		for i < x.hi && x.mant[i] == '.' {
			i++
		}
		for j < y.hi && y.mant[j] == '.' {
			j++
		}
		if i == x.hi || j == y.hi {
			return i == x.hi && j == y.hi
		}
		if x.mant[i] != y.mant[j] {
			return false
		}
		i++
		j++
	}
}
