package lake

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
)

// TestWriterSegmentsEqualPublish: statistics gathered row by row and
// segments written at the same time give the same files' contents as
// Publish's two passes: the same schema, the same rows in the same order,
// parts of FileRows rows within each segment.
func TestWriterSegmentsEqualPublish(t *testing.T) {
	const n = 1000
	cuts := []int{0, 150, 150, 620, n} // segment 1 is empty
	want, err := Publish(context.Background(), Options{Dir: t.TempDir(), Entity: "tenure", Kind: Current, Now: testNow, RowGroupRows: 50, FileRows: 200}, genScanner(n))
	if err != nil {
		t.Fatal(err)
	}
	st := NewStats(Current)
	for i := range n {
		r := tenureRow(i)
		if err := st.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	w, err := NewWriter(Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow, RowGroupRows: 50, FileRows: 200}, st)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(cuts)-1)
	for s := len(cuts) - 2; s >= 0; s-- { // started out of order
		seg, err := w.Segment(s)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := cuts[s]; i < cuts[s+1]; i++ {
				r := tenureRow(i)
				if errs[s] = seg.Write(&r); errs[s] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := w.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != n || !reflect.DeepEqual(got.Columns, want.Columns) {
		t.Fatalf("Commit: %d rows, columns %v; Publish: %d rows, columns %v", got.Rows, got.Columns, want.Rows, want.Columns)
	}
	// Segments of 150, 0, 470 and 380 rows: parts of 150; 200, 200, 70; 200, 180.
	if len(got.Files) != 6 {
		t.Fatalf("%d files, want 6: %v", len(got.Files), got.Files)
	}
	if g, w := readMaps(t, got.Files), readMaps(t, want.Files); !reflect.DeepEqual(g, w) {
		t.Fatalf("the segments' rows differ from Publish's (%d and %d rows)", len(g), len(w))
	}
	if files := allFiles(t, PartitionDir(dir, "tenure", Current, testNow)); len(files) != 6 {
		t.Fatalf("the partition holds %v, want the 6 parts only", files)
	}
}

// TestWriterEmptyAndAbort: a writer with no rows commits one empty part
// that replaces the day's earlier files; an aborted one leaves the
// partition as it was.
func TestWriterEmptyAndAbort(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow}
	prev, err := Publish(context.Background(), opts, genScanner(10))
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotFiles(t, prev.Files)
	st := NewStats(Current)
	r := tenureRow(1)
	if err := st.Add(&r); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(opts, st)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := w.Segment(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := seg.Write(&r); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if after := snapshotFiles(t, prev.Files); !reflect.DeepEqual(after, before) {
		t.Fatal("an aborted writer changed the partition's files")
	}
	if files := allFiles(t, PartitionDir(dir, "tenure", Current, testNow)); len(files) != len(prev.Files) {
		t.Fatalf("an aborted writer left %v", files)
	}
	w, err = NewWriter(opts, NewStats(Current))
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Rows != 0 || openParquet(t, res.Files[0]).NumRows() != 0 {
		t.Fatalf("an empty writer: %+v", res)
	}
	if files := allFiles(t, PartitionDir(dir, "tenure", Current, testNow)); len(files) != 1 {
		t.Fatalf("after an empty commit the partition holds %v, want one part", files)
	}
	if _, err := NewWriter(opts, NewStats(History)); err == nil {
		t.Fatal("NewWriter took a history table's statistics for a current one")
	}
}
