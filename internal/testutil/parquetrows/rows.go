// Package parquetrows reads Parquet part files back as rows, for tests
// that compare tables (DuckDB, in internal/testutil/duckdb, is the
// independent reader; this one is quick and needs no tool).
package parquetrows

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Open opens a Parquet file; it is closed when the test ends.
func Open(t testing.TB, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	return pf
}

// Read returns the rows of the files, in order, as maps from column name
// to value, and the schema of the last file.
func Read(t testing.TB, paths ...string) (rows []map[string]any, schema string) {
	t.Helper()
	for _, path := range paths {
		pf := Open(t, path)
		schema = pf.Schema().String()
		r := parquet.NewReader(pf)
		for {
			m := map[string]any{}
			if err := r.Read(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("reading %s: %v", path, err)
			}
			rows = append(rows, m)
		}
	}
	return rows, schema
}
