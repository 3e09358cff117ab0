package lake

import (
	"testing"
	"time"
)

func TestParseDateTime(t *testing.T) {
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2021-03-04T00:00:00.0000000Z", utc(2021, 3, 4, 0, 0, 0, 0), true},
		{"2021-03-04T10:11:12.1234567Z", utc(2021, 3, 4, 10, 11, 12, 123456700), true},
		{"2021-03-04T00:00:00Z", utc(2021, 3, 4, 0, 0, 0, 0), true},
		{"1985-01-01T00:00:00", utc(1985, 1, 1, 0, 0, 0, 0), true},
		{"2021-03-04", utc(2021, 3, 4, 0, 0, 0, 0), true},
		{"2021-03-04 10:11:12", utc(2021, 3, 4, 10, 11, 12, 0), true},
		{"2021-03-04T10:11:12.5+01:00", utc(2021, 3, 4, 9, 11, 12, 500000000), true},
		{"2021-03-04T10:11:12-0530", utc(2021, 3, 4, 15, 41, 12, 0), true},
		{"2021-03-04T10:11:12+01", utc(2021, 3, 4, 9, 11, 12, 0), true},
		{"2021-03-04T10:11:12.123456789Z", utc(2021, 3, 4, 10, 11, 12, 123456789), true},
		{"0001-01-01T00:00:00", utc(1, 1, 1, 0, 0, 0, 0), true},
		{"2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0), true},
		{"2023-02-29", time.Time{}, false},
		{"2021-13-01", time.Time{}, false},
		{"2021-03-04T24:00:00Z", time.Time{}, false},
		{"2021-03-04T10:11:12.1234567890Z", time.Time{}, false},
		{"2021-03-04T10:11:12.Z", time.Time{}, false},
		{"2021-03-04T10:11", time.Time{}, false},
		{"2021-03-04T10:11:12X", time.Time{}, false},
		{"2021-03-04T10:11:12+1:00", time.Time{}, false},
		{"2021-3-4", time.Time{}, false},
		{"20210304", time.Time{}, false},
		{"1614816000", time.Time{}, false},
		{"-2147483648", time.Time{}, false},
		{"", time.Time{}, false},
		{"hello world", time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := parseDateTime(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseDateTime(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTimeStat(t *testing.T) {
	var s timeStat
	s.add(time.Date(2021, 1, 1, 0, 0, 0, 1000, time.UTC))
	if s.nanos() || !s.exact() {
		t.Errorf("micros: %+v", s)
	}
	s.add(time.Date(2021, 1, 1, 0, 0, 0, 100, time.UTC))
	if !s.nanos() || !s.exact() {
		t.Errorf("nanos: %+v", s)
	}
	s.add(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))
	if s.nanos() || s.exact() {
		t.Errorf("nanos out of range: %+v", s)
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2021-03-04T00:00:00.0000000Z", "1985-01-01T00:00:00", "2021-03-04", "2021-03-04T10:11:12+01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDateTime(s)
		if !ok {
			return
		}
		// Whatever parses must agree with the standard library on the
		// forms it knows.
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
			if want, err := time.Parse(layout, s); err == nil && !want.Equal(got) {
				t.Fatalf("%q: got %v, time.Parse(%q) %v", s, got, layout, want)
			}
		}
	})
}
