package duckdb

import (
	"github.com/tidemark-dev/tidemark/internal/testutil"
	"os"
	"path/filepath"
	"testing"
)

func TestQuote(t *testing.T) {
	if got := Quote("it's/a*.parquet"); got != "'it''s/a*.parquet'" {
		t.Errorf("Quote = %s", got)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "duckdb", "query.mjs")); err != nil {
		t.Errorf("module root %s has no tools/duckdb/query.mjs: %v", root, err)
	}
}

func TestRun(t *testing.T) {
	r := Run(t, "SELECT 12345678901::BIGINT AS b, 1.50::DECIMAL(18,2) AS d, TIMESTAMPTZ '2021-03-04 10:00:00+01' AS ts, [1, 2] AS l, NULL AS n")
	if len(r.Rows) != 1 {
		t.Fatalf("rows %v", r.Rows)
	}
	row := r.Rows[0]
	if row["b"] != "12345678901" || row["d"] != "1.50" || row["ts"] != "2021-03-04 09:00:00+00" || row["n"] != nil {
		t.Errorf("row %v", row)
	}
	if r.Type("d") != "DECIMAL(18,2)" || r.Type("ts") != "TIMESTAMP WITH TIME ZONE" || r.Type("l") != "INTEGER[]" {
		t.Errorf("columns %v", r.Columns)
	}
}
