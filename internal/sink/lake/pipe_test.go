package lake

import (
	"context"
	"fmt"
	"testing"
)

// TestPipeBoundaries: with spooled batches and row groups of any size,
// every row is written once, in scan order, each part holds FileRows rows
// and each of its row groups RowGroupRows (the last ones fewer).
func TestPipeBoundaries(t *testing.T) {
	defer func(rows int) { spoolBatchRows = rows }(spoolBatchRows)
	const n = 2345
	for _, tc := range []struct{ batch, group, file int }{
		{512, 100, 1000},
		{7, 50, 1000},
		{13, 64, 500}, // row groups restart with each part
		{1, 10, 700},
		{300, 1000, 1000},
		{512, 300, 300},
	} {
		t.Run(fmt.Sprintf("batches of %d, groups of %d, parts of %d", tc.batch, tc.group, tc.file), func(t *testing.T) {
			spoolBatchRows = tc.batch
			opts := Options{Dir: t.TempDir(), Entity: "tenure", Kind: Current, Now: testNow, RowGroupRows: tc.group, FileRows: tc.file}
			res, err := Publish(context.Background(), opts, genScanner(n))
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != n || len(res.Files) != (n+tc.file-1)/tc.file {
				t.Fatalf("%d rows in %d files, want %d in %d", res.Rows, len(res.Files), n, (n+tc.file-1)/tc.file)
			}
			for i, path := range res.Files {
				pf := openParquet(t, path)
				want := min(tc.file, n-i*tc.file)
				if int(pf.NumRows()) != want {
					t.Fatalf("%s holds %d rows, want %d", path, pf.NumRows(), want)
				}
				for g, rg := range pf.RowGroups() {
					if w := min(tc.group, want-g*tc.group); int(rg.NumRows()) != w {
						t.Fatalf("%s row group %d holds %d rows, want %d", path, g, rg.NumRows(), w)
					}
				}
			}
			for i, m := range readMaps(t, res.Files) {
				if want := guid(1, i); m["_key"] != want {
					t.Fatalf("row %d has _key %v, want %s", i, m["_key"], want)
				}
			}
		})
	}
}
