// Package avro turns Avro-encoded entity records into images: the
// Confluent wire format (SplitWire), schemas fetched from a registry by id
// and cached (Decoder), and the schema-guided conversion of Avro binary into
// attribute values (Converter).
//
// The conversion follows the shape Hackney's services produced in 2022:
// PascalCase field names become the table's lower camelCase (first letter
// lowercased, in every record), int Unix-second dates (fields whose name
// ends in "Date", or listed in Options.DateFields) become the table's date
// strings (yyyy-MM-ddTHH:mm:ss.fffffffZ, UTC), and int.MinValue, which
// stood for an empty date, becomes NULL. Numbers stay exact decimal strings.
// No SDK is imported: the registry is reached through a SchemaFunc.
package avro

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	hamba "github.com/hamba/avro/v2"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// DateLayout is the table's format of a date: UTC with 7 fractional digits.
const DateLayout = "2006-01-02T15:04:05.0000000Z"

// EmptyDate is what the 2022 producers wrote for an empty date (.NET
// int.MinValue); it becomes NULL.
const EmptyDate = math.MinInt32

// DateSuffix marks a date field by its name.
const DateSuffix = "Date"

// Options tune the conversion.
type Options struct {
	// DateFields names more fields (by their Avro or their table name) whose
	// int or long values are Unix seconds, beside those whose name ends in
	// "Date" (e.g. DateOfBirth).
	DateFields []string
	// NoDateSuffix turns the "...Date" rule off: only DateFields are dates.
	NoDateSuffix bool
}

// Converter decodes Avro binary into images. It is safe for concurrent use.
type Converter struct {
	dates  map[string]bool
	suffix bool
	plans  sync.Map // *hamba.RecordSchema -> []field
	pool   sync.Pool
}

// NewConverter returns a converter with opts.
func NewConverter(opts Options) *Converter {
	c := &Converter{dates: map[string]bool{}, suffix: !opts.NoDateSuffix}
	for _, f := range opts.DateFields {
		c.dates[f] = true
		c.dates[FieldName(f)] = true
	}
	c.pool.New = func() any { return hamba.NewReader(nil, 0) }
	return c
}

// FieldName returns the table's name of an Avro field: its first letter
// lowercased ("PaymentReference" -> "paymentReference", "Id" -> "id").
func FieldName(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+('a'-'A')) + s[1:]
}

func (c *Converter) isDate(avroName string) bool {
	return c.suffix && strings.HasSuffix(avroName, DateSuffix) || c.dates[avroName] || c.dates[FieldName(avroName)]
}

// Image decodes body, Avro binary written with schema (a record), into an
// image. An *Error says why it cannot.
func (c *Converter) Image(schema hamba.Schema, body []byte) (ddbjson.Map, error) {
	if ref, ok := schema.(*hamba.RefSchema); ok {
		schema = ref.Schema()
	}
	if schema.Type() != hamba.Record {
		return nil, errorf("schema is a %s, want a record", schema.Type())
	}
	r := c.pool.Get().(*hamba.Reader)
	defer c.pool.Put(r)
	r.Reset(body)
	r.Error = nil
	cv := conv{c: c, r: r, budget: 8*len(body) + 1024}
	v := cv.value(schema, false, 0)
	if err := cv.failure(); err != nil {
		return nil, err
	}
	if r.Peek(); r.Error == nil {
		return nil, errorf("bytes are left after the record: it was not written with this schema")
	}
	return v.Map, nil
}

// conv is the state of one conversion.
type conv struct {
	c      *Converter
	r      *hamba.Reader
	path   []step
	budget int // array and map items still allowed (zero-width items cost no bytes)
	err    string
}

// step is one element of the path to the value being read, for reasons.
type step struct {
	name  string
	index int
}

func (cv *conv) failed() bool { return cv.err != "" || cv.r.Error != nil }

func (cv *conv) fail(format string, args ...any) {
	if cv.err == "" {
		cv.err = fmt.Sprintf(format, args...)
	}
}

func (cv *conv) where() string {
	var b strings.Builder
	for _, s := range cv.path {
		if s.name == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	if b.Len() == 0 {
		return "the record"
	}
	return b.String()
}

func (cv *conv) failure() error {
	switch {
	case cv.err != "":
		return errorf("%s: %s", cv.where(), cv.err)
	case cv.r.Error == nil:
		return nil
	case errors.Is(cv.r.Error, io.EOF), errors.Is(cv.r.Error, io.ErrUnexpectedEOF):
		return errorf("the message ends inside %s: it is truncated, or was not written with this schema", cv.where())
	}
	return errorf("%s: %s", cv.where(), strings.TrimPrefix(cv.r.Error.Error(), "avro: "))
}

func (cv *conv) value(s hamba.Schema, date bool, depth int) ddbjson.Value {
	if depth > ddbjson.MaxDepth {
		cv.fail("nested deeper than %d levels", ddbjson.MaxDepth)
		return ddbjson.Value{}
	}
	switch s.Type() {
	case hamba.Null:
		return ddbjson.Null()
	case hamba.Boolean:
		return ddbjson.Bool(cv.r.ReadBool())
	case hamba.Int:
		return cv.integer(s, int64(cv.r.ReadInt()), date, true)
	case hamba.Long:
		return cv.integer(s, cv.r.ReadLong(), date, false)
	case hamba.Float:
		return cv.float(float64(cv.r.ReadFloat()), 32)
	case hamba.Double:
		return cv.float(cv.r.ReadDouble(), 64)
	case hamba.String:
		return cv.str(cv.r.ReadString())
	case hamba.Bytes:
		return cv.bytes(s, cv.r.ReadBytes())
	case hamba.Fixed:
		b := make([]byte, s.(*hamba.FixedSchema).Size())
		cv.r.Read(b)
		return cv.bytes(s, b)
	case hamba.Enum:
		i := cv.r.ReadInt()
		sym, ok := s.(*hamba.EnumSchema).Symbol(int(i))
		if !ok && !cv.failed() {
			cv.fail("enum index %d is not a symbol of %s", i, s.(*hamba.EnumSchema).FullName())
		}
		return ddbjson.S(sym)
	case hamba.Array:
		return cv.array(s.(*hamba.ArraySchema).Items(), date, depth)
	case hamba.Map:
		return cv.mapValue(s.(*hamba.MapSchema).Values(), depth)
	case hamba.Record:
		return cv.record(s.(*hamba.RecordSchema), depth)
	case hamba.Union:
		types := s.(*hamba.UnionSchema).Types()
		i := cv.r.ReadLong()
		if cv.failed() {
			return ddbjson.Value{}
		}
		if i < 0 || i >= int64(len(types)) {
			cv.fail("union branch %d does not exist (the union has %d)", i, len(types))
			return ddbjson.Value{}
		}
		return cv.value(types[i], date, depth)
	case hamba.Ref:
		return cv.value(s.(*hamba.RefSchema).Schema(), date, depth+1)
	}
	cv.fail("unsupported Avro type %s", s.Type())
	return ddbjson.Value{}
}

func logical(s hamba.Schema) hamba.LogicalType {
	if ls, ok := s.(hamba.LogicalTypeSchema); ok && ls.Logical() != nil {
		return ls.Logical().Type()
	}
	return ""
}

// integer converts an int or long, by its logical type or as a date by
// its field's name.
func (cv *conv) integer(s hamba.Schema, v int64, date, isInt bool) ddbjson.Value {
	if cv.failed() {
		return ddbjson.Value{}
	}
	switch logical(s) {
	case hamba.Date:
		return cv.date(v*86400, 0)
	case hamba.TimestampMillis, hamba.LocalTimestampMillis:
		return cv.date(floorDiv(v, 1e3), floorMod(v, 1e3)*1e6)
	case hamba.TimestampMicros, hamba.LocalTimestampMicros:
		return cv.date(floorDiv(v, 1e6), floorMod(v, 1e6)*1e3)
	}
	if date {
		if v == EmptyDate || (!isInt && v == math.MinInt64) {
			return ddbjson.Null()
		}
		return cv.date(v, 0)
	}
	return ddbjson.N(strconv.FormatInt(v, 10))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// The table's dates are years 0001 to 9999.
const minUnix, maxUnix = -62135596800, 253402300799

func (cv *conv) date(sec, nsec int64) ddbjson.Value {
	if sec < minUnix || sec > maxUnix {
		cv.fail("date %d (Unix seconds) is out of range (years 1 to 9999)", sec)
		return ddbjson.Value{}
	}
	return ddbjson.S(time.Unix(sec, nsec).UTC().Format(DateLayout))
}

// DynamoDB's number range: 38 significant digits, 1E-130 to 9.99E+125.
const maxNumber, minNumber = 9.99e125, 1e-130

func (cv *conv) float(f float64, bits int) ddbjson.Value {
	if cv.failed() {
		return ddbjson.Value{}
	}
	if a := math.Abs(f); math.IsNaN(f) || a > maxNumber || a != 0 && a < minNumber {
		cv.fail("%v cannot be a DynamoDB number", f)
		return ddbjson.Value{}
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-7 || a >= 1e21) {
		format = 'g'
	}
	return ddbjson.N(strconv.FormatFloat(f, format, -1, bits))
}

func (cv *conv) str(s string) ddbjson.Value {
	if cv.failed() {
		return ddbjson.Value{}
	}
	if !utf8.ValidString(s) {
		cv.fail("string is not valid UTF-8")
		return ddbjson.Value{}
	}
	return ddbjson.S(s)
}

func (cv *conv) bytes(s hamba.Schema, b []byte) ddbjson.Value {
	if cv.failed() {
		return ddbjson.Value{}
	}
	if logical(s) != hamba.Decimal {
		return ddbjson.B(b)
	}
	scale := s.(hamba.LogicalTypeSchema).Logical().(*hamba.DecimalLogicalSchema).Scale()
	return ddbjson.N(decimalString(b, scale))
}

// decimalString renders a two's complement big-endian unscaled integer
// with scale digits after the point.
func decimalString(b []byte, scale int) string {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	s := n.String()
	if scale <= 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}

// spend takes one array or map item from the budget: a block count can
// claim billions of items of a type that takes no bytes.
func (cv *conv) spend() bool {
	cv.budget--
	if cv.budget < 0 {
		cv.fail("more array or map items than the message can hold")
		return false
	}
	return true
}

// blocks reads Avro blocks, calling item for each item until it fails.
func (cv *conv) blocks(item func(i int) bool) {
	i := 0
	for !cv.failed() {
		n, _ := cv.r.ReadBlockHeader()
		if cv.failed() || n == 0 {
			return
		}
		if n < 0 {
			cv.fail("negative block count")
			return
		}
		for ; n > 0; n-- {
			if !cv.spend() || !item(i) || cv.failed() {
				return
			}
			i++
		}
	}
}

func (cv *conv) array(items hamba.Schema, date bool, depth int) ddbjson.Value {
	list := []ddbjson.Value{}
	cv.blocks(func(i int) bool {
		cv.path = append(cv.path, step{index: i})
		v := cv.value(items, date, depth+1)
		if cv.failed() {
			return false
		}
		cv.path = cv.path[:len(cv.path)-1]
		list = append(list, v)
		return true
	})
	return ddbjson.L(list...)
}

func (cv *conv) mapValue(values hamba.Schema, depth int) ddbjson.Value {
	m := ddbjson.Map{}
	cv.blocks(func(int) bool {
		k := cv.r.ReadString()
		if cv.failed() {
			return false
		}
		if !utf8.ValidString(k) {
			cv.fail("map key is not valid UTF-8")
			return false
		}
		cv.path = append(cv.path, step{name: k})
		v := cv.value(values, false, depth+1)
		if cv.failed() {
			return false
		}
		cv.path = cv.path[:len(cv.path)-1]
		m[strings.Clone(k)] = v
		return true
	})
	return ddbjson.M(m)
}

// field is what the conversion needs of a record field, worked out once
// per schema.
type field struct {
	name string // the table's name
	date bool
}

// fields returns the plan of rs's fields (cached per schema).
func (c *Converter) fields(rs *hamba.RecordSchema) []field {
	if v, ok := c.plans.Load(rs); ok {
		return v.([]field)
	}
	fs := make([]field, len(rs.Fields()))
	for i, f := range rs.Fields() {
		fs[i] = field{name: FieldName(f.Name()), date: c.isDate(f.Name())}
	}
	c.plans.Store(rs, fs)
	return fs
}

func (cv *conv) record(rs *hamba.RecordSchema, depth int) ddbjson.Value {
	fields := rs.Fields()
	plan := cv.c.fields(rs)
	m := make(ddbjson.Map, len(fields))
	for i, f := range fields {
		cv.path = append(cv.path, step{name: f.Name()})
		v := cv.value(f.Type(), plan[i].date, depth+1)
		if cv.failed() {
			return ddbjson.Value{}
		}
		name := plan[i].name
		if _, dup := m[name]; dup {
			cv.fail("two fields of %s become %q", rs.FullName(), name)
			return ddbjson.Value{}
		}
		cv.path = cv.path[:len(cv.path)-1]
		m[name] = v
	}
	return ddbjson.M(m)
}
