package ddbjson

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of maps and lists the decoders accept
// (DynamoDB itself allows 32 levels).
const MaxDepth = 64

// SyntaxError is a decoding error with the byte offset where it was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// ErrNotObject is returned when the top-level JSON value is not an object.
var ErrNotObject = errors.New("not a JSON object")

type parser struct {
	data  []byte
	pos   int
	depth int
	// str is data as one string, made on the first string read: strings
	// without escapes are substrings of it, so a decoded item costs one
	// string allocation instead of one per attribute name and value.
	str string
	// members and elems are stacks of the maps and lists being read, so
	// that each is allocated once at its final size.
	members []member
	elems   []Value
	// view makes strings without escapes views of data, not copies: for
	// a transcoding, whose strings do not outlive data.
	view bool
	// st is where the stacks came from, and go back to.
	st *stacks
}

type member struct {
	k string
	v Value
}

// stacks are the members and elems stacks of finished parsers, reused.
type stacks struct {
	members []member
	elems   []Value
}

var stackPool = sync.Pool{New: func() any { return new(stacks) }}

// newParser returns a parser of data with reused stacks; release gives
// them back.
func newParser(data []byte) parser {
	st := stackPool.Get().(*stacks)
	return parser{data: data, members: st.members[:0], elems: st.elems[:0], st: st}
}

func (p *parser) release() {
	if cap(p.members) > 4096 || cap(p.elems) > 4096 {
		return // an unusual item: do not keep its stacks
	}
	p.st.members, p.st.elems = p.members[:0], p.elems[:0]
	stackPool.Put(p.st)
}

// sub returns data[i:j] as a string sharing the parser's one copy.
func (p *parser) sub(i, j int) string {
	if p.view {
		return unsafeString(p.data[i:j])
	}
	if p.str == "" {
		p.str = string(p.data)
	}
	return p.str[i:j]
}

// makeMap pops the members from index base and returns them as a map of
// their exact size (a repeated name keeps its last value, as before).
func (p *parser) makeMap(base int) Map {
	ms := p.members[base:]
	m := make(Map, len(ms))
	for i := range ms {
		m[ms[i].k] = ms[i].v
		ms[i] = member{}
	}
	p.members = p.members[:base]
	return m
}

// makeList pops the elements from index base into a slice of their length.
func (p *parser) makeList(base int) []Value {
	es := p.elems[base:]
	l := make([]Value, len(es))
	copy(l, es)
	clear(es)
	p.elems = p.elems[:base]
	return l
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (p *parser) peek() byte {
	p.skipSpace()
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *parser) expect(c byte) error {
	if p.peek() != c {
		if p.pos >= len(p.data) {
			return p.errf("unexpected end of input, want %q", c)
		}
		return p.errf("unexpected %q, want %q", p.data[p.pos], c)
	}
	p.pos++
	return nil
}

func (p *parser) end() error {
	// Not peek: it returns 0 for a NUL byte as well as for the end.
	p.skipSpace()
	if p.pos < len(p.data) {
		return p.errf("unexpected data after the value")
	}
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errf("nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

// parseString reads a JSON string, checking UTF-8 and escapes.
func (p *parser) parseString() (string, error) {
	b, at, err := p.parseStringBytes()
	switch {
	case err != nil || at < 0:
		return string(b), err
	case p.view:
		return unsafeString(b), nil
	}
	return p.sub(at, at+len(b)), nil
}

// parseStringBytes reads a JSON string, checking UTF-8 and escapes. A
// string without escapes is returned in place (a slice of data) with its
// offset; one with escapes in a new buffer, with offset -1.
func (p *parser) parseStringBytes() ([]byte, int, error) {
	if err := p.expect('"'); err != nil {
		return nil, -1, err
	}
	start := p.pos
	// Fast path: no escapes, plain ASCII or valid UTF-8. Eight bytes at a
	// time while none of them is a quote, a backslash or a control
	// character, then byte by byte.
	var high byte // the bits of every byte or'ed: 0x80 set if not ASCII
	var high8 uint64
	for p.pos+8 <= len(p.data) {
		w := binary.LittleEndian.Uint64(p.data[p.pos:])
		if special8(w) {
			break
		}
		high8 |= w
		p.pos += 8
	}
	if high8&swarHigh != 0 {
		high = 0x80
	}
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if plainByte[c] {
			high |= c
			p.pos++
			continue
		}
		if c == '"' {
			raw := p.data[start:p.pos]
			p.pos++
			if high >= utf8.RuneSelf && !utf8.Valid(raw) {
				return nil, -1, &SyntaxError{Offset: start, Msg: "invalid UTF-8 in string"}
			}
			return raw, start, nil
		}
		if c == '\\' {
			break
		}
		return nil, -1, p.errf("control character 0x%02x in string", c)
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				return nil, -1, &SyntaxError{Offset: start, Msg: "invalid UTF-8 in string"}
			}
			return buf, -1, nil
		case c < 0x20:
			return nil, -1, p.errf("control character 0x%02x in string", c)
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.data) {
			break
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return nil, -1, p.errf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
					p.pos += 2
					if r2, ok = p.hex4(); !ok {
						return nil, -1, p.errf("bad \\u escape")
					}
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return nil, -1, p.errf("unpaired UTF-16 surrogate in \\u escape")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, -1, p.errf("bad escape \\%c", e)
		}
	}
	return nil, -1, p.errf("unterminated string")
}

const (
	swarOnes  = 0x0101010101010101
	swarHigh  = 0x8080808080808080
	swarQuote = '"' * swarOnes
	swarBack  = '\\' * swarOnes
	swarSpace = 0x20 * swarOnes
)

// special8 reports whether one of the eight bytes of w may be a quote, a
// backslash or a control character (below 0x20). It may report a byte
// that is none of these after one that is, never miss one: the caller
// then looks byte by byte.
func special8(w uint64) bool {
	zero := func(x uint64) uint64 { return (x - swarOnes) &^ x & swarHigh } // a byte of x is 0
	return (zero(w^swarQuote) | zero(w^swarBack) | ((w - swarSpace) &^ w & swarHigh)) != 0
}

// plainByte is true for the bytes that stand for themselves in a JSON
// string: all but the quote, the backslash and control characters.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

// parseNumberLiteral reads a bare JSON number and returns it as written.
func (p *parser) parseNumberLiteral() (string, error) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if isDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.pos++
			continue
		}
		break
	}
	s := p.sub(start, p.pos)
	if !validJSONNumber(s) {
		return "", &SyntaxError{Offset: start, Msg: fmt.Sprintf("invalid number %q", s)}
	}
	return s, nil
}

func (p *parser) literal(word string) error {
	p.skipSpace()
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errf("invalid literal, want %s", word)
	}
	p.pos += len(word)
	return nil
}

func (p *parser) parseBool() (bool, error) {
	switch p.peek() {
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	}
	return false, p.errf("want true or false")
}

// object calls fn for each member of a JSON object; fn must consume the value.
func (p *parser) object(fn func(key string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	if p.peek() == '}' {
		p.pos++
		p.depth--
		return nil
	}
	for {
		k, err := p.parseString()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.depth--
			return nil
		default:
			return p.errf("want , or } in object")
		}
	}
}

// array calls fn for each element of a JSON array; fn must consume the value.
func (p *parser) array(fn func() error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	if p.peek() == ']' {
		p.pos++
		p.depth--
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.depth--
			return nil
		default:
			return p.errf("want , or ] in array")
		}
	}
}

// parsePlain reads any JSON value as an attribute value: objects become M,
// arrays L, numbers N (exact), strings S, booleans BOOL and null NULL.
func (p *parser) parsePlain() (Value, error) {
	switch c := p.peek(); {
	case c == '{':
		base := len(p.members)
		err := p.object(func(k string) error {
			v, err := p.parsePlain()
			p.members = append(p.members, member{k, v})
			return err
		})
		return M(p.makeMap(base)), err
	case c == '[':
		base := len(p.elems)
		err := p.array(func() error {
			v, err := p.parsePlain()
			p.elems = append(p.elems, v)
			return err
		})
		return L(p.makeList(base)...), err
	case c == '"':
		s, err := p.parseString()
		return S(s), err
	case c == 't' || c == 'f':
		b, err := p.parseBool()
		return Bool(b), err
	case c == 'n':
		return Null(), p.literal("null")
	case c == '-' || isDigit(c):
		n, err := p.parseNumberLiteral()
		return N(n), err
	case c == 0:
		return Value{}, p.errf("unexpected end of input")
	default:
		return Value{}, p.errf("unexpected %q", c)
	}
}

// parseAttrMap reads a DynamoDB JSON map: {"name": {"S": "..."}, ...}.
func (p *parser) parseAttrMap() (Map, error) {
	base := len(p.members)
	err := p.object(func(k string) error {
		v, err := p.parseAttr()
		if err != nil {
			return fmt.Errorf("attribute %q: %w", k, err)
		}
		p.members = append(p.members, member{k, v})
		return nil
	})
	return p.makeMap(base), err
}

// parseAttr reads one DynamoDB JSON attribute value: {"TYPE": value}.
func (p *parser) parseAttr() (Value, error) {
	var v Value
	err := p.attrValue(func(typ string) error {
		var err error
		v, err = p.parseTyped(typ)
		return err
	})
	return v, err
}

// attrValue reads the {"TYPE": value} wrapper of one attribute value,
// calling read with the type to read the value.
func (p *parser) attrValue(read func(typ string) error) error {
	seen := false
	// The {"TYPE": ...} wrapper is not a level of nesting: only the maps and
	// lists inside count towards MaxDepth, as in plain JSON.
	p.depth--
	err := p.object(func(typ string) error {
		if seen {
			return p.errf("attribute value with more than one type")
		}
		seen = true
		return read(typ)
	})
	p.depth++
	if err == nil && !seen {
		err = p.errf("attribute value with no type")
	}
	return err
}

func (p *parser) parseTyped(typ string) (Value, error) {
	switch typ {
	case "S":
		s, err := p.parseString()
		return S(s), err
	case "N":
		s, err := p.parseString()
		if err == nil && !ValidNumber(s) {
			err = p.errf("invalid number %q", s)
		}
		return N(s), err
	case "B":
		b, err := p.parseBase64()
		return B(b), err
	case "BOOL":
		b, err := p.parseBool()
		return Bool(b), err
	case "NULL":
		b, err := p.parseBool()
		if err == nil && !b {
			err = p.errf("NULL must be true")
		}
		return Null(), err
	case "M":
		m, err := p.parseAttrMap()
		return M(m), err
	case "L":
		base := len(p.elems)
		err := p.array(func() error {
			v, err := p.parseAttr()
			p.elems = append(p.elems, v)
			return err
		})
		return L(p.makeList(base)...), err
	case "SS", "NS":
		ss := []string{}
		err := p.array(func() error {
			s, err := p.parseString()
			if err == nil && typ == "NS" && !ValidNumber(s) {
				err = p.errf("invalid number %q in NS", s)
			}
			ss = append(ss, s)
			return err
		})
		if typ == "SS" {
			return SS(ss...), err
		}
		return NS(ss...), err
	case "BS":
		bs := [][]byte{}
		err := p.array(func() error {
			b, err := p.parseBase64()
			bs = append(bs, b)
			return err
		})
		return BS(bs...), err
	}
	return Value{}, p.errf("unknown attribute type %q", typ)
}

func (p *parser) parseBase64() ([]byte, error) {
	start := p.pos
	s, err := p.parseString()
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, &SyntaxError{Offset: start, Msg: fmt.Sprintf("invalid base64: %v", err)}
	}
	return b, nil
}
