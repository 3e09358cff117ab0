package ddbjson

import "fmt"

// DecodeMap decodes a DynamoDB JSON map such as {"id":{"S":"x"},"n":{"N":"1"}}.
func DecodeMap(data []byte) (Map, error) {
	p := parser{data: data}
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
	p := parser{data: data}
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
	p := parser{data: line, depth: -1}
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
	p := parser{data: data}
	v, err := p.parsePlain()
	if err == nil {
		err = p.end()
	}
	return v, err
}
