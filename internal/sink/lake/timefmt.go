package lake

import (
	"time"
)

// parseDateTime parses the date-time strings Hackney's services store:
//
//	2021-03-04T00:00:00.0000000Z   (.NET "o" format, 7 fractional digits)
//	2021-03-04T00:00:00Z
//	2021-03-04T10:11:12+01:00      (any offset)
//	1985-01-01T00:00:00            (no zone: UTC)
//	2021-03-04                     (date only: midnight UTC)
//
// A space may stand for the T; the fraction has 1 to 9 digits. Anything else,
// including an impossible date such as 2021-02-30, is not a date-time.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || !validDate(year, month, day) {
		return time.Time{}, false
	}
	if len(s) == 10 {
		return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), true
	}
	clock, rest, ok := parseClock(s[10:])
	if !ok {
		return time.Time{}, false
	}
	offset, ok := parseZone(rest)
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, clock.h, clock.m, clock.s, clock.ns, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

type clockTime struct{ h, m, s, ns int }

// parseClock reads "THH:MM:SS[.fffffffff]" and returns what follows.
func parseClock(s string) (clockTime, string, bool) {
	var c clockTime
	if len(s) < 9 || (s[0] != 'T' && s[0] != ' ') || s[3] != ':' || s[6] != ':' {
		return c, "", false
	}
	var ok1, ok2, ok3 bool
	c.h, ok1 = digits(s, 1, 2)
	c.m, ok2 = digits(s, 4, 2)
	c.s, ok3 = digits(s, 7, 2)
	if !ok1 || !ok2 || !ok3 || c.h > 23 || c.m > 59 || c.s > 59 {
		return c, "", false
	}
	s = s[9:]
	if len(s) == 0 || s[0] != '.' {
		return c, s, true
	}
	n := 1
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	if n == 1 || n > 10 {
		return c, "", false
	}
	frac, _ := digits(s, 1, n-1)
	for i := n - 1; i < 9; i++ {
		frac *= 10
	}
	c.ns = frac
	return c, s[n:], true
}

// parseZone reads "", "Z", "±HH:MM", "±HHMM" or "±HH" as an offset in
// seconds east of UTC.
func parseZone(s string) (int, bool) {
	switch {
	case s == "" || s == "Z":
		return 0, true
	case s[0] != '+' && s[0] != '-':
		return 0, false
	}
	var h, m int
	var ok1, ok2 bool
	switch len(s) {
	case 3:
		h, ok1 = digits(s, 1, 2)
		ok2 = true
	case 5:
		h, ok1 = digits(s, 1, 2)
		m, ok2 = digits(s, 3, 2)
	case 6:
		h, ok1 = digits(s, 1, 2)
		m, ok2 = digits(s, 4, 2)
		ok2 = ok2 && s[3] == ':'
	}
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// digits reads n decimal digits of s from i.
func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func validDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Nanosecond timestamps hold 1677-09-21 to 2262-04-11 only.
var (
	minNanoTime = time.Unix(0, -1<<63).UTC()
	maxNanoTime = time.Unix(0, 1<<63-1).UTC()
)

// timeStat gathers what the unit of a timestamp column depends on.
type timeStat struct {
	subMicro bool // some value has digits below the microsecond
	outNanos bool // some value is outside the range of nanosecond timestamps
}

func (s *timeStat) add(t time.Time) {
	if t.Nanosecond()%1000 != 0 {
		s.subMicro = true
	}
	if t.Before(minNanoTime) || t.After(maxNanoTime) {
		s.outNanos = true
	}
}

// nanos reports whether the column needs nanoseconds to keep every value.
func (s timeStat) nanos() bool { return s.subMicro && !s.outNanos }

// exact reports whether one unit keeps every value exactly.
func (s timeStat) exact() bool { return !(s.subMicro && s.outNanos) }
