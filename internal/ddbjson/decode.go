package ddbjson

import (
	"fmt"
	"time"
)

// DecodeMap decodes a DynamoDB JSON map such as {"id":{"S":"x"},"n":{"N":"1"}}.
func DecodeMap(data []byte) (Map, error) {
	p := newParser(data)
	defer p.release()
	if p.peek() != '{' {
		return nil, ErrNotObject
	}
	m, err := p.parseAttrMap()
	if err == nil {
		err = p.end()
	}
	return m, err
}

// DecodeValue decodes one DynamoDB JSON attribute value such as {"S":"x"}.
func DecodeValue(data []byte) (Value, error) {
	p := newParser(data)
	defer p.release()
	v, err := p.parseAttr()
	if err == nil {
		err = p.end()
	}
	return v, err
}

// DecodeExportLine decodes one line of a DynamoDB full export in DynamoDB
// JSON: {"Item": {...}}. Other top-level members are an error.
func DecodeExportLine(line []byte) (Map, error) {
	// The {"Item": ...} wrapper is not a level of nesting of the item.
	p := newParser(line)
	p.depth = -1
	defer p.release()
	if p.peek() != '{' {
		return nil, ErrNotObject
	}
	var item Map
	err := p.object(func(k string) error {
		if k != "Item" {
			return p.errf("unexpected member %q in export line, want Item", k)
		}
		if item != nil {
			return p.errf("duplicate Item in export line")
		}
		var err error
		item, err = p.parseAttrMap()
		return err
	})
	if err == nil {
		err = p.end()
	}
	if err == nil && item == nil {
		err = fmt.Errorf("export line has no Item")
	}
	return item, err
}

// FromJSON decodes plain JSON (as Hackney events carry entity data) into an
// attribute value: objects become M, arrays L, numbers N kept exactly as
// written, strings S, booleans BOOL and null NULL.
func FromJSON(data []byte) (Value, error) {
	p := newParser(data)
	defer p.release()
	v, err := p.parsePlain()
	if err == nil {
		err = p.end()
	}
	return v, err
}

// IncrementalLine is one line of a DynamoDB incremental export: the item's
// keys, its image after the change (nil for a delete), its image before,
// and when it was written.
type IncrementalLine struct {
	Keys      Map
	NewImage  Map
	OldImage  Map
	WriteTime time.Time
}

// DecodeIncrementalLine decodes {"Metadata":{"WriteTime":{"N":"<µs>"}},
// "Keys":{...},"NewImage":{...},"OldImage":{...}}.
func DecodeIncrementalLine(line []byte) (IncrementalLine, error) {
	var out IncrementalLine
	p := newParser(line)
	defer p.release()
	if p.peek() != '{' {
		return out, ErrNotObject
	}
	err := p.object(func(k string) error {
		var err error
		switch k {
		case "Keys":
			out.Keys, err = p.parseAttrMap()
		case "NewImage":
			out.NewImage, err = p.parseAttrMap()
		case "OldImage":
			out.OldImage, err = p.parseAttrMap()
		case "Metadata":
			var meta Map
			if meta, err = p.parseAttrMap(); err == nil {
				if wt, ok := meta["WriteTime"]; ok {
					out.WriteTime, err = microsTime(wt)
				}
			}
		default:
			err = p.errf("unexpected member %q in incremental export line", k)
		}
		return err
	})
	if err == nil {
		err = p.end()
	}
	if err == nil && len(out.Keys) == 0 {
		err = fmt.Errorf("incremental export line has no Keys")
	}
	return out, err
}

// microsTime reads a WriteTime: microseconds since the epoch, as N.
func microsTime(v Value) (time.Time, error) {
	if v.Kind != KindN {
		return time.Time{}, fmt.Errorf("WriteTime is %s, want N", v.Kind)
	}
	us, ok := Int64(v.Str)
	if !ok || us <= 0 {
		return time.Time{}, fmt.Errorf("WriteTime %q is not microseconds since the epoch", v.Str)
	}
	t := time.UnixMicro(us).UTC()
	if t.Year() >= 2200 {
		return time.Time{}, fmt.Errorf("WriteTime %q is out of range", v.Str)
	}
	return t, nil
}
