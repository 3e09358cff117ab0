package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/source/export"
)

func TestConformance(t *testing.T) {
	g := generate(t, 300, 3)
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("generated/workers=%d", workers), func(t *testing.T) {
			changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
				return export.NewSource(g.fsys, g.m, testTable, workers, pos)
			}, g.items)
		})
	}
	// Small files, blank lines, an empty file and more workers than files.
	fsys := buildExport(t, nil,
		file("a.json.gz", items(0, 3)...),
		file("b.json.gz", "", item(3, 1), "  ", item(4, 2), ""),
		dataFile{name: "c.json.gz", raw: gz(t, ""), count: 0},
		file("d.json.gz", items(5, 6)...))
	t.Run("hand-made/workers=8", func(t *testing.T) {
		changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
			return open(t, fsys, 8, pos)
		}, 6)
	})
}

func TestRows(t *testing.T) {
	lines := []string{
		item(0, 7),
		`{"Item":{"id":{"S":"` + guid(1) + `"},"versionNumber":{"N":"12.0"},"paymentReference":{"S":"228000001"},"notices":{"L":[]},"endOfTenureDate":{"NULL":true}}}`,
		`{"Item":{"id":{"S":"` + guid(2) + `"},"versionNumber":{"S":"3"}}}`, // a version of the wrong type is no version
		`{"Item":{"id":{"S":"` + guid(3) + `"}}}`,
	}
	recs, err := readAll(t, open(t, buildExport(t, nil, file("f.json.gz", lines...)), 1, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("read %d records, want 4", len(recs))
	}
	src := "export:" + testID + "/f.json.gz"
	versions := []string{"7", "12.0", "", ""}
	for i, r := range recs {
		c := r.Change
		if c == nil || r.Dead != nil {
			t.Fatalf("record %d = %+v, want a change", i, r)
		}
		want := change.Position{Source: src, Offset: int64(i + 1)}
		if c.Entity != "tenure" || c.Op != change.OpUpsert || c.Origin != change.OriginSnapshot || c.Label() != "snapshot" ||
			c.SourceSystem != "export" || c.EventID != "" || c.Old != nil {
			t.Errorf("row %d: change = %+v", i, c)
		}
		if c.Key.String() != guid(i) || c.Key.Hash.Kind != ddbjson.KindS || c.Key.Range.Kind != ddbjson.KindInvalid {
			t.Errorf("row %d: key = %#v, want S %s", i, c.Key, guid(i))
		}
		if c.Version != versions[i] {
			t.Errorf("row %d: version %q, want %q", i, c.Version, versions[i])
		}
		if !c.AsOf.Equal(testTime) || !c.EventTime.Equal(testTime) || c.AsOf.Location() != time.UTC {
			t.Errorf("row %d: as-of %v, event time %v; want the export time %v in UTC", i, c.AsOf, c.EventTime, testTime)
		}
		if c.Pos != want || r.Next != want {
			t.Errorf("row %d: position %+v, next %+v; want %+v", i, c.Pos, r.Next, want)
		}
		if got := fullImage(t, c)["id"]; got.Str != guid(i) {
			t.Errorf("row %d: image id %v", i, got)
		}
	}
	img := fullImage(t, recs[0].Change)
	if len(img) != 5 || img["charges"].Map["rent"].Str != "112.54" || !img["isTenanted"].Bool || img["paymentReference"].Str != "0228000000" {
		t.Errorf("image of row 0 = %v", img)
	}
	if v := fullImage(t, recs[1].Change)["endOfTenureDate"]; v.Kind != ddbjson.KindNULL {
		t.Errorf("NULL attribute read as %v", v)
	}
}

// TestRangeKey: a table with a range key reads both parts.
func TestRangeKey(t *testing.T) {
	line := `{"Item":{"targetId":{"S":"` + guid(1) + `"},"id":{"N":"42"},"value":{"S":"07700 900123"}}}`
	fsys := buildExport(t, nil, file("f.json.gz", line))
	m, err := export.ReadManifest(fsys, testDir)
	if err != nil {
		t.Fatal(err)
	}
	tbl := export.Table{Entity: "contact_details", HashAttr: "targetId", RangeAttr: "id"}
	recs, err := readAll(t, export.NewSource(fsys, m, tbl, 1, noPositions))
	if err != nil || len(recs) != 1 {
		t.Fatalf("read %d records, %v", len(recs), err)
	}
	if k := recs[0].Change.Key; k.String() != guid(1)+"|42" || k.Range.Kind != ddbjson.KindN || recs[0].Change.Version != "" {
		t.Errorf("key = %#v, version %q", k, recs[0].Change.Version)
	}
}

// TestBadItems: an item that cannot become a change is a dead letter with
// its bytes, file and line, and the export goes on.
func TestBadItems(t *testing.T) {
	good := file("a.json.gz", items(0, 3)...)
	malformed := `{"Item":{"id":{"S":"x"},"n":{"N":"1"}`
	tests := []struct {
		name  string
		files []dataFile
		bad   string // the raw line
		line  int64
		want  []string
		rows  int // changes besides the dead letter
	}{
		{"malformed line", []dataFile{good, file("b.json.gz", item(3, 1), "", malformed, item(4, 1))}, malformed, 2,
			[]string{"b.json.gz line 2:"}, 5},
		{"not an Item line", []dataFile{file("b.json.gz", `{"NewImage":{"id":{"S":"x"}}}`)}, `{"NewImage":{"id":{"S":"x"}}}`, 1,
			[]string{"line 1:", "want Item"}, 0},
		{"item without the hash key", []dataFile{file("b.json.gz", item(3, 1), `{"Item":{"paymentReference":{"S":"228000004"}}}`)},
			`{"Item":{"paymentReference":{"S":"228000004"}}}`, 2, []string{"b.json.gz line 2: item key (id)"}, 1},
		{"hash key of the wrong type", []dataFile{file("b.json.gz", `{"Item":{"id":{"BOOL":true}}}`)}, `{"Item":{"id":{"BOOL":true}}}`, 1,
			[]string{"line 1: item key (id)"}, 0},
		{"empty hash key", []dataFile{file("b.json.gz", `{"Item":{"id":{"S":""}}}`)}, `{"Item":{"id":{"S":""}}}`, 1,
			[]string{"line 1: item key (id)"}, 0},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/workers=%d", tt.name, workers), func(t *testing.T) {
				fsys := buildExport(t, nil, tt.files...)
				recs, err := readAll(t, open(t, fsys, workers, nil))
				if err != nil {
					t.Fatalf("read %d records, then %v; want the export to go on", len(recs), err)
				}
				var dead []change.Record
				for _, r := range recs {
					if r.Dead != nil {
						dead = append(dead, r)
					}
				}
				if len(dead) != 1 || len(recs)-1 != tt.rows {
					t.Fatalf("%d dead letters and %d changes, want 1 and %d", len(dead), len(recs)-len(dead), tt.rows)
				}
				d := dead[0].Dead
				if string(d.Raw) != tt.bad || d.Pos.Offset != tt.line || dead[0].Next.Offset != tt.line {
					t.Errorf("dead letter %q at %+v (next %+v), want %q at line %d", d.Raw, d.Pos, dead[0].Next, tt.bad, tt.line)
				}
				for _, w := range append(tt.want, testDir+"/data/b.json.gz") {
					if !strings.Contains(d.Reason, w) {
						t.Errorf("reason %q does not contain %q", d.Reason, w)
					}
				}
			})
		}
	}
}

// TestBadInput: each damaged export fails with an error that names the data
// file, and damage found by the md5 pre-check fails before any row.
func TestBadInput(t *testing.T) {
	good := file("a.json.gz", items(0, 3)...)
	full := gz(t, strings.Join(items(10, 400), "\n")+"\n")
	truncated := full[:len(full)/2]
	longLine := gz(t, strings.Join(items(10, 400), "\n")) // no newline at the end: still 390 rows
	tests := []struct {
		name    string
		files   []dataFile
		path    string // the data file the error must name
		want    []string
		is      error
		maxRows int // rows that may come before the error (0: the error comes first)
	}{
		{"md5 mismatch", []dataFile{good, {name: "b.json.gz", lines: items(3, 6), count: -1, md5: md5sum([]byte("other"))}},
			"b.json.gz", []string{"md5 checksum mismatch", "manifest says " + md5sum([]byte("other")), "copy it again"}, export.ErrChecksum, 0},
		{"md5 mismatch of the first file", []dataFile{{name: "a.json.gz", lines: items(0, 3), count: -1, md5: "AAAAAAAAAAAAAAAAAAAAAA=="}, {name: "b.json.gz", lines: items(3, 6), count: -1}},
			"a.json.gz", []string{"md5 checksum mismatch"}, export.ErrChecksum, 0},
		{"missing data file", []dataFile{good, {name: "b.json.gz", lines: items(3, 6), count: -1, omit: true}},
			"b.json.gz", []string{"opening export data file"}, fs.ErrNotExist, 0},
		{"truncated gzip", []dataFile{{name: "b.json.gz", raw: truncated, count: 390}},
			"b.json.gz", []string{"reading export data file"}, io.ErrUnexpectedEOF, 390},
		{"not gzip", []dataFile{{name: "b.json.gz", raw: []byte(item(1, 1) + "\n"), count: 1}},
			"b.json.gz", []string{"reading export data file"}, nil, 0},
		{"fewer items than the manifest", []dataFile{good, {name: "b.json.gz", lines: items(3, 6), count: 4}},
			"b.json.gz", []string{"item count mismatch: manifest says 4 items, file has 3"}, export.ErrCount, 6},
		{"more items than the manifest", []dataFile{{name: "b.json.gz", raw: longLine, count: 389}},
			"b.json.gz", []string{"item count mismatch: manifest says 389 items, file has more"}, export.ErrCount, 389},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/workers=%d", tt.name, workers), func(t *testing.T) {
				fsys := buildExport(t, nil, tt.files...)
				recs, err := readAll(t, open(t, fsys, workers, nil))
				if err == nil {
					t.Fatalf("read %d records and no error", len(recs))
				}
				if !strings.Contains(err.Error(), testDir+"/data/"+tt.path) {
					t.Errorf("error %q does not name the data file %s", err, tt.path)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %v is not %v", err, tt.is)
				}
				if len(recs) > tt.maxRows {
					t.Errorf("%d rows came before the error, want at most %d", len(recs), tt.maxRows)
				}
			})
		}
	}
}

// TestChecksumSkipsCommittedFiles: a file whose rows are all committed is
// neither checked nor read again; a partly read file is checked again.
func TestChecksumSkipsCommittedFiles(t *testing.T) {
	done := dataFile{name: "a.json.gz", lines: items(0, 3), count: -1, md5: md5sum(nil)} // damaged since
	fsys := buildExport(t, nil, done, file("b.json.gz", items(3, 6)...))
	pos := func(id string) (int64, bool, error) {
		if id == "export:"+testID+"/a.json.gz" {
			return 3, true, nil
		}
		return 1, true, nil
	}
	recs, err := readAll(t, open(t, fsys, 2, pos))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Change.Key.String() != guid(4) || recs[0].Next.Offset != 2 || recs[1].Next.Offset != 3 {
		t.Errorf("resumed records = %v", recs)
	}
	posErr := func(string) (int64, bool, error) { return 0, false, errors.New("store closed") }
	if _, err := readAll(t, open(t, fsys, 2, posErr)); err == nil || !strings.Contains(err.Error(), "reading position of "+testDir+"/data/a.json.gz: store closed") {
		t.Errorf("position error = %v", err)
	}
	// A partly read file is checked again before any row.
	half := func(string) (int64, bool, error) { return 1, true, nil }
	if recs, err := readAll(t, open(t, fsys, 2, half)); !errors.Is(err, export.ErrChecksum) || len(recs) != 0 {
		t.Errorf("partly read damaged file: %d rows, %v", len(recs), err)
	}
}

// TestBlankLines: blank and whitespace-only lines are skipped and not
// counted, anywhere in a file.
func TestBlankLines(t *testing.T) {
	raw := "\n" + item(0, 1) + "\r\n\n   \n\t\r\n" + item(1, 1) + "\r\n" + item(2, 1) + "\n\n  "
	fsys := buildExport(t, nil, dataFile{name: "a.json.gz", raw: gz(t, raw), count: 3})
	recs, err := readAll(t, open(t, fsys, 1, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("read %d records, want 3", len(recs))
	}
	for i, r := range recs {
		if r.Change.Key.String() != guid(i) || r.Next.Offset != int64(i+1) {
			t.Errorf("record %d: key %s offset %d", i, r.Change.Key, r.Next.Offset)
		}
	}
}

// TestLongLine: an item of 3 MB, over the reader's 1 MiB buffer, is read
// whole, between ordinary lines.
func TestLongLine(t *testing.T) {
	big := strings.Repeat("Flat 1, 38 Lansdowne Drive, London E8 3EP; ", 3<<20/44+1)
	long := `{"Item":{"id":{"S":"` + guid(1) + `"},"notes":{"S":"` + big + `"},"list":{"L":[{"S":"a"},{"N":"1"}]}}}`
	fsys := buildExport(t, nil, file("a.json.gz", item(0, 1), long, item(2, 1), long))
	var progress int64
	src := open(t, fsys, 1, nil)
	src.Progress = func(n int64) { progress += n }
	recs, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("read %d records, want 4", len(recs))
	}
	for _, i := range []int{1, 3} {
		img := fullImage(t, recs[i].Change)
		if img["notes"].Str != big || len(img["list"].List) != 2 || recs[i].Next.Offset != int64(i+1) {
			t.Errorf("long row %d: notes of %d bytes, list %v, offset %d", i, len(img["notes"].Str), img["list"], recs[i].Next.Offset)
		}
	}
	if recs[2].Change.Key.String() != guid(2) {
		t.Errorf("row after the long one: %s", recs[2].Change.Key)
	}
	if want := int64(2*len(long) + 2*len(item(0, 1))); progress != want {
		t.Errorf("progress reported %d bytes, want %d (the lines read)", progress, want)
	}
}

// TestWorkersSameRows: one worker and four read the same rows, images
// included, from a generated export of several files.
func TestWorkersSameRows(t *testing.T) {
	g := generate(t, 2000, 5)
	read := func(workers int) []string {
		recs, err := readAll(t, export.NewSource(g.fsys, g.m, testTable, workers, noPositions))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(recs))
		for i, r := range recs {
			out[i] = changetest.Identity(r) + " " + r.Change.Version + " " + string(ddbjson.AppendMap(nil, fullImage(t, r.Change)))
		}
		return out
	}
	one, four := read(1), read(4)
	if len(one) != g.items {
		t.Fatalf("workers=1 read %d rows, want %d", len(one), g.items)
	}
	slices.Sort(one)
	slices.Sort(four)
	if !slices.Equal(one, four) {
		t.Error("workers=1 and workers=4 read different rows")
	}
	ids := map[string]bool{}
	for _, r := range one {
		id := r[strings.Index(r, "tenure ")+7:][:36]
		if ids[id] {
			t.Errorf("tenure %s exported twice", id)
		}
		ids[id] = true
	}
}

// TestOneWorkerOrder: a single worker yields the files in key order and
// each file's rows in line order.
func TestOneWorkerOrder(t *testing.T) {
	fsys := buildExport(t, nil, file("b.json.gz", items(3, 6)...), file("a.json.gz", items(0, 3)...))
	recs, err := readAll(t, open(t, fsys, 1, nil))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, r := range recs {
		fmt.Fprintf(&got, "%s:%d ", r.Next.Source[len("export:"+testID+"/"):], r.Next.Offset)
	}
	if want := "a.json.gz:1 a.json.gz:2 a.json.gz:3 b.json.gz:1 b.json.gz:2 b.json.gz:3 "; got.String() != want {
		t.Errorf("order = %s, want %s", got.String(), want)
	}
}

// TestCloseWhileReading: Close during a read of a large export returns
// promptly.
func TestCloseWhileReading(t *testing.T) {
	g := generate(t, 3000, 3)
	src := export.NewSource(g.fsys, g.m, testTable, 3, noPositions)
	if _, err := src.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}
