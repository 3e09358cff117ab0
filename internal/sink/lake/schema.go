package lake

import (
	"fmt"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// colType is the type of a column in the files.
type colType uint8

const (
	typeString    colType = iota
	typeJSON              // a string holding plain JSON (maps that never had a key)
	typeTimestamp         // from S date-time strings or time.Time
	typeInt64
	typeDecimal
	typeDouble
	typeBool
	typeBinary
	typeStruct // from M
	typeList   // from L, SS, NS, BS
)

// column is a column of the files, or a field of a struct column, or the
// element of a list column.
type column struct {
	name     string       // name in the files
	attr     string       // attribute name in the image
	kind     ddbjson.Kind // the DynamoDB kind the column holds; other kinds go to _leftovers
	typ      colType
	num      numType // typeInt64, typeDecimal, typeDouble
	nanos    bool    // typeTimestamp: NANOS, else MICROS
	required bool
	fields   []*column // typeStruct, in order
	byAttr   map[string]*column
	elem     *column // typeList
	first    int     // index of the first leaf column
	leaves   int     // number of leaf columns
	repLevel int     // typeList: repetition level of the repeated group
}

// table is the schema of a published table.
type table struct {
	kind      Kind
	meta      []*column // metadata columns, in metaNames order
	attrs     []*column // attribute columns, sorted by attribute name
	byAttr    map[string]*column
	leftovers *column
	parts     []*column // partition columns, in partNames order
	schema    *parquet.Schema
	numLeaves int
}

// Metadata and partition column names. Attributes never take these names.
const (
	colKey        = "_key"
	colVersion    = "_version"
	colOp         = "_op"
	colEventID    = "_event_id"
	colEventType  = "_event_type"
	colEventTime  = "_event_time"
	colSource     = "_source"
	colIngestedAt = "_ingested_at"
	colValidFrom  = "valid_from"
	colValidTo    = "valid_to"
	colLeftovers  = "_leftovers"
)

var partNames = []string{"import_year", "import_month", "import_day", "import_date", "import_datetime", "import_timestamp"}

// buildTable turns the statistics of the schema pass into the schema.
func buildTable(st *tableStats, kind Kind) *table {
	t := &table{kind: kind, byAttr: map[string]*column{}}
	t.meta = metaColumns(st, kind)
	reserved := map[string]bool{colLeftovers: true}
	for _, c := range t.meta {
		reserved[c.name] = true
	}
	for _, n := range partNames {
		reserved[n] = true
	}
	t.attrs = buildFields(&st.attrs, reserved)
	for _, c := range t.attrs {
		t.byAttr[c.attr] = c
	}
	t.leftovers = &column{name: colLeftovers, typ: typeString}
	for _, n := range partNames {
		c := &column{name: n, typ: typeString, required: true}
		if n == "import_datetime" {
			c.typ = typeTimestamp
		}
		t.parts = append(t.parts, c)
	}
	t.schema = parquet.NewSchema("schema", t.node())
	return t
}

func metaColumns(st *tableStats, kind Kind) []*column {
	// Metadata times are microseconds, the unit every engine reads (Spark
	// 3 cannot read nanoseconds); Hackney's 7th fractional digit of an
	// event time is dropped there, and _event_id names the event exactly.
	ts := func(name string, _ timeStat) *column {
		return &column{name: name, typ: typeTimestamp}
	}
	cols := []*column{
		{name: colKey, typ: typeString, required: true},
		{name: colVersion, typ: st.version.columnType().typ, num: st.version.columnType()},
		{name: colOp, typ: typeString, required: true},
		{name: colEventID, typ: typeString},
		{name: colEventType, typ: typeString},
		ts(colEventTime, st.event),
		{name: colSource, typ: typeString, required: true},
		{name: colIngestedAt, typ: typeTimestamp},
	}
	if kind == History {
		cols = append(cols, ts(colValidFrom, st.from), ts(colValidTo, st.to))
	}
	return cols
}

// buildFields makes the columns of the fields of a map path, sorted by
// attribute name, with unique names.
func buildFields(s *stat, reserved map[string]bool) []*column {
	attrs := make([]string, 0, len(s.fields))
	for a := range s.fields {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs)
	cols := make([]*column, len(attrs))
	for i, a := range attrs {
		cols[i] = buildColumn(a, s.fields[a])
	}
	assignNames(cols, s.fields, reserved)
	return cols
}

// buildColumn types the column of one path from the kind that won there.
func buildColumn(attr string, s *stat) *column {
	c := &column{attr: attr, kind: s.winner()}
	switch c.kind {
	case ddbjson.KindS:
		c.typ = typeString
		if s.str.isTime() {
			c.typ, c.nanos = typeTimestamp, s.str.times.nanos()
		}
	case ddbjson.KindN:
		c.num = s.num.columnType()
		c.typ = c.num.typ
	case ddbjson.KindBOOL:
		c.typ = typeBool
	case ddbjson.KindB:
		c.typ = typeBinary
	case ddbjson.KindM:
		c.typ = typeStruct
		c.fields = buildFields(s, nil)
		if len(c.fields) == 0 {
			c.typ = typeJSON // parquet has no empty groups
		}
		c.byAttr = make(map[string]*column, len(c.fields))
		for _, f := range c.fields {
			c.byAttr[f.attr] = f
		}
	case ddbjson.KindL:
		c.typ = typeList
		c.elem = buildColumn("", s.elemStat())
	case ddbjson.KindSS, ddbjson.KindNS, ddbjson.KindBS:
		c.typ = typeList
		c.elem = setElement(c.kind, s)
	default: // NULL only
		c.typ = typeString
	}
	return c
}

func setElement(k ddbjson.Kind, s *stat) *column {
	switch k {
	case ddbjson.KindSS:
		return &column{kind: ddbjson.KindS, typ: typeString}
	case ddbjson.KindNS:
		nt := s.setNum.columnType()
		return &column{kind: ddbjson.KindN, typ: nt.typ, num: nt}
	}
	return &column{kind: ddbjson.KindB, typ: typeBinary}
}

// assignNames gives each column a name that is unique without regard to
// case (Athena and Glue fold names to lower case) and not reserved.
// Characters other than ASCII letters, digits and '_' become '_'. The
// attribute with the most values claims the plain name first (ties: byte
// order); the others get "__2", "__3", ... in that same order.
func assignNames(cols []*column, stats map[string]*stat, reserved map[string]bool) {
	order := make([]*column, len(cols))
	copy(order, cols)
	sort.SliceStable(order, func(i, j int) bool {
		return stats[order[i].attr].total() > stats[order[j].attr].total()
	})
	used := map[string]bool{}
	for n := range reserved {
		used[strings.ToLower(n)] = true
	}
	for _, c := range order {
		base := sanitize(c.attr)
		name := base
		for i := 2; used[strings.ToLower(name)]; i++ {
			name = fmt.Sprintf("%s__%d", base, i)
		}
		used[strings.ToLower(name)] = true
		c.name = name
	}
}

func sanitize(attr string) string {
	if attr == "" {
		return "_"
	}
	b := []byte(attr)
	out := b[:0]
	for _, r := range attr {
		if r < 0x80 && (r == '_' || isDigit(byte(r)) || (r|0x20 >= 'a' && r|0x20 <= 'z')) {
			out = append(out, byte(r))
		} else {
			out = append(out, '_')
		}
	}
	return string(out)
}

// node builds the parquet schema and numbers the leaf columns.
func (t *table) node() parquet.Node {
	g := newGroup()
	leaf := 0
	for _, list := range [][]*column{t.meta, t.attrs, {t.leftovers}, t.parts} {
		for _, c := range list {
			g.add(c.name, c.build(&leaf, 0, 0))
		}
	}
	t.numLeaves = leaf
	return g
}

// build returns the parquet node of c and numbers its leaves from *leaf;
// rep and def are the levels of its parent.
func (c *column) build(leaf *int, rep, def int) parquet.Node {
	if !c.required {
		def++
	}
	c.first = *leaf
	var n parquet.Node
	switch c.typ {
	case typeStruct:
		g := newGroup()
		for _, f := range c.fields {
			g.add(f.name, f.build(leaf, rep, def))
		}
		n = g
	case typeList:
		c.repLevel = rep + 1
		n = parquet.List(c.elem.build(leaf, rep+1, def+1))
	default:
		*leaf++
		n = c.leafNode()
	}
	c.leaves = *leaf - c.first
	if c.required {
		return n
	}
	return parquet.Optional(n)
}

func (c *column) leafNode() parquet.Node {
	switch c.typ {
	case typeTimestamp:
		if c.nanos {
			return parquet.Timestamp(parquet.Nanosecond)
		}
		return parquet.Timestamp(parquet.Microsecond)
	case typeInt64:
		return parquet.Int(64)
	case typeDecimal:
		if c.num.precision <= int64Precision {
			return parquet.Decimal(c.num.scale, int64Precision, parquet.Int64Type)
		}
		return parquet.Decimal(c.num.scale, decimalPrecision, parquet.FixedLenByteArrayType(16))
	case typeDouble:
		return parquet.Leaf(parquet.DoubleType)
	case typeBool:
		return parquet.Leaf(parquet.BooleanType)
	case typeBinary:
		return parquet.Leaf(parquet.ByteArrayType)
	}
	return parquet.String()
}

// typeText renders the type for logs and docs: string, int64,
// decimal(18,2), double, boolean, binary, timestamp, timestamp_ns,
// struct<a:string,b:int64>, list<string>.
func (c *column) typeText() string {
	switch c.typ {
	case typeTimestamp:
		if c.nanos {
			return "timestamp_ns"
		}
		return "timestamp"
	case typeInt64:
		return "int64"
	case typeDecimal:
		return fmt.Sprintf("decimal(%d,%d)", c.num.precision, c.num.scale)
	case typeDouble:
		return "double"
	case typeBool:
		return "boolean"
	case typeBinary:
		return "binary"
	case typeStruct:
		parts := make([]string, len(c.fields))
		for i, f := range c.fields {
			parts[i] = f.name + ":" + f.typeText()
		}
		return "struct<" + strings.Join(parts, ",") + ">"
	case typeList:
		return "list<" + c.elem.typeText() + ">"
	}
	return "string"
}

// columns lists the top-level columns in file order.
func (t *table) columns() []Column {
	var out []Column
	for _, list := range [][]*column{t.meta, t.attrs, {t.leftovers}, t.parts} {
		for _, c := range list {
			out = append(out, Column{Name: c.name, Type: c.typeText()})
		}
	}
	return out
}
