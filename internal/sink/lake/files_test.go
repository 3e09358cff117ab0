package lake

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLayout(t *testing.T) {
	now := time.Date(2026, 1, 2, 23, 30, 0, 0, time.FixedZone("BST", 3600)) // 22:30 UTC
	dir := t.TempDir()
	res, err := Publish(context.Background(), Options{Dir: dir, Entity: "tenure", Kind: History, Now: now}, genScanner(3))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "tenure", "history", "import_year=2026", "import_month=01", "import_day=02", "import_date=20260102", "part-00000.parquet")
	if !reflect.DeepEqual(res.Files, []string{want}) {
		t.Errorf("files %v, want %s", res.Files, want)
	}
	if got := PartitionDir(dir, "tenure", History, now); got != filepath.Dir(want) {
		t.Errorf("PartitionDir %s", got)
	}
	m := readMaps(t, res.Files)[0]
	if m["import_year"] != "2026" || m["import_month"] != "01" || m["import_day"] != "02" || m["import_date"] != "20260102" ||
		m["import_timestamp"] != "1767393000" || m["import_datetime"] != now.UnixMicro() {
		t.Errorf("partition columns %v %v %v %v %v %v", m["import_year"], m["import_month"], m["import_day"], m["import_date"], m["import_timestamp"], m["import_datetime"])
	}
}

func TestRepublishReplacesTheDay(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow, FileRows: 10}
	yesterday := opts
	yesterday.Now = testNow.Add(-24 * time.Hour)
	old, err := Publish(context.Background(), yesterday, genScanner(5))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Publish(context.Background(), opts, genScanner(25)) // 3 parts
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Files) != 3 {
		t.Fatalf("first publish wrote %v", first.Files)
	}
	second, err := Publish(context.Background(), opts, genScanner(12)) // 2 parts
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Dir(second.Files[0])
	if got := allFiles(t, part); !reflect.DeepEqual(got, []string{"part-00000.parquet", "part-00001.parquet"}) {
		t.Errorf("partition holds %v", got)
	}
	if n := len(readMaps(t, second.Files)); n != 12 {
		t.Errorf("read %d rows, want 12", n)
	}
	if _, err := os.Stat(old.Files[0]); err != nil {
		t.Errorf("yesterday's file is gone: %v", err)
	}
}

func TestEmptyTable(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow}
	if _, err := Publish(context.Background(), opts, genScanner(30)); err != nil {
		t.Fatal(err)
	}
	res, err := Publish(context.Background(), opts, genScanner(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Rows != 0 {
		t.Fatalf("files %v rows %d", res.Files, res.Rows)
	}
	if n := openParquet(t, res.Files[0]).NumRows(); n != 0 {
		t.Errorf("empty publish left %d rows", n)
	}
}

// TestFailedPublishKeepsPreviousFiles: a scanner failing mid-write leaves
// no partial part visible, no temp file, and yesterday's and today's
// earlier files untouched.
func TestFailedPublishKeepsPreviousFiles(t *testing.T) {
	// Small spool batches, so that rows reach the writer while the scan
	// goes on, and its temp files exist when the scan fails.
	defer func(n int) { spoolBatchRows = n }(spoolBatchRows)
	spoolBatchRows = 8
	dir := t.TempDir()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow, RowGroupRows: 10, FileRows: 50}
	prev, err := Publish(context.Background(), opts, genScanner(120))
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotFiles(t, prev.Files)
	boom := errors.New("boom")
	part := filepath.Dir(prev.Files[0])
	pass := 0
	failing := func(fn func(*Row) error) error {
		pass++
		for i := range 200 {
			if pass == 2 && i == 137 {
				checkOnlyTempsAdded(t, part)
				return boom // after two parts were complete and a third begun
			}
			r := tenureRow(i)
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	}
	_, err = Publish(context.Background(), opts, failing)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if !strings.Contains(err.Error(), "publishing tenure/current") {
		t.Errorf("error does not say what failed: %v", err)
	}
	if got := allFiles(t, part); !reflect.DeepEqual(got, []string{"part-00000.parquet", "part-00001.parquet", "part-00002.parquet"}) {
		t.Errorf("partition holds %v", got)
	}
	if after := snapshotFiles(t, prev.Files); !reflect.DeepEqual(after, before) {
		t.Error("previous files changed")
	}
	if n := len(readMaps(t, prev.Files)); n != 120 {
		t.Errorf("previous files hold %d rows", n)
	}
}

func TestCancelledPublish(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	pass := 0
	scan := func(fn func(*Row) error) error {
		pass++
		for i := range 5000 {
			if pass == 2 && i == 2000 {
				cancel()
			}
			r := tenureRow(i)
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := Publish(ctx, Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow}, scan)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "tenure", "current", "*", "*", "*", "*", "*")); len(m) != 0 {
		t.Errorf("files left: %v", m)
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow}
	part := PartitionDir(dir, "tenure", Current, testNow)
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(part, ".tmp-part-00000.parquet-123")
	other := filepath.Join(part, "_SUCCESS")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Publish(context.Background(), opts, genScanner(2)); err != nil {
		t.Fatal(err)
	}
	if got := allFiles(t, part); !reflect.DeepEqual(got, []string{"_SUCCESS", "part-00000.parquet"}) {
		t.Errorf("partition holds %v", got)
	}
}

func TestOptionsValidated(t *testing.T) {
	ok := Options{Dir: "x", Entity: "tenure", Kind: Current, Now: testNow}
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"no dir", func(o *Options) { o.Dir = "" }},
		{"no entity", func(o *Options) { o.Entity = "" }},
		{"entity with slash", func(o *Options) { o.Entity = "a/b" }},
		{"entity dot dot", func(o *Options) { o.Entity = ".." }},
		{"bad kind", func(o *Options) { o.Kind = "snapshot" }},
		{"no time", func(o *Options) { o.Now = time.Time{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			called := false
			_, err := Publish(context.Background(), o, func(func(*Row) error) error { called = true; return nil })
			if err == nil || called {
				t.Errorf("err = %v, scanner called %v", err, called)
			}
		})
	}
}

// checkOnlyTempsAdded: while a publish writes, the partition shows the
// previous parts plus hidden temp files only.
func checkOnlyTempsAdded(t *testing.T, part string) {
	t.Helper()
	var parts, temps int
	// The rows read so far are written on other goroutines: wait until
	// they have reached the third part.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		parts, temps = 0, 0
		for _, name := range allFiles(t, part) {
			switch {
			case strings.HasPrefix(name, ".tmp-part-") && !strings.HasSuffix(name, ".parquet"):
				temps++
			case strings.HasPrefix(name, "part-"):
				parts++
			case strings.HasPrefix(name, tempPrefix+"pages-"):
				// A row group's page buffer, seen in the instant between
				// its creation and its unlinking (pageFiles).
			default:
				t.Errorf("unexpected file %s", name)
			}
		}
		if temps >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if parts != 3 || temps != 3 {
		t.Errorf("mid-write: %d parts, %d temps; want 3 and 3", parts, temps)
	}
}

func snapshotFiles(t *testing.T, files []string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = bytes.Clone(b)
	}
	return out
}

// TestMemoryBoundedByRowGroup: the live heap during the write pass stays
// near one row group's worth, far below the table (100k rows of about 3 KB
// each would be ~300 MB).
func TestMemoryBoundedByRowGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n, every = 100_000, 20_000
	var peak uint64
	pass := 0
	scan := func(fn func(*Row) error) error {
		pass++
		for i := range n {
			if pass == 2 && i%every == every-1 {
				peak = max(peak, liveHeap())
			}
			r := tenureRow(i)
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	}
	opts := Options{Dir: t.TempDir(), Entity: "tenure", Kind: Current, Now: testNow, RowGroupRows: 10_000}
	if _, err := Publish(context.Background(), opts, scan); err != nil {
		t.Fatal(err)
	}
	t.Logf("peak live heap %.1f MB", float64(peak)/1e6)
	if peak > 96<<20 {
		t.Errorf("peak live heap %d MB", peak>>20)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
