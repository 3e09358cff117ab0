package ddbjson

import (
	"strconv"
	"strings"
)

// ValidNumber reports whether s is a number as DynamoDB and JSON write it:
// an optional minus sign, digits, an optional fraction and an optional
// exponent. A leading plus sign is accepted too (DynamoDB accepts it).
func ValidNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i - start
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracDigits = i - fs
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == es {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validJSONNumber reports whether s is a number by JSON's stricter grammar:
// no plus sign, no leading zeros, digits on both sides of a point.
func validJSONNumber(s string) bool {
	if !ValidNumber(s) || s[0] == '+' {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	if !isDigit(s[0]) || (s[0] == '0' && len(s) > 1 && isDigit(s[1])) {
		return false
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && (i+1 == len(s) || !isDigit(s[i+1])) {
		return false
	}
	return true
}

// maxExponent bounds the exponents CanonicalNumber rewrites, far beyond
// DynamoDB's range (1E-130 to 9.99E+125), so that its arithmetic on them
// cannot overflow.
const maxExponent = 1 << 30

// CanonicalNumber returns a form of the number s in which equal numbers are
// equal strings: significant digits then the exponent ("1.50" and "15e-1"
// both give "15e-1", zero gives "0"). An invalid number is returned as is.
func CanonicalNumber(s string) string {
	n, ok := splitNumber(s)
	if !ok {
		return s // not a number, or its exponent out of range: as written
	}
	if n.zero {
		return "0"
	}
	var b strings.Builder
	if n.neg {
		b.WriteByte('-')
	}
	for i := n.lo; i < n.hi; i++ {
		if n.mant[i] != '.' {
			b.WriteByte(n.mant[i])
		}
	}
	if n.exp != 0 {
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(n.exp))
	}
	return b.String()
}

// numberParts is a number as CanonicalNumber reads it: the significant
// digits mant[lo:hi] (first to last non-zero digit, a decimal point among
// them skipped), the exponent of the last of them, and the sign.
type numberParts struct {
	mant   string
	lo, hi int
	exp    int
	neg    bool
	zero   bool
}

// splitNumber reads s as CanonicalNumber does; ok is false where
// CanonicalNumber returns s as it is (not a number, exponent out of range).
func splitNumber(s string) (n numberParts, ok bool) {
	if !ValidNumber(s) {
		return n, false
	}
	if s[0] == '-' || s[0] == '+' {
		n.neg = s[0] == '-'
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxExponent || e < -maxExponent {
			return n, false
		}
		exp = e
	}
	point := strings.IndexByte(mant, '.')
	if point < 0 {
		point = len(mant)
	}
	n.lo = strings.IndexAny(mant, "123456789")
	if n.lo < 0 {
		return numberParts{zero: true}, true
	}
	last := strings.LastIndexAny(mant, "123456789")
	n.mant, n.hi = mant, last+1
	// The place of the last significant digit: 10^(point-last-1) before
	// the point, 10^(point-last) after it.
	if last < point {
		n.exp = exp + point - last - 1
	} else {
		n.exp = exp + point - last
	}
	return n, true
}

// Int64 returns the number s as an int64 when it is an integer that fits.
func Int64(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	c := CanonicalNumber(s)
	if !ValidNumber(s) {
		return 0, false
	}
	// Integers written with a fraction or exponent ("12.0", "1.2e1").
	mant, exp := c, 0
	if i := strings.IndexByte(c, 'e'); i >= 0 {
		mant = c[:i]
		e, err := strconv.Atoi(c[i+1:])
		if err != nil || e < 0 || e > 19 {
			return 0, false
		}
		exp = e
	}
	n, err := strconv.ParseInt(mant+strings.Repeat("0", exp), 10, 64)
	return n, err == nil
}
