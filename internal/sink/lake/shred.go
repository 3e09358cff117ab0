package lake

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// shredder turns Rows into parquet values (Dremel shredding: every leaf
// column gets its values with repetition and definition levels), written
// column by column into a rowBatch. Byte arrays are copied into the
// batch's buffer, since they point into the Row and into the shredder's
// own scratch buffers, both reused.
type shredder struct {
	t         *table
	out       *rowBatch // the batch this row goes into
	bufs      [][]byte  // scratch byte slices, one per value needing one
	nbuf      int
	path      []pathSeg // where the value being written sits
	left      []byte    // this row's _leftovers JSON object
	nleft     int
	leftovers int64 // total so far
	parts     []parquet.Value
	sc        scratch
}

// pathSeg is an attribute name or, when index >= 0, a list index.
type pathSeg struct {
	name  string
	index int
}

// fit says how a value went into its column.
type fit uint8

const (
	fitOK   fit = iota
	fitNull     // written as NULL ("" in a timestamp column)
	fitNot      // does not fit: NULL in the column, kept in _leftovers
)

func newShredder(t *table, now time.Time) *shredder {
	s := &shredder{t: t}
	now = now.UTC()
	vals := []parquet.Value{
		strValue(now.Format("2006")),
		strValue(now.Format("01")),
		strValue(now.Format("02")),
		strValue(now.Format("20060102")),
		parquet.Int64Value(now.UnixMicro()),
		strValue(strconv.FormatInt(now.Unix(), 10)),
	}
	for i, c := range t.parts {
		s.parts = append(s.parts, vals[i].Level(0, 0, c.first))
	}
	return s
}

// shred writes the values of r into b, a batch of t.numLeaves columns. On
// an error, b holds part of the row: the publish fails.
func (s *shredder) shred(r *Row, b *rowBatch) error {
	s.out = b
	s.nbuf, s.nleft, s.path = 0, 0, s.path[:0]
	s.meta(r)
	ms, err := s.sc.rowMembers(r)
	if err != nil {
		return err
	}
	s.image(ms)
	s.sc.releaseMembers(ms)
	if s.sc.err != nil {
		return s.sc.err
	}
	s.finishLeftovers()
	for i, c := range s.t.parts { // the partition columns come last
		b.cols[c.first] = append(b.cols[c.first], s.parts[i])
	}
	return nil
}

func (s *shredder) meta(r *Row) {
	m := s.t.meta
	s.str(m[0], r.Key)
	s.version(m[1], r.Version)
	s.str(m[2], r.Op)
	s.str(m[3], r.EventID)
	s.str(m[4], r.EventType)
	s.time(m[5], r.EventTime.Truncate(time.Microsecond))
	s.str(m[6], r.Source)
	s.time(m[7], r.IngestedAt.Truncate(time.Microsecond))
	if s.t.kind == History {
		s.time(m[8], r.ValidFrom.Truncate(time.Microsecond))
		s.time(m[9], r.ValidTo.Truncate(time.Microsecond))
	}
}

// str writes a top-level string; "" is NULL in an optional column.
func (s *shredder) str(c *column, v string) {
	if v == "" && !c.required {
		s.nulls(c, 0, 0)
		return
	}
	s.put(c, strValue(v), 0, topDef(c))
}

func (s *shredder) version(c *column, v string) {
	if v == "" {
		s.nulls(c, 0, 0)
		return
	}
	pv, ok := s.number(c.num, v)
	if !ok {
		s.metaLeftover(c.name, v)
		s.nulls(c, 0, 0)
		return
	}
	s.put(c, pv, 0, 1)
}

func (s *shredder) time(c *column, t time.Time) {
	if t.IsZero() {
		s.nulls(c, 0, 0)
		return
	}
	pv, ok := timeValue(c, t)
	if !ok {
		s.metaLeftover(c.name, t.UTC().Format(time.RFC3339Nano))
		s.nulls(c, 0, 0)
		return
	}
	s.put(c, pv, 0, topDef(c))
}

func topDef(c *column) int {
	if c.required {
		return 0
	}
	return 1
}

// lookup returns the member named k of ms (sorted by key, as the binary
// form keeps them).
func lookup(ms []ddbjson.RawMember, k string) (ddbjson.RawValue, bool) {
	lo, hi := 0, len(ms)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if ms[h].Key < k {
			lo = h + 1
		} else {
			hi = h
		}
	}
	if lo < len(ms) && ms[lo].Key == k {
		return ms[lo].Val, true
	}
	return ddbjson.RawValue{}, false
}

// image writes the attribute columns, and the attributes that have none to
// _leftovers.
func (s *shredder) image(ms []ddbjson.RawMember) {
	present := 0
	for _, c := range s.t.attrs {
		v, ok := lookup(ms, c.attr)
		if ok {
			present++
		}
		s.path = append(s.path, pathSeg{name: c.attr, index: -1})
		s.value(c, v, 0, 0)
		s.path = s.path[:len(s.path)-1]
	}
	if present < len(ms) {
		s.unknownFields(ms, s.t.byAttr)
	}
}

// value writes v in column c; rep and def are the levels of c's parent.
func (s *shredder) value(c *column, v ddbjson.RawValue, rep, def int) {
	if v.IsNull() {
		s.nulls(c, rep, def)
		return
	}
	if v.Kind != c.kind {
		s.leftover(v)
		s.nulls(c, rep, def)
		return
	}
	switch c.typ {
	case typeStruct:
		ms, err := v.Members(s.sc.members())
		s.sc.fail(err)
		s.structValue(c, ms, rep, def+1)
		s.sc.releaseMembers(ms)
	case typeList:
		s.listValue(c, v, rep, def+1)
	default:
		pv, f := s.leaf(c, v)
		switch f {
		case fitOK:
			s.put(c, pv, rep, def+1)
		case fitNot:
			s.leftover(v)
			fallthrough
		default:
			s.nulls(c, rep, def)
		}
	}
}

func (s *shredder) structValue(c *column, ms []ddbjson.RawMember, rep, def int) {
	present := 0
	for _, f := range c.fields {
		v, ok := lookup(ms, f.attr)
		if ok {
			present++
		}
		s.path = append(s.path, pathSeg{name: f.attr, index: -1})
		s.value(f, v, rep, def)
		s.path = s.path[:len(s.path)-1]
	}
	if present < len(ms) {
		s.unknownFields(ms, c.byAttr)
	}
}

// unknownFields sends the fields of ms that have no column to _leftovers,
// in key order.
func (s *shredder) unknownFields(ms []ddbjson.RawMember, known map[string]*column) {
	for _, m := range ms {
		if known[m.Key] != nil || m.Val.IsNull() {
			continue // a NULL lost nothing
		}
		s.path = append(s.path, pathSeg{name: m.Key, index: -1})
		s.leftover(m.Val)
		s.path = s.path[:len(s.path)-1]
	}
}

// listValue writes the elements of a list or set; def counts the list.
func (s *shredder) listValue(c *column, v ddbjson.RawValue, rep, def int) {
	es, err := v.Elems(s.sc.elems())
	s.sc.fail(err)
	if len(es) == 0 {
		s.nulls(c.elem, rep, def)
		s.sc.releaseElems(es)
		return
	}
	for i, e := range es {
		r := rep
		if i > 0 {
			r = c.repLevel
		}
		s.path = append(s.path, pathSeg{index: i})
		s.value(c.elem, e, r, def+1)
		s.path = s.path[:len(s.path)-1]
	}
	s.sc.releaseElems(es)
}

// leaf converts a value of the column's kind to the column's type.
func (s *shredder) leaf(c *column, v ddbjson.RawValue) (parquet.Value, fit) {
	switch c.typ {
	case typeString:
		return strValue(v.Str()), fitOK
	case typeJSON:
		b := ddbjson.AppendPlain(s.take(), s.decoded(v))
		s.keep(b)
		return parquet.ByteArrayValue(b), fitOK
	case typeTimestamp:
		str := v.Str()
		if str == "" {
			return parquet.Value{}, fitNull
		}
		t, ok := parseDateTime(str)
		if !ok {
			return parquet.Value{}, fitNot
		}
		return fitOf(timeValue(c, t))
	case typeInt64, typeDecimal, typeDouble:
		return fitOf(s.number(c.num, v.Str()))
	case typeBool:
		return parquet.BooleanValue(v.Bool()), fitOK
	case typeBinary:
		return parquet.ByteArrayValue(v.Bytes()), fitOK
	}
	return parquet.Value{}, fitNot
}

func fitOf(v parquet.Value, ok bool) (parquet.Value, fit) {
	if !ok {
		return v, fitNot
	}
	return v, fitOK
}

// timeValue converts t for a timestamp column; false when the column's
// unit cannot hold it exactly.
func timeValue(c *column, t time.Time) (parquet.Value, bool) {
	if c.nanos {
		if t.Before(minNanoTime) || t.After(maxNanoTime) {
			return parquet.Value{}, false
		}
		return parquet.Int64Value(t.UnixNano()), true
	}
	if t.Nanosecond()%1000 != 0 {
		return parquet.Value{}, false
	}
	return parquet.Int64Value(t.UnixMicro()), true
}

// maxDecimal18 is the largest unscaled value of a decimal(18,s).
const maxDecimal18 = 999_999_999_999_999_999

// number converts an exact decimal string for a number column.
func (s *shredder) number(nt numType, str string) (parquet.Value, bool) {
	switch nt.typ {
	case typeInt64:
		if i, ok := parseInt64(str); ok {
			return parquet.Int64Value(i), true
		}
		n, ok := parseNumber(str)
		if !ok {
			return parquet.Value{}, false
		}
		i, ok := n.unscaledInt64(0, 1<<63)
		return parquet.Int64Value(i), ok
	case typeDouble:
		f, err := strconv.ParseFloat(str, 64)
		return parquet.DoubleValue(f), err == nil
	}
	n, ok := parseNumber(str)
	if !ok {
		return parquet.Value{}, false
	}
	if nt.precision <= int64Precision {
		u, ok := n.unscaledInt64(nt.scale, maxDecimal18)
		return parquet.Int64Value(u), ok
	}
	u, ok := n.unscaledBig(nt.scale)
	if !ok {
		return parquet.Value{}, false
	}
	b := s.take()[:0]
	b = append(b, make([]byte, 16)...)
	putInt128(b, u)
	s.keep(b)
	return parquet.FixedLenByteArrayValue(b), true
}

// put appends a present leaf value, its bytes copied into the batch.
func (s *shredder) put(c *column, v parquet.Value, rep, def int) {
	b := s.out
	switch k := v.Kind(); k {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		// A slice of the batch's bytes stays valid when they grow (the
		// old array is not written again until the batch is reused).
		n := len(b.bytes)
		b.bytes = append(b.bytes, v.ByteArray()...)
		cp := b.bytes[n:len(b.bytes):len(b.bytes)]
		if k == parquet.ByteArray {
			v = parquet.ByteArrayValue(cp)
		} else {
			v = parquet.FixedLenByteArrayValue(cp)
		}
	}
	col := append(b.cols[c.first], v)
	levels(&col[len(col)-1], rep, def, c.first)
	b.cols[c.first] = col
}

// nulls appends a NULL to every leaf of c at definition level def.
func (s *shredder) nulls(c *column, rep, def int) {
	for i := c.first; i < c.first+c.leaves; i++ {
		col := append(s.out.cols[i], parquet.Value{})
		levels(&col[len(col)-1], rep, def, i)
		s.out.cols[i] = col
	}
}

// levels sets a value's levels in place (Value.Level, which copies the
// value and is not inlined, cost a twentieth of a publish's shredding).
func levels(v *parquet.Value, rep, def, col int) {
	v.SetRepetitionLevel(rep)
	v.SetDefinitionLevel(def)
	v.SetColumnIndex(col)
}

// leftover keeps v in this row's _leftovers under the current path.
func (s *shredder) leftover(v ddbjson.RawValue) {
	s.openLeftover(s.pathText())
	s.left = ddbjson.AppendPlain(s.left, s.decoded(v))
}

// decoded returns v as a Value, for the rare values written as JSON.
func (s *shredder) decoded(v ddbjson.RawValue) ddbjson.Value {
	d, err := v.Value()
	s.sc.fail(err)
	return d
}

// metaLeftover keeps a metadata value that its column could not hold.
func (s *shredder) metaLeftover(name, v string) {
	s.openLeftover(name)
	s.left = ddbjson.AppendPlain(s.left, ddbjson.S(v))
}

func (s *shredder) openLeftover(key string) {
	if s.nleft == 0 {
		s.left = append(s.left[:0], '{')
	} else {
		s.left = append(s.left, ',')
	}
	s.nleft++
	s.leftovers++
	s.left = ddbjson.AppendPlain(s.left, ddbjson.S(key))
	s.left = append(s.left, ':')
}

// pathText renders the current path: charges.rent, householdMembers[2].
func (s *shredder) pathText() string {
	var b []byte
	for i, p := range s.path {
		if p.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(p.index), 10)
			b = append(b, ']')
			continue
		}
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, p.name...)
	}
	return string(b)
}

func (s *shredder) finishLeftovers() {
	c := s.t.leftovers
	if s.nleft == 0 {
		s.nulls(c, 0, 0)
		return
	}
	s.left = append(s.left, '}')
	s.put(c, parquet.ByteArrayValue(s.left), 0, 1)
}

// take returns an empty scratch slice that stays untouched until the next
// row; keep stores it back after it grew.
func (s *shredder) take() []byte {
	if s.nbuf == len(s.bufs) {
		s.bufs = append(s.bufs, make([]byte, 0, 64))
	}
	s.nbuf++
	return s.bufs[s.nbuf-1][:0]
}

func (s *shredder) keep(b []byte) { s.bufs[s.nbuf-1] = b }

// strValue makes a BYTE_ARRAY value that points into v without copying
// (put copies it into the batch).
func strValue(v string) parquet.Value {
	return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(v), len(v)))
}
