package ddbjson

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Transcoding reads DynamoDB JSON straight into the binary form, without
// building a Map: a bootstrap stores each export item as it is, so the
// decoded map would only be encoded again. The result equals
// AppendBinary(DecodeExportLine(line)) byte for byte, and a bad line fails
// with the same error (fuzzed against each other).

// span is one member of a map being transcoded: its name and where its
// encoded bytes (name, then value) sit in the output.
type span struct {
	key        string
	start, end int
}

// transcoder is the state of one transcoding, kept by the parser.
type transcoder struct {
	out   []byte
	spans []span // members of the maps being read, innermost last
	tmp   []byte // a finished map's members, while they are sorted
	b64   []byte // a decoded B value
}

var transcoderPool = sync.Pool{New: func() any { return new(transcoder) }}

func (t *transcoder) release() {
	t.out = nil
	if cap(t.spans) > 4096 || cap(t.tmp) > 1<<20 || cap(t.b64) > 1<<20 {
		return // an unusual item: do not keep its buffers
	}
	clear(t.spans)
	t.spans = t.spans[:0]
	transcoderPool.Put(t)
}

// TranscodeExportLine reads one line of a DynamoDB full export,
// {"Item": {...}}, and appends the item in the binary form (AppendBinary)
// to dst. The line is checked as DecodeExportLine checks it.
func TranscodeExportLine(dst, line []byte) ([]byte, error) {
	p := newParser(line)
	p.depth = -1 // the {"Item": ...} wrapper is not a level of nesting
	p.view = true
	defer p.release()
	t := transcoderPool.Get().(*transcoder)
	t.out = dst
	defer t.release()
	if p.peek() != '{' {
		return dst, ErrNotObject
	}
	got := false
	err := p.object(func(k string) error {
		if k != "Item" {
			return p.errf("unexpected member %q in export line, want Item", k)
		}
		if got {
			return p.errf("duplicate Item in export line")
		}
		got = true
		return p.binAttrMap(t)
	})
	if err == nil {
		err = p.end()
	}
	if err == nil && !got {
		err = fmt.Errorf("export line has no Item")
	}
	if err != nil {
		return dst, err
	}
	return t.out, nil
}

// binAttrMap transcodes a DynamoDB JSON map: its members are written as
// they come, then put in name order (a repeated name keeps its last value,
// as in a decoded Map) behind their count.
func (p *parser) binAttrMap(t *transcoder) error {
	base, start := len(t.spans), len(t.out)
	err := p.object(func(k string) error {
		at := len(t.out)
		t.out = appendBytes(t.out, k)
		if err := p.binAttr(t); err != nil {
			return fmt.Errorf("attribute %q: %w", k, err)
		}
		t.spans = append(t.spans, span{k, at, len(t.out)})
		return nil
	})
	if err != nil {
		return err
	}
	t.finishMap(base, start)
	return nil
}

// finishMap rewrites the members written from start (spans from base) in
// name order, behind their count.
func (t *transcoder) finishMap(base, start int) {
	ms := t.spans[base:]
	// By name, then by position: equal names keep their order without a
	// stable sort (insertion sort's n² compares on a 30-attribute item).
	slices.SortFunc(ms, func(a, b span) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.start - b.start
	})
	// Of repeated names, keep the last written (the last of each run).
	kept := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue
		}
		kept = append(kept, m)
	}
	t.tmp = append(t.tmp[:0], t.out[start:]...)
	t.out = binary.AppendUvarint(t.out[:start], uint64(len(kept)))
	for _, m := range kept {
		t.out = append(t.out, t.tmp[m.start-start:m.end-start]...)
	}
	clear(ms)
	t.spans = t.spans[:base]
}

// insertCount puts the count of a list or set's elements, written from
// start, before them.
func (t *transcoder) insertCount(start, n int) {
	var c [binary.MaxVarintLen64]byte
	t.out = slices.Insert(t.out, start, binary.AppendUvarint(c[:0], uint64(n))...)
}

// binAttr transcodes one attribute value: {"TYPE": value}.
func (p *parser) binAttr(t *transcoder) error {
	return p.attrValue(func(typ string) error { return p.binTyped(t, typ) })
}

func (p *parser) binTyped(t *transcoder, typ string) error {
	switch typ {
	case "S":
		b, _, err := p.parseStringBytes()
		t.out = appendBytes(append(t.out, byte(KindS)), unsafeString(b))
		return err
	case "N":
		b, _, err := p.parseStringBytes()
		if err == nil && !ValidNumber(unsafeString(b)) {
			err = p.errf("invalid number %q", b)
		}
		t.out = appendBytes(append(t.out, byte(KindN)), unsafeString(b))
		return err
	case "B":
		b, err := p.binBase64(t)
		t.out = appendBytes(append(t.out, byte(KindB)), unsafeString(b))
		return err
	case "BOOL":
		b, err := p.parseBool()
		t.out = append(t.out, byte(KindBOOL), boolByte(b))
		return err
	case "NULL":
		b, err := p.parseBool()
		if err == nil && !b {
			err = p.errf("NULL must be true")
		}
		t.out = append(t.out, byte(KindNULL))
		return err
	case "M":
		t.out = append(t.out, byte(KindM))
		return p.binAttrMap(t)
	case "L":
		t.out = append(t.out, byte(KindL))
		start, n := len(t.out), 0
		err := p.array(func() error {
			n++
			return p.binAttr(t)
		})
		t.insertCount(start, n)
		return err
	case "SS", "NS":
		kind := KindSS
		if typ == "NS" {
			kind = KindNS
		}
		t.out = append(t.out, byte(kind))
		start, n := len(t.out), 0
		err := p.array(func() error {
			b, _, err := p.parseStringBytes()
			if err == nil && kind == KindNS && !ValidNumber(unsafeString(b)) {
				err = p.errf("invalid number %q in NS", b)
			}
			t.out = appendBytes(t.out, unsafeString(b))
			n++
			return err
		})
		t.insertCount(start, n)
		return err
	case "BS":
		t.out = append(t.out, byte(KindBS))
		start, n := len(t.out), 0
		err := p.array(func() error {
			b, err := p.binBase64(t)
			t.out = appendBytes(t.out, unsafeString(b))
			n++
			return err
		})
		t.insertCount(start, n)
		return err
	}
	return p.errf("unknown attribute type %q", typ)
}

// binBase64 reads a base64 string into t.b64 (valid until the next call).
func (p *parser) binBase64(t *transcoder) ([]byte, error) {
	start := p.pos
	s, _, err := p.parseStringBytes()
	if err != nil {
		return nil, err
	}
	t.b64 = slices.Grow(t.b64[:0], base64.StdEncoding.DecodedLen(len(s)))[:base64.StdEncoding.DecodedLen(len(s))]
	n, err := base64.StdEncoding.Decode(t.b64, s)
	if err != nil {
		return nil, &SyntaxError{Offset: start, Msg: fmt.Sprintf("invalid base64: %v", err)}
	}
	return t.b64[:n], nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// RawGet returns the value of one top-level attribute of a binary map
// (AppendBinary), read in place; ok is false when the map has no such name.
func RawGet(data []byte, name string) (v RawValue, ok bool, err error) {
	n, rest, err := rawCount(data)
	if err != nil {
		return RawValue{}, false, err
	}
	for i := 0; i < n; i++ {
		var k []byte
		if k, rest, err = rawBytes(rest); err != nil {
			return RawValue{}, false, err
		}
		if v, rest, err = rawValue(rest, 0); err != nil {
			return RawValue{}, false, err
		}
		switch c := strings.Compare(unsafeString(k), name); {
		case c == 0:
			return v, true, nil
		case c > 0:
			return RawValue{}, false, nil // names are in order: it is not there
		}
	}
	return RawValue{}, false, nil
}
