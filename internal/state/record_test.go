package state

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

const tenureID = "8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10"

// tenureImage is a tenure as the Tenure API stores it, with n household
// members.
func tenureImage(id string, n int) ddbjson.Map {
	members := make([]ddbjson.Value, n)
	for i := range members {
		members[i] = ddbjson.M(ddbjson.Map{
			"id":               ddbjson.S(fmt.Sprintf("5b0b7a1e-1c2d-4e3f-8a9b-%012d", i)),
			"fullName":         ddbjson.S("Ada Okafor"),
			"isResponsible":    ddbjson.Bool(i == 0),
			"dateOfBirth":      ddbjson.S("1961-07-14T00:00:00"),
			"personTenureType": ddbjson.S("Tenant"),
			"type":             ddbjson.S("Person"),
		})
	}
	return ddbjson.Map{
		"id":               ddbjson.S(id),
		"paymentReference": ddbjson.S("228000123"),
		"householdMembers": ddbjson.L(members...),
		"tenuredAsset": ddbjson.M(ddbjson.Map{
			"id": ddbjson.S("7ffcda9f-d0c3-40af-a6e8-f765ad37cefa"), "type": ddbjson.S("Dwelling"),
			"fullAddress": ddbjson.S("Flat 82 Trowbridge Estate, 38 Lansdowne Drive, London, E9 6AK"),
			"uprn":        ddbjson.S("100084676010"), "isTemporaryAccommodation": ddbjson.Bool(false),
		}),
		"charges":           ddbjson.M(ddbjson.Map{"rent": ddbjson.N("112.54"), "currentBalance": ddbjson.N("-3.1"), "billingFrequency": ddbjson.S("Weekly")}),
		"startOfTenureDate": ddbjson.S("2019-04-01T00:00:00.0000000Z"),
		"endOfTenureDate":   ddbjson.Null(),
		"tenureType":        ddbjson.M(ddbjson.Map{"code": ddbjson.S("SEC"), "description": ddbjson.S("Secure")}),
		"isTenanted":        ddbjson.Bool(true),
		"versionNumber":     ddbjson.N("7"),
		"legacyReferences":  ddbjson.L(ddbjson.M(ddbjson.Map{"name": ddbjson.S("uh_tag_ref"), "value": ddbjson.S("012345/01")})),
		"tags":              ddbjson.SS("a", "b"),
		"blob":              ddbjson.B([]byte{0, 1, 0xff}),
	}
}

var timeType = reflect.TypeFor[time.Time]()

// sameRecord reports how got differs from want ("" when it does not). It
// compares every field, times by instant (and wants them back in UTC), so
// that a field added to Record is covered.
func sameRecord(got, want *Record) string {
	var d []string
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := 0; i < g.NumField(); i++ {
		name := g.Type().Field(i).Name
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		switch gv := gf.(type) {
		case time.Time:
			wv := wf.(time.Time)
			if !gv.Equal(wv) || gv.IsZero() != wv.IsZero() || (!gv.IsZero() && gv.Location() != time.UTC) {
				d = append(d, fmt.Sprintf("%s %v, want %v in UTC", name, gv, wv))
			}
		case ddbjson.Map:
			wv := wf.(ddbjson.Map)
			if !want.Live {
				wv = nil // a tombstone keeps no image
			}
			if (gv == nil) != (wv == nil) || !ddbjson.EqualMaps(gv, wv) {
				d = append(d, fmt.Sprintf("%s of %d attributes, want %d", name, len(gv), len(wv)))
			}
		default:
			if !reflect.DeepEqual(gf, wf) {
				d = append(d, fmt.Sprintf("%s %v, want %v", name, gf, wf))
			}
		}
	}
	return strings.Join(d, "; ")
}

// filled returns r with every time field that is zero set to a distinct
// time, and every string field that is empty to a distinct string.
func filled(r Record) Record {
	v := reflect.ValueOf(&r).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch {
		case f.Type() == timeType && f.Interface().(time.Time).IsZero():
			f.Set(reflect.ValueOf(time.Date(2026, 11, 1, 2, i, 3, 100*i, time.UTC)))
		case f.Kind() == reflect.String && f.String() == "":
			f.SetString(fmt.Sprintf("field %d ✓", i))
		}
	}
	return r
}

// fieldCount counts Record's fields of type t.
func fieldCount(t reflect.Type) int {
	n := 0
	for f := range reflect.TypeFor[Record]().Fields() {
		if f.Type == t {
			n++
		}
	}
	return n
}

func TestRecordRoundTrip(t *testing.T) {
	london := time.FixedZone("BST", 3600)
	changed := time.Date(2026, 11, 1, 2, 0, 1, 123456700, time.UTC)
	big := tenureImage(tenureID, 400)
	big["notes"] = ddbjson.S(strings.Repeat("ü", 1<<20))
	tests := []struct {
		name string
		r    Record
	}{
		{"live snapshot row", Record{Live: true, Image: tenureImage(tenureID, 2), Version: "7", AsOf: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC),
			Changed: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC), Seq: 1, Op: "snapshot", Source: "export", IngestedAt: changed}},
		{"live after an event, version stale", Record{Live: true, Image: tenureImage(tenureID, 1), Version: "12", VersionStale: true,
			Changed: changed, Seq: 300, Op: "update", EventID: "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d", EventType: "TenureUpdatedEvent",
			Source: "ProcessesAPI", IngestedAt: changed.Add(time.Hour)}},
		{"tombstone", Record{Live: false, Version: "9", Changed: changed, Seq: 4, Op: "delete", EventType: "ContactDetailDeletedEvent"}},
		{"tombstone with an image given", Record{Live: false, Image: tenureImage(tenureID, 1), Version: "9", Seq: 5}},
		{"stale tombstone", Record{Live: false, VersionStale: true, Seq: 1<<63 + 5}},
		{"all zero times", Record{Live: true, Image: ddbjson.Map{"id": ddbjson.S("x")}}},
		{"empty image", Record{Live: true, Image: ddbjson.Map{}, Seq: 1}},
		{"times in another zone, before 1970", Record{Live: true, Image: ddbjson.Map{"id": ddbjson.S("x")},
			AsOf: time.Date(2026, 6, 1, 3, 0, 0, 1, london), Changed: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
			IngestedAt: time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"every field set", filled(Record{Live: true, VersionStale: true, Image: tenureImage(tenureID, 3), Seq: 77})},
		{"every field set, tombstone", filled(Record{Seq: 78})},
		{"big image", Record{Live: true, Image: big, Version: "123456789012345678901234567890", Seq: 2, Op: "create",
			EventID: strings.Repeat("e", 300), EventType: "TenureCreatedEvent", Source: "TenureAPI", Changed: changed}},
	}
	for _, tt := range tests {
		b := appendRecord([]byte("prefix"), &tt.r)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("%s: appendRecord did not append", tt.name)
		}
		got, err := decodeRecord(b[len("prefix"):])
		if err != nil {
			t.Errorf("%s: decodeRecord: %v", tt.name, err)
			continue
		}
		if d := sameRecord(got, &tt.r); d != "" {
			t.Errorf("%s: %s", tt.name, d)
		}
		// Equal records encode to equal bytes.
		if again := appendRecord(nil, got); !bytes.Equal(again, b[len("prefix"):]) && tt.r.Live {
			t.Errorf("%s: re-encoding differs", tt.name)
		}
	}
}

// TestRecordLayout pins the stored form: format byte, flags, seq, times
// (zero is one 0 byte), the strings version, op, event id, event type and
// source, then the image. Stored records outlive the binary that wrote them.
func TestRecordLayout(t *testing.T) {
	times := fieldCount(timeType)
	r := Record{Live: true, VersionStale: true, Seq: 300, Version: "7", Op: "create", Source: "TenureAPI",
		Image: ddbjson.Map{"id": ddbjson.S("a")}}
	want := []byte{1, 3, 0xac, 2} // format, live|stale, seq 300
	want = append(want, make([]byte, times)...)
	want = append(want, 1, '7', 6, 'c', 'r', 'e', 'a', 't', 'e', 0, 0, 9)
	want = append(want, "TenureAPI"...)
	want = ddbjson.AppendBinary(want, r.Image)
	if got := appendRecord(nil, &r); !bytes.Equal(got, want) {
		t.Errorf("stored form\n got %v\nwant %v", got, want)
	}
	tomb := appendRecord(nil, &Record{Seq: 1, Image: r.Image})
	if want := append([]byte{1, 0, 1}, make([]byte, times+fieldCount(reflect.TypeFor[string]()))...); !bytes.Equal(tomb, want) {
		t.Errorf("tombstone stored as %v, want %v", tomb, want)
	}
	// A time is its Unix nanoseconds, zigzag varint.
	at := appendRecord(nil, &Record{AsOf: time.Unix(0, 5)})
	if at[3] != 10 {
		t.Errorf("as-of of 5 ns stored as %v", at[3:4])
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	valid := appendRecord(nil, &Record{Live: true, Image: tenureImage(tenureID, 1), Version: "7", Op: "create", EventID: "e",
		Changed: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC), Seq: 9})
	// Every truncation of a stored record is an error, not a panic or a
	// shorter record.
	for n := 0; n < len(valid); n++ {
		if r, err := decodeRecord(valid[:n]); err == nil {
			t.Errorf("record truncated to %d of %d bytes decoded as %+v", n, len(valid), r)
		}
	}
	for _, b := range [][]byte{nil, {}, {2, 1}, {0, 1}, {1}} {
		_, err := decodeRecord(b)
		if err == nil || !strings.Contains(err.Error(), "stored record: unknown format") {
			t.Errorf("decodeRecord(%v) = %v, want an unknown format error", b, err)
		}
	}
	// A string length past the end.
	if _, err := decodeRecord([]byte{1, 0, 1, 0, 0, 0, 200, 'x'}); err != errRecord {
		t.Errorf("string past the end: %v", err)
	}
}
