package apply

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/gen"
	"github.com/tidemark-dev/tidemark/internal/source/export"
	"github.com/tidemark-dev/tidemark/internal/state"
)

func benchImage(i int) ddbjson.Map {
	img := ddbjson.Map{"id": ddbjson.S(fmt.Sprintf("k%08d", i)), "versionNumber": ddbjson.N("3")}
	for f := 0; f < 20; f++ {
		img[fmt.Sprintf("field%02d", f)] = ddbjson.S(fmt.Sprintf("value %d of %d", f, i))
	}
	img["members"] = ddbjson.L(ddbjson.M(ddbjson.Map{"id": ddbjson.S("p1"), "fullName": ddbjson.S("A Person")}))
	return img
}

// loadBenchKeys gives mat's store the entities k00000000.. of n
// benchImages, as a snapshot's rows, committed every 1000.
func loadBenchKeys(b *testing.B, mat *Materializer, n int) {
	b.Helper()
	txn := mat.Begin()
	if err := mat.SetSnapshotAsOf(txn, "t", snapT); err != nil {
		b.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		b.Fatal(err)
	}
	applyCommitting(b, mat, n, func(i int) *change.Change {
		return benchRow(fmt.Sprintf("k%08d", i), benchImage(i))
	})
}

// benchRow is a snapshot row of entity key with image img.
func benchRow(key string, img ddbjson.Map) *change.Change {
	return &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(key)}, Op: change.OpUpsert,
		Image: img, Version: "3", AsOf: snapT, EventTime: snapT, Origin: change.OriginSnapshot}
}

// applyCommitting applies the changes next(0) .. next(n-1), committing
// (fsync) every 1000.
func applyCommitting(b *testing.B, mat *Materializer, n int, next func(i int) *change.Change) {
	b.Helper()
	txn := mat.Begin()
	for i := range n {
		if _, err := mat.Apply(txn, next(i)); err != nil {
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
}

// benchPatch is the i-th event: a patch of one attribute of entity k.
func benchPatch(i, k int) *change.Change {
	return &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(fmt.Sprintf("k%08d", k))}, Op: change.OpPatch,
		Image: ddbjson.Map{"field03": ddbjson.S(fmt.Sprintf("new %d", i))}, EventTime: snapT.Add(time.Duration(i+1) * time.Second),
		Origin: change.OriginEvent, EventID: fmt.Sprintf("e%09d", i), EventType: "TenureUpdatedEvent"}
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
	applyCommitting(b, mat, b.N, func(i int) *change.Change {
		return benchRow(fmt.Sprintf("k%09d", i), imgs[i%len(imgs)])
	})
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
	loadBenchKeys(b, mat, keys)
	b.ResetTimer()
	applyCommitting(b, mat, b.N, func(i int) *change.Change { return benchPatch(i, i%keys) })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkConsumeEvents applies patch events to random keys of a store
// several times larger than its block cache through Consume (a commit,
// fsynced, every 1000), with the state read ahead (change.ReadAhead with
// Prefetch as its stage, as follow runs it) and without.
func BenchmarkConsumeEvents(b *testing.B) {
	const keys = 40000
	for _, ahead := range []bool{false, true} {
		name := "plain"
		if ahead {
			name = "read-ahead"
		}
		b.Run(name, func(b *testing.B) {
			store := openStore(b, b.TempDir()) // an 8 MiB cache
			defer store.Close()
			mat := newMat(store)
			loadBenchKeys(b, mat, keys)
			rng := rand.New(rand.NewPCG(1, 2))
			recs := make([]change.Record, b.N)
			for i := range recs {
				recs[i] = change.Record{Change: benchPatch(i, rng.IntN(keys)), Next: change.Position{Source: "f", Offset: int64(i + 1)}}
			}
			var src change.Source = &scripted{recs: recs, eof: true}
			if ahead {
				src = change.ReadAhead(src, 64, mat.Prefetch)
			}
			defer src.Close()
			b.ResetTimer()
			if err := mat.Consume(context.Background(), src, 1000, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkBootstrapExport is a bootstrap without the binary: a generated
// export of 20,000 tenures (or the export folder in $TIDEMARK_BENCH_EXPORT)
// read by the export source (md5, gunzip, decode on 2 workers) and applied
// by Consume with a commit (fsync) every 1000 rows, into a fresh store with
// the production cache size. MB/s is of decompressed DynamoDB JSON.
func BenchmarkBootstrapExport(b *testing.B) {
	dir := os.Getenv("TIDEMARK_BENCH_EXPORT")
	var dataBytes int64
	if dir == "" {
		dir = b.TempDir()
		sum, err := gen.Generate(context.Background(), gen.Options{Dir: dir, Tenures: 20_000, Seed: 3})
		if err != nil {
			b.Fatal(err)
		}
		dataBytes = sum.DataBytes
		dir = filepath.Join(dir, "export")
	}
	fsys := os.DirFS(dir)
	found, err := export.Find(fsys, ".")
	if err != nil {
		b.Fatal(err)
	}
	m, err := export.ReadManifest(fsys, found)
	if err != nil {
		b.Fatal(err)
	}
	if dataBytes > 0 {
		b.SetBytes(dataBytes)
	}
	table := export.Table{Entity: "tenure", HashAttr: "id", VersionAttr: "versionNumber"}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store, err := state.Open(b.TempDir(), state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		mat := New(store, map[string]Entity{"tenure": {HashAttr: "id"}}, Options{})
		b.StartTimer()
		src := export.NewSource(fsys, m, table, 2, store.Position)
		if err := mat.Consume(context.Background(), src, 1000, nil); err != nil {
			b.Fatal(err)
		}
		src.Close()
		b.StopTimer()
		if mat.Stats.SnapshotRows != m.Summary.ItemCount {
			b.Fatalf("%d rows applied, want %d", mat.Stats.SnapshotRows, m.Summary.ItemCount)
		}
		store.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(m.Summary.ItemCount)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
