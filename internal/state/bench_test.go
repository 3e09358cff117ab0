package state

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

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

// BenchmarkFollowFloor measures what the store alone costs follow for each
// event, the floor under follow's CPU per event. For keys of a state picked
// as tidemark gen's events pick them, each record is read ahead on other
// goroutines (on every core, 64 keys a chunk, a few chunks ahead, as
// follow's read-ahead stage does), then written back the same size with an
// event id; every 1000 a commit, whose sync is waited for only after the
// next batch is written (as Consume does). No event is decoded and no rule
// applied, and every event writes (in follow, an event already reflected in
// the snapshot or seen before does not):
//
//   - store: through a transaction, as the materializer does: Get, Put with
//     the next seq, the superseded record appended to the history log,
//     MarkEvent;
//   - pebble: pebble alone: Get, then Set of the record (one byte changed)
//     and of the event id in a batch, applied with ApplyNoSyncWait.
//
// It runs on a copy of the state directory in $TIDEMARK_BENCH_STATE (a
// state_dir after `tidemark snapshot`, entity $TIDEMARK_BENCH_ENTITY or
// tenure, with the production cache size), or else on 40,000 tenures written
// here into a store with an 8 MiB cache. cpu-µs/event is the process's user
// and system time, so the flushes and compactions the writes cause count.
func BenchmarkFollowFloor(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		benchFollowFloor(b, func(s *Store, entity string, n int, order func(int) []byte, ready <-chan int) {
			now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			txn := s.Begin()
			var syncing *Committed
			settle := func() {
				if syncing != nil {
					if err := syncing.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			}
			for lo := range ready {
				for i := lo; i < min(lo+floorChunk, n); i++ {
					k := order(i)
					prev, err := txn.Get(entity, k)
					if err != nil || prev == nil {
						b.Fatalf("reading a record to benchmark: %v (found: %t)", err, prev != nil)
					}
					r := *prev
					r.Seq++
					r.Changed, r.EventTime, r.IngestedAt = now, now, now
					r.Op, r.EventID = "patch", fmt.Sprint("ev-", i)
					txn.Put(entity, k, &r)
					if err := txn.AppendHistory(entity, k, prev, &r); err != nil {
						b.Fatal(err)
					}
					if err := txn.MarkEvent(entity, r.EventID, now); err != nil {
						b.Fatal(err)
					}
					if done := i + 1; done%floorBatch == 0 || done == n {
						txn.SetPosition("events:floor", int64(done), "")
						c, err := txn.CommitNoSyncWait()
						if err != nil {
							b.Fatal(err)
						}
						settle()
						syncing, txn = c, s.Begin()
					}
				}
			}
			settle()
			txn.Discard()
		}, func(s *Store, entity string, _ int, k []byte) { s.PrefetchRecord(entity, k) })
	})
	b.Run("pebble", func(b *testing.B) {
		vals := make([][]byte, b.N) // the values read ahead, by index in order
		benchFollowFloor(b, func(s *Store, entity string, n int, order func(int) []byte, ready <-chan int) {
			batch := s.db.NewBatch()
			var syncing *pebble.Batch
			settle := func() {
				if syncing != nil {
					if err := syncing.SyncWait(); err != nil {
						b.Fatal(err)
					}
					syncing.Close()
				}
			}
			for lo := range ready {
				for i := lo; i < min(lo+floorChunk, n); i++ {
					v := vals[i]
					vals[i] = nil // as the store's results, kept only until used
					v[len(v)-1]++
					if err := batch.Set(recordKey(entity, order(i)), v, nil); err != nil {
						b.Fatal(err)
					}
					if err := batch.Set(eventKey(entity, fmt.Sprint("ev-", i)), []byte{1}, nil); err != nil {
						b.Fatal(err)
					}
					if done := i + 1; done%floorBatch == 0 || done == n {
						if err := s.db.ApplyNoSyncWait(batch, pebble.Sync); err != nil {
							b.Fatal(err)
						}
						settle()
						syncing, batch = batch, s.db.NewBatch()
					}
				}
			}
			settle()
			batch.Close()
		}, func(s *Store, entity string, i int, k []byte) {
			v, _, err := s.get(recordKey(entity, k))
			if err != nil {
				panic(err)
			}
			vals[i] = v
		})
	})
}

const floorChunk, floorBatch = 64, 1000

// benchFollowFloor opens the store of BenchmarkFollowFloor, picks b.N keys,
// reads each ahead with prefetch, chunk by chunk, and gives the chunks to
// apply as they are read (by the index of their first key in order).
func benchFollowFloor(b *testing.B, apply func(s *Store, entity string, n int, order func(int) []byte, ready <-chan int),
	prefetch func(s *Store, entity string, i int, k []byte)) {
	entity := cmp.Or(os.Getenv("TIDEMARK_BENCH_ENTITY"), "tenure")
	dir := b.TempDir()
	opts := Options{CacheBytes: 8 << 20}
	src := os.Getenv("TIDEMARK_BENCH_STATE")
	if src != "" {
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			b.Fatalf("copying the state to benchmark: %v", err)
		}
		syscall.Sync() // the copy's writes are not the benchmark's
		opts = Options{}
	}
	s, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if src == "" {
		loadFloorTenures(b, s, entity, 40_000)
	}
	// The keys in one buffer, so that the collector has no pointers to
	// follow (a slice per key made each cycle scan a million of them).
	var arena []byte
	var ends []int
	if err := s.ScanRecordHeaders(entity, func(k []byte, r *Record) error {
		if r.Live {
			arena = append(arena, k...)
			ends = append(ends, len(arena))
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if len(ends) == 0 {
		b.Fatalf("no records of %s to benchmark", entity)
	}
	key := func(j int) []byte {
		lo := 0
		if j > 0 {
			lo = ends[j-1]
		}
		return arena[lo:ends[j]:ends[j]]
	}
	// Keys as tidemark gen's events pick tenures: three in ten one of the
	// last 1024 picked, the others any (at 1M tenures, 202,051 events touch
	// about 128,000 of them).
	rng := rand.New(rand.NewPCG(1, 2))
	picks := make([]int, b.N)
	ring := make([]int, 0, 1024)
	for i := range picks {
		j := rng.IntN(len(ends))
		if len(ring) > 0 && rng.IntN(10) < 3 {
			j = ring[rng.IntN(len(ring))]
		}
		if len(ring) < cap(ring) {
			ring = append(ring, j)
		} else {
			ring[i%cap(ring)] = j
		}
		picks[i] = j
	}
	order := func(i int) []byte { return key(picks[i]) }

	start := make(chan struct{})
	ready := make(chan int, 4) // a few chunks ahead
	go func() {
		defer close(ready)
		<-start
		workers := runtime.GOMAXPROCS(0)
		for lo := 0; lo < b.N; lo += floorChunk {
			hi := min(lo+floorChunk, b.N)
			per := (hi - lo + workers - 1) / workers
			var wg sync.WaitGroup
			for p := lo; p < hi; p += per {
				wg.Go(func() {
					for i := p; i < min(p+per, hi); i++ {
						prefetch(s, entity, i, order(i))
					}
				})
			}
			wg.Wait()
			ready <- lo
		}
	}()
	before := cpuTime()
	b.ResetTimer()
	close(start)
	apply(s, entity, b.N, order, ready)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/event")
}

// loadFloorTenures writes n tenure records, as a bootstrap would, and
// flushes them.
func loadFloorTenures(b *testing.B, s *Store, entity string, n int) {
	b.Helper()
	now := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	txn := s.Begin()
	for i := range n {
		id := fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i)
		key := change.Key{Hash: ddbjson.S(id)}.Bytes()
		r := &Record{Live: true, Image: tenureImage(id, 1+i%4), Version: "7", AsOf: now, Changed: now, Seq: 1,
			Op: "snapshot", Source: "export", IngestedAt: now}
		txn.Put(entity, key, r)
		if err := txn.AppendHistory(entity, key, nil, r); err != nil {
			b.Fatal(err)
		}
		if (i+1)%2000 == 0 || i == n-1 {
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
			txn = s.Begin()
		}
	}
	txn.Discard()
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
