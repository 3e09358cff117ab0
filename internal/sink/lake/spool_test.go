package lake

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// TestInferPassDamagedImage: a stored image the statistics cannot read
// fails the schema pass with its error, and stops the scan soon after
// instead of reading the whole table first.
func TestInferPassDamagedImage(t *testing.T) {
	good := ddbjson.AppendBinary(nil, ddbjson.Map{"id": ddbjson.S("x"), "n": ddbjson.N("1")})
	damaged := good[:len(good)-2]
	const total = 200_000
	read := 0
	scan := func(fn func(*Row) error) error {
		for i := range total {
			read++
			img := good
			if i == 10 {
				img = damaged
			}
			if err := fn(&Row{Key: "k", Version: "1", ImageBin: img}); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := inferPass(context.Background(), Current, scan)
	if err == nil {
		t.Fatalf("inferPass over a damaged image = %v, want the decoding error", err)
	}
	if read > total/2 {
		t.Fatalf("the scan read %d of %d rows after the statistics failed", read, total)
	}
}

// TestInferPassSameStats: the two-goroutine schema pass gathers what
// adding each row in turn gathers, for small and large (byte-batched)
// items, delete rows without an image and history's validity times.
func TestInferPassSameStats(t *testing.T) {
	var rows []Row
	for i := range 3000 {
		r := tenureRow(i)
		if i%7 == 0 {
			r.Image["notes"] = ddbjson.S(strings.Repeat("n", 3000)) // batches fill by bytes
		}
		if i%11 == 0 {
			r.Image = nil // a delete row
		}
		r.ValidFrom = testNow
		rows = append(rows, r)
	}
	for _, kind := range []Kind{Current, History} {
		got, err := inferPass(context.Background(), kind, sliceScanner(rows))
		if err != nil {
			t.Fatal(err)
		}
		want := newTableStats()
		for i := range rows {
			if err := want.add(&rows[i], kind); err != nil {
				t.Fatal(err)
			}
		}
		if g, w := buildTable(got, kind).columns(), buildTable(want, kind).columns(); !sameColumns(g, w) {
			t.Fatalf("%s: schema %v, want %v", kind, g, w)
		}
		if got.attrs.fields["notes"].counts != want.attrs.fields["notes"].counts ||
			got.attrs.counts != want.attrs.counts || got.version != want.version {
			t.Fatalf("%s: statistics differ from adding each row in turn", kind)
		}
	}
}

func sameColumns(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSpoolKeepsRows: every field of every row reaches fn as the scanner
// gave it, in order, images in the binary form (none for a delete row),
// with batches sent by rows and by bytes.
func TestSpoolKeepsRows(t *testing.T) {
	var rows []Row
	for i := range 2000 {
		r := tenureRow(i)
		r.Version, r.Op, r.EventID, r.EventType, r.Source = fmt.Sprint(i), "update", fmt.Sprintf("ev-%d", i), "TenureUpdatedEvent", "TenureAPI"
		r.EventTime, r.IngestedAt = testNow.Add(time.Duration(i)*time.Second), testNow.Add(time.Hour)
		r.ValidFrom, r.ValidTo = testNow.Add(-time.Duration(i)*time.Minute), testNow.Add(time.Duration(i)*time.Minute)
		switch {
		case i%13 == 0:
			r.Image = nil // a delete row
		case i%5 == 0:
			r.Image["notes"] = ddbjson.S(strings.Repeat("x", 5000)) // fills batches by bytes
		case i%3 == 0:
			r.ImageBin, r.Image = ddbjson.AppendBinary(nil, r.Image), nil
		}
		rows = append(rows, r)
	}
	i := 0
	err := spool(context.Background(), sliceScanner(rows), func(got *Row) error {
		want := rows[i]
		if want.Image != nil {
			want.ImageBin, want.Image = ddbjson.AppendBinary(nil, want.Image), nil
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("row %d:\n got  %+v\n want %+v", i, *got, want)
		}
		i++
		return nil
	})
	if err != nil || i != len(rows) {
		t.Fatalf("spool: %v after %d of %d rows", err, i, len(rows))
	}
}
