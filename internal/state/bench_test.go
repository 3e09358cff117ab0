package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// BenchmarkCommit measures committing batches of 2000 tenures as a
// bootstrap does: for each a Get, a Put, a history row, an event id and the
// batch's position, then one fsynced commit. Keys are new in every batch.
func BenchmarkCommit(b *testing.B) {
	const batch = 2000
	s, _ := newStore(b)
	images := make([]ddbjson.Map, 64)
	for i := range images {
		images[i] = tenureImage(fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i), 1+i%4)
	}
	now := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		txn := s.Begin()
		for i := 0; i < batch; i++ {
			n++
			key := change.Key{Hash: ddbjson.S(fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", n))}.Bytes()
			prev, err := txn.Get("tenure", key)
			if err != nil {
				b.Fatal(err)
			}
			r := &Record{Live: true, Image: images[n%len(images)], Version: "7", AsOf: now, Changed: now, Seq: 1,
				Op: "snapshot", Source: "export", IngestedAt: now}
			if prev != nil {
				r.Seq = prev.Seq + 1
			}
			txn.Put("tenure", key, r)
			if err := txn.AppendHistory("tenure", key, prev, r); err != nil {
				b.Fatal(err)
			}
			if err := txn.MarkEvent("tenure", fmt.Sprint("ev-", n), time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
		txn.SetPosition("export:x/a.json.gz", int64(n), "")
		if err := txn.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
