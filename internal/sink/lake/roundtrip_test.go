package lake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/testutil/parquetrows"
)

// openParquet opens a file with parquet-go's reader.
func openParquet(t testing.TB, path string) *parquet.File { return parquetrows.Open(t, path) }

// readMaps reads the rows of the files, in order, as Go maps.
func readMaps(t testing.TB, files []string) []map[string]any {
	t.Helper()
	rows, _ := parquetrows.Read(t, files...)
	return rows
}

// readRaw reads the rows of one file as parquet rows, to check the stored
// (unscaled, levelled) values.
func readRaw(t testing.TB, path string) (*parquet.Schema, []parquet.Row) {
	t.Helper()
	pf := openParquet(t, path)
	r := parquet.NewReader(pf)
	var rows []parquet.Row
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			rows = append(rows, row.Clone())
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return pf.Schema(), rows
}

// leafValues returns the values of the leaf column at path in row.
func leafValues(t testing.TB, s *parquet.Schema, row parquet.Row, path ...string) []parquet.Value {
	t.Helper()
	leaf, ok := s.Lookup(path...)
	if !ok {
		t.Fatalf("no column %v", path)
	}
	var out []parquet.Value
	for _, v := range row {
		if v.Column() == leaf.ColumnIndex {
			out = append(out, v)
		}
	}
	return out
}

func micros(s string) int64 {
	t, ok := parseDateTime(s)
	if !ok {
		panic(s)
	}
	return t.UnixMicro()
}

func TestRoundTripTenures(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow, RowGroupRows: 300, FileRows: 400}
	res, err := Publish(context.Background(), opts, genScanner(n))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != n || len(res.Files) != 3 {
		t.Fatalf("rows %d files %v", res.Rows, res.Files)
	}
	if want := int64(n / 50); res.Leftovers != want {
		t.Errorf("leftovers %d, want %d", res.Leftovers, want)
	}
	checkRowGroups(t, res.Files, []int64{400, 400, 200}, 300)
	got := readMaps(t, res.Files)
	if len(got) != n {
		t.Fatalf("read %d rows", len(got))
	}
	for i, m := range got {
		checkTenure(t, i, m)
	}
}

func checkRowGroups(t *testing.T, files []string, rows []int64, maxGroup int64) {
	t.Helper()
	for i, path := range files {
		if want := partName(i); filepath.Base(path) != want {
			t.Errorf("file %d is %s, want %s", i, filepath.Base(path), want)
		}
		pf := openParquet(t, path)
		if pf.NumRows() != rows[i] {
			t.Errorf("%s: %d rows, want %d", path, pf.NumRows(), rows[i])
		}
		for _, rg := range pf.RowGroups() {
			if rg.NumRows() > maxGroup {
				t.Errorf("%s: row group of %d rows", path, rg.NumRows())
			}
		}
		if len(pf.RowGroups()) < int((rows[i]+maxGroup-1)/maxGroup) {
			t.Errorf("%s: %d row groups", path, len(pf.RowGroups()))
		}
	}
}

// checkTenure compares a row read back with the image it was made from.
func checkTenure(t *testing.T, i int, m map[string]any) {
	t.Helper()
	img := tenure(i)
	want := map[string]any{
		"_key":              guid(1, i),
		"_op":               "snapshot",
		"_source":           "export",
		"_version":          int64(i % 7),
		"_event_id":         nil,
		"_ingested_at":      testNow.Add(-time.Hour).UnixMicro(),
		"id":                img["id"].Str,
		"startOfTenureDate": micros(img["startOfTenureDate"].Str),
		"isTenanted":        i%3 != 0,
		"import_date":       "20260304",
		"import_timestamp":  strconv.FormatInt(testNow.Unix(), 10),
		"import_datetime":   testNow.UnixMicro(),
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("row %d: %s = %#v, want %#v", i, k, m[k], v)
		}
	}
	members := m["householdMembers"].([]any)
	wantMembers := img["householdMembers"].List
	if len(members) != len(wantMembers) {
		t.Fatalf("row %d: %d members, want %d", i, len(members), len(wantMembers))
	}
	for j, mem := range members {
		mm := mem.(map[string]any)
		w := wantMembers[j].Map
		if mm["fullName"] != w["fullName"].Str || mm["dateOfBirth"] != micros(w["dateOfBirth"].Str) || mm["isResponsible"] != w["isResponsible"].Bool {
			t.Errorf("row %d member %d: %v", i, j, mm)
		}
	}
	rent, _ := strconv.ParseFloat(img["charges"].Map["rent"].Str, 64)
	if got := m["charges"].(map[string]any)["rent"]; got != rent {
		t.Errorf("row %d: rent %v, want %v", i, got, rent)
	}
	checkEndDate(t, i, m["endOfTenureDate"])
	if i%50 == 7 {
		if m["numberOfAdultsInProperty"] != nil || m["_leftovers"] != `{"numberOfAdultsInProperty":"unknown"}` {
			t.Errorf("row %d: mixed kind: %v, leftovers %v", i, m["numberOfAdultsInProperty"], m["_leftovers"])
		}
	} else if m["numberOfAdultsInProperty"] != int64(i%4+1) || m["_leftovers"] != nil {
		t.Errorf("row %d: adults %v, leftovers %v", i, m["numberOfAdultsInProperty"], m["_leftovers"])
	}
}

func checkEndDate(t *testing.T, i int, got any) {
	t.Helper()
	var want any
	if i%4 == 2 {
		want = micros(tenure(i)["endOfTenureDate"].Str)
	}
	if got != want {
		t.Errorf("row %d: endOfTenureDate %v, want %v", i, got, want)
	}
}

func TestRoundTripExactDecimals(t *testing.T) {
	rows := []Row{
		{Key: "a", Op: "snapshot", Image: ddbjson.Map{
			"money": ddbjson.N("123.45"), "big": ddbjson.N("12345678901234567890.5"), "f": ddbjson.N("0.1234567890123456789"),
		}},
		{Key: "b", Op: "snapshot", Image: ddbjson.Map{
			"money": ddbjson.N("-0.1"), "big": ddbjson.N("-3"), "f": ddbjson.N("2"),
		}},
	}
	res, _ := publish(t, Current, rows)
	wantTypes := map[string]string{"money": "decimal(18,2)", "big": "decimal(38,1)", "f": "double"}
	for _, c := range res.Columns {
		if w, ok := wantTypes[c.Name]; ok && c.Type != w {
			t.Errorf("%s: %s, want %s", c.Name, c.Type, w)
		}
	}
	s, raw := readRaw(t, res.Files[0])
	if got := leafValues(t, s, raw[0], "money")[0].Int64(); got != 12345 {
		t.Errorf("money[0] unscaled %d", got)
	}
	if got := leafValues(t, s, raw[1], "money")[0].Int64(); got != -10 {
		t.Errorf("money[1] unscaled %d", got)
	}
	if got := leafValues(t, s, raw[1], "big")[0].ByteArray(); len(got) != 16 || got[0] != 0xff || got[15] != 0xe2 { // -30
		t.Errorf("big[1] bytes %x", got)
	}
	if got := leafValues(t, s, raw[0], "f")[0].Double(); math.Abs(got-0.1234567890123456789) > 1e-18 {
		t.Errorf("f[0] %v", got)
	}
}

// TestRoundTripValues checks the value forms one row at a time.
func TestRoundTripValues(t *testing.T) {
	S, N := ddbjson.S, ddbjson.N
	images := []ddbjson.Map{
		{
			"tags":    ddbjson.SS("a", "b"),
			"nums":    ddbjson.NS("1", "2"),
			"blobs":   ddbjson.BS([]byte("x")),
			"bin":     ddbjson.B([]byte{0, 1, 2}),
			"empty":   ddbjson.M(ddbjson.Map{}),
			"nothing": ddbjson.Null(),
			"when":    S("2021-03-04T10:11:12.1234567Z"),
			"list":    ddbjson.L(ddbjson.M(ddbjson.Map{"id": S("p1")}), S("junk"), ddbjson.M(ddbjson.Map{"id": S("p2")})),
			"charges": ddbjson.M(ddbjson.Map{"rent": N("1.5")}),
			"s":       S(""),
		},
		{
			"tags":    ddbjson.SS(),
			"list":    ddbjson.L(ddbjson.M(ddbjson.Map{"id": S("p3")})),
			"charges": ddbjson.M(ddbjson.Map{"rent": S("n/a")}),
			"when":    S(""),
			"empty":   ddbjson.M(ddbjson.Map{}),
		},
		{
			"charges": ddbjson.M(ddbjson.Map{"rent": N("2")}),
			"when":    ddbjson.Null(),
		},
	}
	rows := make([]Row, len(images))
	for i, img := range images {
		rows[i] = Row{Key: strconv.Itoa(i), Op: "snapshot", Image: img}
	}
	res, _ := publish(t, Current, rows)
	if res.Leftovers != 2 {
		t.Errorf("leftovers %d, want 2", res.Leftovers)
	}
	got := readMaps(t, res.Files)
	want := []map[string]any{
		{
			"tags": []any{"a", "b"}, "nums": []any{int64(1), int64(2)}, "blobs": []any{"x"}, // parquet-go reads BYTE_ARRAY into any as string
			"bin": "\x00\x01\x02", "empty": "{}", "nothing": nil,
			"when":       time.Date(2021, 3, 4, 10, 11, 12, 123456700, time.UTC).UnixNano(),
			"list":       []any{map[string]any{"id": "p1"}, nil, map[string]any{"id": "p2"}},
			"charges":    map[string]any{"rent": 1.5},
			"s":          "",
			"_leftovers": `{"list[1]":"junk"}`,
		},
		{
			"tags": []any{}, "nums": nil, "blobs": nil, "bin": nil, "empty": "{}", "nothing": nil, "when": nil,
			"list":       []any{map[string]any{"id": "p3"}},
			"charges":    map[string]any{"rent": nil},
			"s":          nil,
			"_leftovers": `{"charges.rent":"n/a"}`,
		},
		{
			"tags": nil, "nums": nil, "blobs": nil, "bin": nil, "empty": nil, "nothing": nil, "when": nil,
			"list": nil, "charges": map[string]any{"rent": 2.0}, "s": nil, "_leftovers": nil,
		},
	}
	for i := range want {
		for k, w := range want[i] {
			if !reflect.DeepEqual(got[i][k], w) {
				t.Errorf("row %d: %s = %#v, want %#v", i, k, got[i][k], w)
			}
		}
	}
}

// TestUnstableScanner: attributes and kinds the schema pass did not see
// still reach the files, through _leftovers.
func TestUnstableScanner(t *testing.T) {
	pass := 0
	scan := func(fn func(*Row) error) error {
		pass++
		r := Row{Key: "k", Op: "update", Version: "3", Image: ddbjson.Map{"a": ddbjson.N("1"), "m": ddbjson.M(ddbjson.Map{"x": ddbjson.S("y")})}}
		if pass == 2 {
			r.Version = "3.5"
			r.Image = ddbjson.Map{
				"a":   ddbjson.N("1.25"),
				"m":   ddbjson.M(ddbjson.Map{"x": ddbjson.S("y"), "new": ddbjson.Bool(true)}),
				"new": ddbjson.L(ddbjson.N("1")),
			}
		}
		return fn(&r)
	}
	dir := t.TempDir()
	res, err := Publish(context.Background(), Options{Dir: dir, Entity: "e", Kind: Current, Now: testNow}, scan)
	if err != nil {
		t.Fatal(err)
	}
	got := readMaps(t, res.Files)
	var left map[string]any
	if err := json.Unmarshal([]byte(got[0]["_leftovers"].(string)), &left); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"_version": "3.5", "a": 1.25, "m.new": true, "new": []any{1.0}}
	if !reflect.DeepEqual(left, want) || res.Leftovers != 4 {
		t.Errorf("leftovers %d %v, want %v", res.Leftovers, left, want)
	}
}

func TestHistoryRows(t *testing.T) {
	t1 := time.Date(2024, 5, 1, 9, 0, 0, 123456700, time.UTC)
	t2 := t1.Add(time.Hour)
	rows := []Row{
		{Key: "k", Version: "1", Op: "create", EventID: "e1", EventType: "TenureCreatedEvent", EventTime: t1, Source: "TenureAPI",
			IngestedAt: t1, ValidFrom: t1, ValidTo: t2, Image: ddbjson.Map{"a": ddbjson.S("x")}},
		{Key: "k", Op: "delete", EventTime: t2, Source: "TenureAPI", IngestedAt: t2, ValidFrom: t2},
	}
	res, _ := publish(t, History, rows)
	types := map[string]string{}
	for _, c := range res.Columns {
		types[c.Name] = c.Type
	}
	// Metadata times are microseconds whatever the input's precision.
	if types["valid_from"] != "timestamp" || types["valid_to"] != "timestamp" || types["_event_time"] != "timestamp" || types["_ingested_at"] != "timestamp" {
		t.Errorf("types %v", types)
	}
	got := readMaps(t, res.Files)
	want := []map[string]any{
		{"_key": "k", "_version": int64(1), "_op": "create", "_event_id": "e1", "_event_type": "TenureCreatedEvent",
			"_event_time": t1.UnixMicro(), "_source": "TenureAPI", "_ingested_at": t1.UnixMicro(),
			"valid_from": t1.UnixMicro(), "valid_to": t2.UnixMicro(), "a": "x", "_leftovers": nil},
		{"_key": "k", "_version": nil, "_op": "delete", "_event_id": nil, "_event_type": nil,
			"valid_from": t2.UnixMicro(), "valid_to": nil, "a": nil},
	}
	for i := range want {
		for k, w := range want[i] {
			if !reflect.DeepEqual(got[i][k], w) {
				t.Errorf("row %d: %s = %#v, want %#v", i, k, got[i][k], w)
			}
		}
	}
}

// TestBuffersReused: the parquet writer must copy what a row points to,
// since the caller reuses its Row and its strings' memory.
func TestBuffersReused(t *testing.T) {
	buf := []byte("aaaa")
	scan := func(fn func(*Row) error) error {
		for i := range 3 {
			for j := range buf {
				buf[j] = 'a' + byte(i)
			}
			s := string(buf) // a fresh string each row, then forgotten
			r := Row{Key: s, Op: "snapshot", Image: ddbjson.Map{"v": ddbjson.S(s), "e": ddbjson.M(ddbjson.Map{})}}
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := Publish(context.Background(), Options{Dir: t.TempDir(), Entity: "e", Kind: Current, Now: testNow}, scan)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range readMaps(t, res.Files) {
		want := string(bytesOf('a'+byte(i), 4))
		if m["_key"] != want || m["v"] != want || m["e"] != "{}" {
			t.Errorf("row %d: %v", i, m)
		}
	}
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

// TestLeftoverPaths: a misfit deep inside lists and structs is kept under
// its full path, and the rest of the row is written.
func TestLeftoverPaths(t *testing.T) {
	S, N := ddbjson.S, ddbjson.N
	member := func(dob ddbjson.Value) ddbjson.Value {
		return ddbjson.M(ddbjson.Map{"dob": dob, "name": S("x")})
	}
	images := []ddbjson.Map{
		{"hh": ddbjson.L(member(S("1985-01-01T00:00:00")), member(S("1990-02-03"))), "grid": ddbjson.L(ddbjson.L(N("1"), N("2")))},
		{"hh": ddbjson.L(member(S("")), member(N("5"))), "grid": ddbjson.L(ddbjson.L(N("3"), S("x"), N("4")))},
	}
	rows := []Row{{Key: "a", Op: "snapshot", Image: images[0]}, {Key: "b", Op: "snapshot", Image: images[1]}}
	res, _ := publish(t, Current, rows)
	got := readMaps(t, res.Files)
	if want := `{"grid[0][1]":"x","hh[1].dob":5}`; got[1]["_leftovers"] != want {
		t.Errorf("leftovers %v, want %s", got[1]["_leftovers"], want)
	}
	wantHH := []any{map[string]any{"dob": nil, "name": "x"}, map[string]any{"dob": nil, "name": "x"}}
	if !reflect.DeepEqual(got[1]["hh"], wantHH) {
		t.Errorf("hh %#v", got[1]["hh"])
	}
	if wantGrid := []any{[]any{int64(3), nil, int64(4)}}; !reflect.DeepEqual(got[1]["grid"], wantGrid) {
		t.Errorf("grid %#v", got[1]["grid"])
	}
	if res.Leftovers != 2 {
		t.Errorf("Result.Leftovers %d", res.Leftovers)
	}
}

func TestSchemaPrints(t *testing.T) {
	tbl := inferImages(tenure(1))
	s := tbl.schema.String()
	for _, want := range []string{"optional group charges {", "optional int64 rent (DECIMAL(18,2));", "optional group householdMembers (LIST)"} {
		if !strings.Contains(s, want) {
			t.Errorf("schema lacks %q:\n%s", want, s)
		}
	}
}
