package lake

import (
	"math"
	"math/big"
	"strconv"
)

// Numbers stay exact decimal strings until here. A column of numbers is
// int64 when every value is an integer that fits, else a decimal whose scale
// is the most fractional digits seen (after applying any exponent), else a
// double when no decimal of precision 38 can hold them all.

const (
	maxExponent      = 9999 // larger exponents never make a decimal
	int64Precision   = 18   // decimal precision stored as INT64
	decimalPrecision = 38   // decimal precision stored as FIXED_LEN_BYTE_ARRAY(16)
)

// number is a valid number split into its parts: the value is
// ±(intPart.fracPart) × 10^exp.
type number struct {
	neg      bool
	intPart  string
	fracPart string
	exp      int
}

// parseNumber splits s, a number as DynamoDB writes it ("-12.50", "1e3").
func parseNumber(s string) (number, bool) {
	var n number
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		n.neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	n.intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		n.fracPart = s[fs:i]
	}
	if len(n.intPart)+len(n.fracPart) == 0 {
		return number{}, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxExponent || e < -maxExponent {
			return number{}, false
		}
		n.exp = e
		i = len(s)
	}
	return n, i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digit returns the i-th digit of the mantissa (integer then fraction).
func (n number) digit(i int) byte {
	if i < len(n.intPart) {
		return n.intPart[i] - '0'
	}
	return n.fracPart[i-len(n.intPart)] - '0'
}

func (n number) numDigits() int { return len(n.intPart) + len(n.fracPart) }

// pow10 is the power of ten of the last mantissa digit.
func (n number) pow10() int { return n.exp - len(n.fracPart) }

// scale is the number of fractional digits as written, after the exponent.
func (n number) scale() int { return max(0, -n.pow10()) }

// intDigits is the number of digits of the integer part of the value.
func (n number) intDigits() int {
	lead := 0
	for lead < n.numDigits() && n.digit(lead) == 0 {
		lead++
	}
	return max(0, n.numDigits()-lead+n.pow10())
}

// unscaledInt64 returns the value × 10^scale as an int64 when it is an
// integer whose magnitude is at most limit.
func (n number) unscaledInt64(scale int, limit uint64) (int64, bool) {
	end, zeros, ok := n.scaled(scale)
	if !ok {
		return 0, false
	}
	var acc uint64
	for i := 0; i < end+zeros; i++ {
		var d uint64
		if i < end {
			d = uint64(n.digit(i))
		}
		if acc > (limit-d)/10 {
			return 0, false
		}
		acc = acc*10 + d
	}
	if n.neg {
		return -int64(acc), true // limit <= 1<<63 keeps this exact
	}
	if acc > math.MaxInt64 {
		return 0, false
	}
	return int64(acc), true
}

// scaled says how to write the value × 10^scale: the first end mantissa
// digits then zeros zeros; ok is false when the dropped digits are not all
// zero (the value has more fractional digits than scale).
func (n number) scaled(scale int) (end, zeros int, ok bool) {
	shift := n.pow10() + scale
	end = n.numDigits()
	if shift >= 0 {
		return end, shift, true
	}
	for ; shift < 0; shift++ {
		if end == 0 {
			return 0, 0, true // all digits were zeros
		}
		end--
		if n.digit(end) != 0 {
			return 0, 0, false
		}
	}
	return end, 0, true
}

// unscaledBig returns the value × 10^scale as a big integer when it is an
// integer of at most 38 digits.
func (n number) unscaledBig(scale int) (*big.Int, bool) {
	end, zeros, ok := n.scaled(scale)
	if !ok {
		return nil, false
	}
	v := new(big.Int)
	if end > 0 {
		buf := make([]byte, 0, end+zeros)
		for i := 0; i < end; i++ {
			buf = append(buf, '0'+n.digit(i))
		}
		for range zeros {
			buf = append(buf, '0')
		}
		v.SetString(string(buf), 10)
	}
	if v.Cmp(maxDecimal38) > 0 {
		return nil, false
	}
	if n.neg {
		v.Neg(v)
	}
	return v, true
}

var maxDecimal38 = new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(decimalPrecision), nil), big.NewInt(1))

// putInt128 writes v (|v| < 2^127) as a 16-byte big-endian two's
// complement integer.
func putInt128(dst []byte, v *big.Int) {
	dst = dst[:16]
	new(big.Int).Abs(v).FillBytes(dst)
	if v.Sign() >= 0 {
		return
	}
	for i := range dst {
		dst[i] = ^dst[i]
	}
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i]++
		if dst[i] != 0 {
			break
		}
	}
}

// numStat gathers what the type of a column of numbers depends on.
type numStat struct {
	n         int64 // valid numbers seen
	invalid   int64 // strings that are not numbers
	nonInt    bool  // some value is not an integer that fits int64
	scale     int   // most fractional digits
	intDigits int   // most integer digits
}

func (s *numStat) add(str string) {
	if _, ok := parseInt64(str); ok {
		s.n++
		s.intDigits = max(s.intDigits, intLen(str))
		return
	}
	n, ok := parseNumber(str)
	if !ok {
		s.invalid++ // written to _leftovers
		return
	}
	s.n++
	if _, ok := n.unscaledInt64(0, 1<<63); !ok {
		s.nonInt = true
	}
	s.scale = max(s.scale, n.scale())
	s.intDigits = max(s.intDigits, n.intDigits())
}

// intLen counts the digits of an integer without its sign and leading zeros.
func intLen(s string) int {
	i := 0
	for i < len(s) && (s[i] == '-' || s[i] == '+' || s[i] == '0') {
		i++
	}
	return len(s) - i
}

// numType is the column type of a set of numbers.
type numType struct {
	typ       colType
	scale     int
	precision int
}

func (s *numStat) columnType() numType {
	switch {
	case !s.nonInt:
		return numType{typ: typeInt64}
	case s.scale > int64Precision || s.intDigits+s.scale > decimalPrecision:
		return numType{typ: typeDouble}
	case s.intDigits+s.scale <= int64Precision:
		return numType{typ: typeDecimal, scale: s.scale, precision: int64Precision}
	}
	return numType{typ: typeDecimal, scale: s.scale, precision: decimalPrecision}
}

// parseInt64 parses a plain integer ("-42") that fits int64. Unlike
// strconv.ParseInt it allocates no error for the common non-integer case.
func parseInt64(s string) (int64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i == len(s) {
		return 0, false
	}
	for ; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
