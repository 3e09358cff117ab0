package lake

import (
	"context"
	"github.com/parquet-go/parquet-go"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// BenchmarkPublish publishes 100k tenure-like rows (both passes, zstd,
// fsync) and reports rows/s and MB written. The rows are generated before
// the timer starts.
//
//	go test -run '^$' -bench BenchmarkPublish -benchtime 3x ./internal/sink/lake/
func BenchmarkPublish(b *testing.B) {
	benchPublish(b, tenureRows(100_000))
}

// BenchmarkPublishStored is BenchmarkPublish with the images in the
// store's binary form (Row.ImageBin), as the pipeline publishes them.
func BenchmarkPublishStored(b *testing.B) {
	rows := tenureRows(100_000)
	for i := range rows {
		rows[i].ImageBin = ddbjson.AppendBinary(nil, rows[i].Image)
		rows[i].Image = nil
	}
	benchPublish(b, rows)
}

func benchPublish(b *testing.B, rows []Row) {
	n := len(rows)
	dir := b.TempDir()
	opts := Options{Dir: dir, Entity: "tenure", Kind: Current, Now: testNow}
	b.ReportAllocs()
	b.ResetTimer()
	var res Result
	for range b.N {
		var err error
		res, err = Publish(context.Background(), opts, sliceScanner(rows))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	var size int64
	for _, f := range res.Files {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	b.ReportMetric(float64(size)/1e6, "MB/file-set")
	_ = filepath.Base(dir)
}

// BenchmarkShred measures the conversion of rows alone (no I/O).
func BenchmarkShred(b *testing.B) {
	rows := tenureRows(1000)
	st := newTableStats()
	for i := range rows {
		st.add(&rows[i], Current)
	}
	benchShred(b, buildTable(st, Current), rows)
}

// BenchmarkShredStored is BenchmarkShred with the images in the store's
// binary form, as the pipeline publishes them (BenchmarkShred's map rows
// are encoded into that form first).
func BenchmarkShredStored(b *testing.B) {
	rows := tenureRows(1000)
	st := newTableStats()
	for i := range rows {
		st.add(&rows[i], Current)
		rows[i].ImageBin = ddbjson.AppendBinary(nil, rows[i].Image)
		rows[i].Image = nil
	}
	benchShred(b, buildTable(st, Current), rows)
}

// benchShred shreds rows into a batch, emptied every pipeBatchRows rows as
// the pipe's writer does.
func benchShred(b *testing.B, t *table, rows []Row) {
	sh := newShredder(t, testNow)
	batch := &rowBatch{cols: make([][]parquet.Value, t.numLeaves)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%pipeBatchRows == 0 {
			for c := range batch.cols {
				batch.cols[c] = batch.cols[c][:0]
			}
			batch.bytes = batch.bytes[:0]
		}
		if err := sh.shred(&rows[i%len(rows)], batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
