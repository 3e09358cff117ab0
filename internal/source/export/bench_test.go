package export_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/source/export"
)

// BenchmarkExportSource reads a generated export of 20,000 tenures in 4
// data files with 2 workers: md5 pre-check, gunzip, DynamoDB JSON decode.
// MB/s is of decompressed JSON lines.
func BenchmarkExportSource(b *testing.B) {
	g := generate(b, 20_000, 4)
	b.SetBytes(g.sum.DataBytes)
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		src := export.NewSource(g.fsys, g.m, testTable, 2, noPositions)
		n := 0
		for {
			_, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		src.Close()
		if n != g.items {
			b.Fatalf("read %d items, want %d", n, g.items)
		}
	}
	b.ReportMetric(float64(g.items)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
