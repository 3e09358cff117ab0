package ddbjson

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// AppendMap appends m as DynamoDB JSON with keys in byte order.
func AppendMap(dst []byte, m Map) []byte {
	dst = append(dst, '{')
	var arr [48]string
	for i, k := range m.appendSortedKeys(arr[:0]) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = AppendValue(dst, m[k])
	}
	return append(dst, '}')
}

// AppendValue appends v as DynamoDB JSON ({"S":"x"}, {"N":"1"}, ...). The
// zero Value is written as NULL.
func AppendValue(dst []byte, v Value) []byte {
	if v.Kind == KindInvalid {
		v = Null()
	}
	dst = append(dst, `{"`...)
	dst = append(dst, v.Kind.String()...)
	dst = append(dst, `":`...)
	switch v.Kind {
	case KindS, KindN:
		dst = appendString(dst, v.Str)
	case KindB:
		dst = appendBase64(dst, v.Bin)
	case KindBOOL:
		dst = appendBool(dst, v.Bool)
	case KindNULL:
		dst = append(dst, "true"...)
	case KindM:
		dst = AppendMap(dst, v.Map)
	case KindL:
		dst = append(dst, '[')
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValue(dst, e)
		}
		dst = append(dst, ']')
	case KindSS, KindNS:
		dst = append(dst, '[')
		for i, s := range v.Strs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		dst = append(dst, ']')
	case KindBS:
		dst = append(dst, '[')
		for i, b := range v.Bins {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendBase64(dst, b)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// AppendPlain appends v as plain JSON: maps as objects, lists and sets as
// arrays, numbers as number literals (exact), binary as base64 strings.
func AppendPlain(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindS:
		return appendString(dst, v.Str)
	case KindN:
		return appendPlainNumber(dst, v.Str)
	case KindB:
		return appendBase64(dst, v.Bin)
	case KindBOOL:
		return appendBool(dst, v.Bool)
	case KindM:
		return AppendPlainMap(dst, v.Map)
	case KindL:
		dst = append(dst, '[')
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendPlain(dst, e)
		}
		return append(dst, ']')
	case KindSS, KindNS:
		dst = append(dst, '[')
		for i, s := range v.Strs {
			if i > 0 {
				dst = append(dst, ',')
			}
			if v.Kind == KindNS {
				dst = appendPlainNumber(dst, s)
			} else {
				dst = appendString(dst, s)
			}
		}
		return append(dst, ']')
	case KindBS:
		dst = append(dst, '[')
		for i, b := range v.Bins {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendBase64(dst, b)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// AppendPlainMap appends m as a plain JSON object with keys in byte order.
func AppendPlainMap(dst []byte, m Map) []byte {
	dst = append(dst, '{')
	var arr [48]string
	for i, k := range m.appendSortedKeys(arr[:0]) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = AppendPlain(dst, m[k])
	}
	return append(dst, '}')
}

// appendPlainNumber appends the number s as written when JSON's grammar
// allows it, else the same number in a form it allows: DynamoDB accepts
// "+1", "007", ".5" and "5." where JSON does not.
func appendPlainNumber(dst []byte, s string) []byte {
	if validJSONNumber(s) || !ValidNumber(s) {
		return append(dst, s...)
	}
	switch s[0] {
	case '-':
		dst = append(dst, '-')
		s = s[1:]
	case '+':
		s = s[1:]
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i:]
	}
	whole, frac, _ := strings.Cut(mant, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	dst = append(dst, whole...)
	if frac != "" {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	return append(dst, exp...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does (the decoders never produce it).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
