package lake

import (
	"math/big"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in                string
		ok                bool
		scale, intDigits  int
		integer           bool
		neg               bool
		unscaled2         int64 // value × 10^2
		unscaled2OK       bool
		unscaledInt64     int64
		unscaledInt64Fits bool
	}{
		{"123.45", true, 2, 3, false, false, 12345, true, 0, false},
		{"-0.5", true, 1, 0, false, true, -50, true, 0, false},
		{"7", true, 0, 1, true, false, 700, true, 7, true},
		{"1.50", true, 2, 1, false, false, 150, true, 0, false},
		{"12.0", true, 1, 2, true, false, 1200, true, 12, true},
		{"1.5e2", true, 0, 3, true, false, 15000, true, 150, true},
		{"1e-5", true, 5, 0, false, false, 0, false, 0, false},
		{"0.000", true, 3, 0, true, false, 0, true, 0, true},
		{"+3", true, 0, 1, true, false, 300, true, 3, true},
		{".5", true, 1, 0, false, false, 50, true, 0, false},
		{"5.", true, 0, 1, true, false, 500, true, 5, true},
		{"007", true, 0, 1, true, false, 700, true, 7, true},
		{"-9223372036854775808", true, 0, 19, true, true, 0, false, -9223372036854775808, true},
		{"9223372036854775808", true, 0, 19, true, false, 0, false, 0, false},
		{"", false, 0, 0, false, false, 0, false, 0, false},
		{"1e", false, 0, 0, false, false, 0, false, 0, false},
		{"abc", false, 0, 0, false, false, 0, false, 0, false},
		{"1e99999", false, 0, 0, false, false, 0, false, 0, false},
	}
	for _, tc := range tests {
		n, ok := parseNumber(tc.in)
		if ok != tc.ok {
			t.Errorf("parseNumber(%q) ok=%v", tc.in, ok)
			continue
		}
		if !ok {
			continue
		}
		if n.scale() != tc.scale || n.intDigits() != tc.intDigits || n.isInteger() != tc.integer || n.neg != tc.neg {
			t.Errorf("%q: scale %d intDigits %d integer %v neg %v", tc.in, n.scale(), n.intDigits(), n.isInteger(), n.neg)
		}
		u, ok := n.unscaledInt64(2, maxDecimal18)
		if ok != tc.unscaled2OK || (ok && u != tc.unscaled2) {
			t.Errorf("%q: unscaled(2) = %d, %v", tc.in, u, ok)
		}
		i, ok := n.unscaledInt64(0, 1<<63)
		if ok != tc.unscaledInt64Fits || (ok && i != tc.unscaledInt64) {
			t.Errorf("%q: int64 = %d, %v", tc.in, i, ok)
		}
	}
}

func TestDecimal18Limit(t *testing.T) {
	n, _ := parseNumber("9999999999999999.99")
	if u, ok := n.unscaledInt64(2, maxDecimal18); !ok || u != 999999999999999999 {
		t.Errorf("got %d %v", u, ok)
	}
	n, _ = parseNumber("10000000000000000.00")
	if _, ok := n.unscaledInt64(2, maxDecimal18); ok {
		t.Error("19 digits fit decimal(18,2)")
	}
}

func TestInt128(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "12345678901234567890123456789012345678", "-12345678901234567890123456789012345678", "-18446744073709551616"} {
		v, _ := new(big.Int).SetString(s, 10)
		var b [16]byte
		putInt128(b[:], v)
		// Decode as two's complement.
		got := new(big.Int).SetBytes(b[:])
		if b[0]&0x80 != 0 {
			got.Sub(got, new(big.Int).Lsh(big.NewInt(1), 128))
		}
		if got.Cmp(v) != 0 {
			t.Errorf("%s: round trip gave %s", s, got)
		}
	}
}

func TestUnscaledBig(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  string
		ok    bool
	}{
		{"12345678901234567.25", 2, "1234567890123456725", true},
		{"-1e20", 3, "-100000000000000000000000", true},
		{"0", 5, "0", true},
		{"1.234", 2, "", false},
		{"1e38", 0, "", false},
		{"99999999999999999999999999999999999999", 0, "99999999999999999999999999999999999999", true},
	}
	for _, tc := range tests {
		n, _ := parseNumber(tc.in)
		v, ok := n.unscaledBig(tc.scale)
		if ok != tc.ok || (ok && v.String() != tc.want) {
			t.Errorf("unscaledBig(%q, %d) = %v, %v; want %s, %v", tc.in, tc.scale, v, ok, tc.want, tc.ok)
		}
	}
}

func TestNumberValue(t *testing.T) {
	s := newShredder(&table{}, testNow)
	tests := []struct {
		nt   numType
		in   string
		want parquet.Value
		ok   bool
	}{
		{numType{typ: typeInt64}, "42", parquet.Int64Value(42), true},
		{numType{typ: typeInt64}, "4.2e1", parquet.Int64Value(42), true},
		{numType{typ: typeInt64}, "4.5", parquet.Value{}, false},
		{numType{typ: typeDecimal, scale: 2, precision: 18}, "123.45", parquet.Int64Value(12345), true},
		{numType{typ: typeDecimal, scale: 2, precision: 18}, "-7", parquet.Int64Value(-700), true},
		{numType{typ: typeDecimal, scale: 2, precision: 18}, "1.2300", parquet.Int64Value(123), true},
		{numType{typ: typeDecimal, scale: 2, precision: 18}, "1.234", parquet.Value{}, false},
		{numType{typ: typeDouble}, "0.1234567890123456789", parquet.DoubleValue(0.1234567890123456789), true},
		{numType{typ: typeDouble}, "x", parquet.Value{}, false},
	}
	for _, tc := range tests {
		got, ok := s.number(tc.nt, tc.in)
		if ok != tc.ok || (ok && !parquet.Equal(got, tc.want)) {
			t.Errorf("number(%+v, %q) = %v, %v", tc.nt, tc.in, got, ok)
		}
	}
	got, ok := s.number(numType{typ: typeDecimal, scale: 2, precision: 38}, "-1.5")
	if !ok || len(got.ByteArray()) != 16 {
		t.Fatalf("decimal(38,2): %v %v", got, ok)
	}
	if b := got.ByteArray(); b[0] != 0xff || b[15] != 0x6a { // -150
		t.Errorf("decimal(38,2) -1.5 bytes %x", b)
	}
}

// isInteger reports whether the value has no non-zero fractional digit.
func (n number) isInteger() bool {
	_, _, ok := n.scaled(0)
	return ok
}
