package ddbjson

// TranscodeJSON reads one plain JSON value (as FromJSON reads it: objects
// are M, arrays L, numbers N kept exact, strings S, booleans BOOL, null
// NULL) and appends it to dst in the binary form of one value: its kind
// byte, then its body (for an object, a map as AppendBinary writes it).
// ReadRaw reads it back in place. No Map is built: an event's data is read
// from these bytes and patched into the stored item as they are.
//
// The bytes equal those of the value FromJSON returns, encoded, and a bad
// value fails with FromJSON's error (fuzzed against each other); on error
// dst is returned unchanged.
func TranscodeJSON(dst, data []byte) ([]byte, error) {
	p := newParser(data)
	p.view = true
	defer p.release()
	t := transcoderPool.Get().(*transcoder)
	t.out = dst
	defer t.release()
	err := p.binPlain(t)
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return dst, err
	}
	return t.out, nil
}

// binPlain transcodes one plain JSON value, as parsePlain reads it.
func (p *parser) binPlain(t *transcoder) error {
	switch c := p.peek(); {
	case c == '{':
		t.out = append(t.out, byte(KindM))
		base, start := len(t.spans), len(t.out)
		err := p.object(func(k string) error {
			at := len(t.out)
			t.out = appendBytes(t.out, k)
			err := p.binPlain(t)
			t.spans = append(t.spans, span{k, at, len(t.out)})
			return err
		})
		if err != nil {
			return err
		}
		t.finishMap(base, start)
		return nil
	case c == '[':
		t.out = append(t.out, byte(KindL))
		start, n := len(t.out), 0
		err := p.array(func() error {
			n++
			return p.binPlain(t)
		})
		if err != nil {
			return err
		}
		t.insertCount(start, n)
		return nil
	case c == '"':
		b, _, err := p.parseStringBytes()
		t.out = appendBytes(append(t.out, byte(KindS)), unsafeString(b))
		return err
	case c == 't' || c == 'f':
		b, err := p.parseBool()
		t.out = append(t.out, byte(KindBOOL), boolByte(b))
		return err
	case c == 'n':
		t.out = append(t.out, byte(KindNULL))
		return p.literal("null")
	case c == '-' || isDigit(c):
		n, err := p.parseNumberLiteral()
		t.out = appendBytes(append(t.out, byte(KindN)), n)
		return err
	case c == 0:
		return p.errf("unexpected end of input")
	default:
		return p.errf("unexpected %q", c)
	}
}
