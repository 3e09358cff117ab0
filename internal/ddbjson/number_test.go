package ddbjson

import (
	"math"
	"strconv"
	"testing"
)

func TestValidNumber(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"0", true},
		{"-0", true},
		{"+1", true},
		{"1.5", true},
		{"-1.5", true},
		{"0.1", true},
		{".5", true},
		{"5.", true},
		{"007", true},
		{"1e3", true},
		{"1E+3", true},
		{"1e-3", true},
		{"-1.25E-10", true},
		{"12345678901234567890123456789012345678", true},
		{"", false},
		{"-", false},
		{"+", false},
		{".", false},
		{"-.", false},
		{"e3", false},
		{"1e", false},
		{"1e+", false},
		{"1.2.3", false},
		{"1..2", false},
		{"--1", false},
		{"+-1", false},
		{"1-", false},
		{" 1", false},
		{"1 ", false},
		{"0x10", false},
		{"NaN", false},
		{"Infinity", false},
		{"1,5", false},
		{"1e3.5", false},
	}
	for _, tt := range tests {
		if got := ValidNumber(tt.s); got != tt.want {
			t.Errorf("ValidNumber(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestValidJSONNumber(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"0", true},
		{"-0", true},
		{"1.5", true},
		{"-0.5", true},
		{"1e3", true},
		{"1E+03", true},
		{"10", true},
		{"+1", false},
		{".5", false},
		{"-.5", false},
		{"5.", false},
		{"1.e3", false},
		{"007", false},
		{"-01", false},
		{"00", false},
		{"", false},
		{"1.2.3", false},
	}
	for _, tt := range tests {
		if got := validJSONNumber(tt.s); got != tt.want {
			t.Errorf("validJSONNumber(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestCanonicalNumber(t *testing.T) {
	tests := []struct {
		s, want string
	}{
		{"0", "0"},
		{"-0", "0"},
		{"-0.0", "0"},
		{"+0e10", "0"},
		{"000.000", "0"},
		{"1", "1"},
		{"+1", "1"},
		{"1.0", "1"},
		{"1.50", "15e-1"},
		{"15e-1", "15e-1"},
		{"0.15e1", "15e-1"},
		{"100", "1e2"},
		{"1e2", "1e2"},
		{"1E+3", "1e3"},
		{"1000", "1e3"},
		{"0.1", "1e-1"},
		{".1", "1e-1"},
		{"5.", "5"},
		{"-12.3400", "-1234e-2"},
		{"007", "7"},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
		{"1234567890123456789012345678901234567800", "12345678901234567890123456789012345678e2"},
		{"9.99E+125", "999e123"},
		{"1E-130", "1e-130"},
		// Not numbers, or exponents too large to handle: returned as written.
		{"abc", "abc"},
		{"1.2.3", "1.2.3"},
		{"", ""},
		{"1e99999999999999999999", "1e99999999999999999999"},
		{"-1e99999999999999999999", "-1e99999999999999999999"},
	}
	for _, tt := range tests {
		if got := CanonicalNumber(tt.s); got != tt.want {
			t.Errorf("CanonicalNumber(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// TestCanonicalNumberAgreesWithFloat checks, for numbers a float64 holds
// exactly, that equal canonical forms mean equal values and back.
func TestCanonicalNumberAgreesWithFloat(t *testing.T) {
	nums := []string{"0", "-0", "1", "1.0", "10", "1e1", "0.5", "5e-1", "-2.25", "-225e-2", "1024", "1.024e3", "3", "0.3e1", "7", "-7"}
	for _, a := range nums {
		for _, b := range nums {
			fa, _ := strconv.ParseFloat(a, 64)
			fb, _ := strconv.ParseFloat(b, 64)
			same := CanonicalNumber(a) == CanonicalNumber(b)
			if same != (fa == fb) {
				t.Errorf("%q vs %q: canonical equal = %v, float equal = %v", a, b, same, fa == fb)
			}
		}
	}
}

func TestInt64(t *testing.T) {
	tests := []struct {
		s    string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"-0", 0, true},
		{"7", 7, true},
		{"+7", 7, true},
		{"-42", -42, true},
		{"12.0", 12, true},
		{"12.000", 12, true},
		{"1.2e1", 12, true},
		{"1e3", 1000, true},
		{"1E+3", 1000, true},
		{"100e-2", 1, true},
		{"0.0", 0, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9.223372036854775807e18", math.MaxInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"1e19", 0, false},
		{"1e20", 0, false},
		{"1e99999999999999999999", 0, false},
		{"1.5", 0, false},
		{"0.1", 0, false},
		{"1e-1", 0, false},
		{"12345678901234567890123456789012345678", 0, false},
		{"", 0, false},
		{"abc", 0, false},
		{"1.2.3", 0, false},
	}
	for _, tt := range tests {
		got, ok := Int64(tt.s)
		// The value does not matter when ok is false.
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Int64(%q) = %d, %v; want %d, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}

// TestExactNumbersRoundTrip shows that numbers keep their exact text
// through every encoding, including values a float64 would change.
func TestExactNumbersRoundTrip(t *testing.T) {
	nums := []string{
		"0.1", "0.30000000000000004", "12345678901234567890123456789012345678",
		"-0.000000000000000000000000000000000001", "1E+3", "1e-130", "9.99E+125",
		"112.54", "-23.10", "0", "-0", "100.00",
	}
	for _, n := range nums {
		item := Map{"n": N(n), "l": L(N(n)), "ns": NS(n)}

		got, err := DecodeMap(AppendMap(nil, item))
		if err != nil {
			t.Fatalf("%s: DynamoDB JSON: %v", n, err)
		}
		if got["n"].Str != n || got["l"].List[0].Str != n || got["ns"].Strs[0] != n {
			t.Errorf("%s: DynamoDB JSON round trip gave %q, %q, %q", n, got["n"].Str, got["l"].List[0].Str, got["ns"].Strs[0])
		}

		bin, rest, err := DecodeBinary(AppendBinary(nil, item))
		if err != nil || len(rest) != 0 {
			t.Fatalf("%s: binary: %v (rest %d)", n, err, len(rest))
		}
		if bin["n"].Str != n || bin["ns"].Strs[0] != n {
			t.Errorf("%s: binary round trip gave %q, %q", n, bin["n"].Str, bin["ns"].Strs[0])
		}

		if !validJSONNumber(n) {
			continue
		}
		plain, err := FromJSON(AppendPlain(nil, M(item)))
		if err != nil {
			t.Fatalf("%s: plain JSON: %v", n, err)
		}
		if plain.Map["n"].Str != n || plain.Map["l"].List[0].Str != n {
			t.Errorf("%s: plain JSON round trip gave %q, %q", n, plain.Map["n"].Str, plain.Map["l"].List[0].Str)
		}
	}
}
