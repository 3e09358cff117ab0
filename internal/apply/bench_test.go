package apply

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

func benchImage(i int) ddbjson.Map {
	img := ddbjson.Map{"id": ddbjson.S(fmt.Sprintf("k%08d", i)), "versionNumber": ddbjson.N("3")}
	for f := 0; f < 20; f++ {
		img[fmt.Sprintf("field%02d", f)] = ddbjson.S(fmt.Sprintf("value %d of %d", f, i))
	}
	img["members"] = ddbjson.L(ddbjson.M(ddbjson.Map{"id": ddbjson.S("p1"), "fullName": ddbjson.S("A Person")}))
	return img
}

// BenchmarkApplySnapshotRows measures durable snapshot rows per second:
// apply plus a commit (fsync) every 1000 rows.
func BenchmarkApplySnapshotRows(b *testing.B) {
	store := openStore(b, b.TempDir())
	defer store.Close()
	mat := newMat(store)
	imgs := make([]ddbjson.Map, 1000)
	for i := range imgs {
		imgs[i] = benchImage(i)
	}
	b.ResetTimer()
	txn := mat.Begin()
	for i := 0; i < b.N; i++ {
		img := imgs[i%len(imgs)]
		c := &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(fmt.Sprintf("k%09d", i))}, Op: change.OpUpsert,
			Image: img, Version: "3", AsOf: snapT, EventTime: snapT, Origin: change.OriginSnapshot}
		if _, err := mat.Apply(txn, c); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
			txn = mat.Begin()
		}
	}
	if err := txn.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkApplyEvents measures durable patch events per second against
// 10,000 existing entities: dedupe lookup, state read, apply, history row,
// and a commit every 1000 events.
func BenchmarkApplyEvents(b *testing.B) {
	store := openStore(b, b.TempDir())
	defer store.Close()
	mat := newMat(store)
	const keys = 10000
	txn := mat.Begin()
	if err := mat.SetSnapshotAsOf(txn, "t", snapT); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < keys; i++ {
		c := &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(fmt.Sprintf("k%08d", i))}, Op: change.OpUpsert,
			Image: benchImage(i), Version: "3", AsOf: snapT, EventTime: snapT, Origin: change.OriginSnapshot}
		if _, err := mat.Apply(txn, c); err != nil {
			b.Fatal(err)
		}
	}
	if err := txn.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	txn = mat.Begin()
	for i := 0; i < b.N; i++ {
		k := i % keys
		c := &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(fmt.Sprintf("k%08d", k))}, Op: change.OpPatch,
			Image: ddbjson.Map{"field03": ddbjson.S(fmt.Sprintf("new %d", i))}, EventTime: snapT.Add(time.Duration(i+1) * time.Second),
			Origin: change.OriginEvent, EventID: fmt.Sprintf("e%09d", i), EventType: "TenureUpdatedEvent"}
		if _, err := mat.Apply(txn, c); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
			txn = mat.Begin()
		}
	}
	if err := txn.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
