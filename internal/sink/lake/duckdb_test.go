package lake

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/testutil/duckdb"
)

// These tests read the files with DuckDB, an engine that shares no code
// with parquet-go. Setup: npm ci --prefix tools/duckdb (skipped without it,
// except under CI=true).

// scanSQL reads every part of an entity's table the way analysts do.
func scanSQL(dir, entity string, kind Kind) string {
	glob := filepath.Join(dir, entity, string(kind)) + "/**/*.parquet"
	return "read_parquet(" + duckdb.Quote(glob) + ", hive_partitioning=true, hive_types_autocast=false)"
}

func publishTenures(t *testing.T, dir string, n int, now time.Time) Result {
	t.Helper()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: now, RowGroupRows: 100, FileRows: 250}
	res, err := Publish(context.Background(), opts, genScanner(n))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDuckDBReadsTenures(t *testing.T) {
	duckdb.Require(t)
	const n = 600
	dir := t.TempDir()
	publishTenures(t, dir, 40, testNow.Add(-24*time.Hour)) // yesterday's snapshot stays
	res := publishTenures(t, dir, n, testNow)
	if len(res.Files) != 3 {
		t.Fatalf("files %v", res.Files)
	}
	from := scanSQL(dir, "tenure", Current)

	t.Run("row counts per import_date", func(t *testing.T) {
		rows := duckdb.Query(t, "SELECT import_date, count(*)::VARCHAR AS n FROM "+from+" GROUP BY 1 ORDER BY 1")
		want := []string{"20260303=40", "20260304=600"}
		if got := pairs(rows, "import_date", "n"); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("column types", func(t *testing.T) {
		checkDuckDBTypes(t, from)
	})
	t.Run("values", func(t *testing.T) {
		checkDuckDBValues(t, from, n)
	})
	t.Run("exact money sums", func(t *testing.T) {
		rows := duckdb.Query(t, "SELECT sum(charges.rent)::VARCHAR AS rent, sum(charges.currentBalance)::VARCHAR AS bal FROM "+from+" WHERE import_date = '20260304'")
		rent, bal := moneySums(n)
		if rows[0]["rent"] != rent || rows[0]["bal"] != bal {
			t.Errorf("sums %v, want rent %s balance %s", rows[0], rent, bal)
		}
	})
	t.Run("leftovers", func(t *testing.T) {
		rows := duckdb.Query(t, "SELECT count(*)::VARCHAR AS n, min(json_extract_string(_leftovers, '$.numberOfAdultsInProperty')) AS v FROM "+
			from+" WHERE import_date = '20260304' AND _leftovers IS NOT NULL AND numberOfAdultsInProperty IS NULL")
		if rows[0]["n"] != fmt.Sprint(n/50) || rows[0]["v"] != "unknown" || res.Leftovers != int64(n/50) {
			t.Errorf("got %v, Result.Leftovers %d", rows[0], res.Leftovers)
		}
	})
}

func pairs(rows []map[string]any, k, v string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprint(r[k])+"="+fmt.Sprint(r[v]))
	}
	return out
}

func checkDuckDBTypes(t *testing.T, from string) {
	t.Helper()
	rows := duckdb.Query(t, "DESCRIBE SELECT * FROM "+from)
	got := map[string]string{}
	for _, r := range rows {
		got[r["column_name"].(string)] = r["column_type"].(string)
	}
	tstz := "TIMESTAMP WITH TIME ZONE"
	want := map[string]string{
		"_key":                     "VARCHAR",
		"_version":                 "BIGINT",
		"_event_time":              tstz,
		"_ingested_at":             tstz,
		"startOfTenureDate":        tstz,
		"endOfTenureDate":          tstz,
		"isTenanted":               "BOOLEAN",
		"numberOfAdultsInProperty": "BIGINT",
		"charges":                  `STRUCT(billingFrequency VARCHAR, currentBalance DECIMAL(18,1), rent DECIMAL(18,2), serviceCharge BIGINT)`,
		"householdMembers": `STRUCT(dateOfBirth TIMESTAMP WITH TIME ZONE, fullName VARCHAR, id VARCHAR, isResponsible BOOLEAN, ` +
			`personTenureType VARCHAR, "type" VARCHAR)[]`,
		"tenuredAsset": `STRUCT(fullAddress VARCHAR, id VARCHAR, isTemporaryAccommodation BOOLEAN, propertyReference VARCHAR, ` +
			`"type" VARCHAR, uprn VARCHAR)`,
		"legacyReferences": `STRUCT("name" VARCHAR, "value" VARCHAR)[]`,
		"notices":          "VARCHAR[]",
		"_leftovers":       "VARCHAR",
		"import_year":      "VARCHAR",
		"import_date":      "VARCHAR",
		"import_datetime":  tstz,
		"import_timestamp": "VARCHAR",
	}
	for k, w := range want {
		if normType(got[k]) != normType(w) {
			t.Errorf("%s: DuckDB type %s, want %s", k, got[k], w)
		}
	}
}

// normType drops the optional quotes DuckDB puts around field names.
func normType(s string) string { return strings.ReplaceAll(s, `"`, "") }

func checkDuckDBValues(t *testing.T, from string, n int) {
	t.Helper()
	rows := duckdb.Query(t, `SELECT _key, _version, charges.rent::VARCHAR AS rent, charges.currentBalance::VARCHAR AS bal,
		startOfTenureDate, endOfTenureDate, len(householdMembers) AS members, householdMembers[1].fullName AS name1,
		householdMembers[1].dateOfBirth AS dob1, householdMembers[1].isResponsible AS resp1, tenuredAsset.uprn AS uprn,
		legacyReferences[1].value AS tagref, isTenanted, numberOfAdultsInProperty AS adults, import_datetime
		FROM `+from+` WHERE import_date = '20260304' ORDER BY _key`)
	if len(rows) != n {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		img := tenure(i)
		m0 := img["householdMembers"].List[0].Map
		want := map[string]any{
			"_key":              guid(1, i),
			"_version":          fmt.Sprint(i % 7),
			"rent":              img["charges"].Map["rent"].Str,
			"bal":               img["charges"].Map["currentBalance"].Str,
			"startOfTenureDate": duckTime(img["startOfTenureDate"].Str),
			"endOfTenureDate":   nil,
			"members":           fmt.Sprint(len(img["householdMembers"].List)),
			"name1":             m0["fullName"].Str,
			"dob1":              duckTime(m0["dateOfBirth"].Str),
			"resp1":             true,
			"uprn":              img["tenuredAsset"].Map["uprn"].Str,
			"tagref":            fmt.Sprintf("%06d/01", i),
			"isTenanted":        i%3 != 0,
			"adults":            fmt.Sprint(i%4 + 1),
			"import_datetime":   "2026-03-04 05:06:07+00",
		}
		if i%4 == 2 {
			want["endOfTenureDate"] = duckTime(img["endOfTenureDate"].Str)
		}
		if i%50 == 7 {
			want["adults"] = nil
		}
		for k, w := range want {
			if g := r[k]; fmt.Sprint(g) != fmt.Sprint(w) || (g == nil) != (w == nil) {
				t.Errorf("row %d: %s = %v, want %v", i, k, g, w)
			}
		}
	}
}

// duckTime renders a Hackney date string as DuckDB prints a TIMESTAMPTZ
// in UTC.
func duckTime(s string) string {
	tm, ok := parseDateTime(s)
	if !ok {
		panic(s)
	}
	return tm.Format("2006-01-02 15:04:05.999999") + "+00"
}

// moneySums adds the test tenures' rent and balance exactly.
func moneySums(n int) (string, string) {
	rent, bal := new(big.Rat), new(big.Rat)
	for i := range n {
		c := tenure(i)["charges"].Map
		r, _ := new(big.Rat).SetString(c["rent"].Str)
		b, _ := new(big.Rat).SetString(c["currentBalance"].Str)
		rent.Add(rent, r)
		bal.Add(bal, b)
	}
	return rent.FloatString(2), bal.FloatString(1)
}

// TestDuckDBReadsEdgeTypes: wide decimals, nanosecond timestamps, sets,
// binary, JSON text and history validity through DuckDB.
func TestDuckDBReadsEdgeTypes(t *testing.T) {
	duckdb.Require(t)
	t1 := time.Date(2024, 5, 1, 9, 0, 0, 123456700, time.UTC)
	rows := []Row{
		{Key: "a", Version: "1", Op: "create", EventTime: t1, Source: "TenureAPI", ValidFrom: t1, ValidTo: t1.Add(time.Hour), Image: ddbjson.Map{
			"big":   ddbjson.N("-12345678901234567890.5"),
			"f":     ddbjson.N("0.1234567890123456789"),
			"when":  ddbjson.S("2021-03-04T10:11:12.1234567Z"),
			"tags":  ddbjson.SS("x", "y"),
			"nums":  ddbjson.NS("1.5", "-2"),
			"bin":   ddbjson.B([]byte("hi")),
			"empty": ddbjson.M(ddbjson.Map{}),
			"list":  ddbjson.L(ddbjson.M(ddbjson.Map{"id": ddbjson.S("p1")}), ddbjson.S("junk"), ddbjson.M(ddbjson.Map{"id": ddbjson.S("p2")})),
		}},
		{Key: "b", Op: "delete", EventTime: t1.Add(time.Hour), Source: "TenureAPI", ValidFrom: t1.Add(time.Hour)},
	}
	res, dir := publish(t, History, rows)
	if res.Leftovers != 1 {
		t.Errorf("leftovers %d", res.Leftovers)
	}
	r := duckdb.Run(t, `SELECT _key, big::VARCHAR AS big, f, "when", tags, nums, bin::VARCHAR AS bin, "empty", list, _leftovers,
		valid_from, valid_to FROM `+scanSQL(dir, "tenure", History)+` ORDER BY _key`)
	wantTypes := map[string]string{"f": "DOUBLE", "tags": "VARCHAR[]", "nums": "DECIMAL(18,1)[]", "empty": "VARCHAR", "list": `STRUCT(id VARCHAR)[]`}
	for k, w := range wantTypes {
		if normType(r.Type(k)) != w {
			t.Errorf("%s: %s, want %s", k, r.Type(k), w)
		}
	}
	for _, k := range []string{"when", "valid_from", "valid_to"} { // TIMESTAMP(NANOS or MICROS, UTC) in the file
		if typ := r.Type(k); typ != "TIMESTAMP WITH TIME ZONE" {
			t.Errorf("%s: %s, want TIMESTAMP WITH TIME ZONE", k, typ)
		}
	}
	a, b := r.Rows[0], r.Rows[1]
	checks := map[string]string{
		"big":        "-12345678901234567890.5",
		"f":          "0.12345678901234568",
		"when":       "2021-03-04 10:11:12.123456+00", // DuckDB's TIMESTAMPTZ holds microseconds
		"tags":       "[x y]",
		"nums":       "[1.5 -2.0]",
		"bin":        "hi",
		"empty":      "{}",
		"list":       "[map[id:p1] <nil> map[id:p2]]",
		"_leftovers": `{"list[1]":"junk"}`,
		"valid_from": "2024-05-01 09:00:00.123456+00",
	}
	for k, w := range checks {
		if g := fmt.Sprint(a[k]); !strings.HasPrefix(g, w) {
			t.Errorf("row a: %s = %s, want %s", k, g, w)
		}
	}
	if b["valid_to"] != nil || b["big"] != nil || b["list"] != nil {
		t.Errorf("delete row: %v", b)
	}
}
