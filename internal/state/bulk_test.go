package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// bulkLoad writes keys k0000..k(n-1) of entity in a random order, in
// batches of per records, flushing the memtable after each batch so that
// each batch becomes level 0 files of its own; every tenth key is then
// superseded, with a history row. It returns the keys in key order.
func bulkLoad(t *testing.T, s *Store, entity string, n, per int, seed uint64) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%04d", i)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	order := slices.Clone(keys)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for lo := 0; lo < n; lo += per {
		txn := s.Begin()
		for _, k := range order[lo:min(lo+per, n)] {
			supersedeIn(t, txn, entity, k)
		}
		commit(t, txn)
		if err := s.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i += 10 {
		txn := s.Begin()
		supersedeIn(t, txn, entity, keys[i])
		commit(t, txn)
	}
	return keys
}

// checkLoaded checks that every key holds its record and that every tenth
// has the history row of its first state.
func checkLoaded(t *testing.T, s *Store, entity string, keys []string) {
	t.Helper()
	for i, k := range keys {
		txn := s.Begin()
		r, err := txn.Get(entity, keyOf(k))
		txn.Discard()
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(1)
		if i%10 == 0 {
			want = 2
		}
		if r == nil || r.Seq != want {
			t.Fatalf("%s %s: got %+v, want seq %d", entity, k, r, want)
		}
		rows, err := s.History(entity, keyOf(k))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != int(want) {
			t.Fatalf("%s %s: %d history rows, want %d", entity, k, len(rows), want)
		}
	}
}

func levelFiles(s *Store) (l0, bottom int64) {
	n := s.LevelTables()
	return n[0], n[len(n)-1]
}

// TestFreshLoadBulk: a fresh load leaves its flushes in level 0 (nothing is
// compacted while it runs), and finishing it merges them into the bottom
// level, losing nothing, records and history alike; the store then applies
// changes in normal mode, and reopens with everything.
func TestFreshLoadBulk(t *testing.T) {
	s, dir := newStore(t)
	if fresh, err := s.BeginFreshLoad("tenure", 2000); err != nil || !fresh {
		t.Fatalf("BeginFreshLoad = %v, %v", fresh, err)
	}
	if !s.bulk {
		t.Fatal("a fresh load did not put the store in bulk mode")
	}
	keys := bulkLoad(t, s, "tenure", 2000, 100, 1)
	if l0, _ := levelFiles(s); l0 < 20 {
		t.Fatalf("level 0 holds %d files after 20 flushed batches in bulk mode, want at least 20", l0)
	}
	checkLoaded(t, s, "tenure", keys)
	if err := s.FinishFreshLoad(context.Background(), "tenure"); err != nil {
		t.Fatal(err)
	}
	if s.bulk {
		t.Fatal("the store is still in bulk mode after the load finished")
	}
	if l0, bottom := levelFiles(s); l0 != 0 || bottom == 0 {
		t.Fatalf("after the load: %d files in level 0, %d in the bottom level; want 0 and some", l0, bottom)
	}
	checkLoaded(t, s, "tenure", keys)
	// Normal mode applies changes, and the store reopens with all of it.
	txn := s.Begin()
	supersede(t, txn, keys[1])
	commit(t, txn)
	if err := s.EndFreshLoad("tenure"); err != nil { // the deferred cleanup: a no-op now
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close()
	if r := mustGet(t, s, "tenure", keyOf(keys[1])); r == nil || r.Seq != 2 {
		t.Fatalf("after reopening: %s = %+v, want seq 2", keys[1], r)
	}
	checkLoaded(t, s, "tenure", keys[10:11]) // (a key loaded and superseded)
}

// TestBulkMergeSplits: the merge cuts the key range into as many parts as
// asked, in order, each with about its share of the records, and loses
// nothing; an interrupted
// merge's folder is removed when the store opens.
func TestBulkMergeSplits(t *testing.T) {
	s, dir := newStore(t)
	if _, err := s.BeginFreshLoad("tenure", 3000); err != nil {
		t.Fatal(err)
	}
	keys := bulkLoad(t, s, "tenure", 3000, 100, 8)
	first, end := []byte{0}, []byte{0xff}
	for _, n := range []int{1, 2, 3, 8} {
		b := s.splitKeys(first, end, n)
		if len(b) < 2 || len(b) > n+1 || !bytes.Equal(b[0], first) || !bytes.Equal(b[len(b)-1], end) {
			t.Fatalf("%d parts: bounds %q", n, b)
		}
		if len(b) != n+1 {
			t.Fatalf("%d parts asked of %d level 0 files: bounds %q", n, s.LevelTables()[0], b)
		}
		for i := 1; i < len(b); i++ {
			if bytes.Compare(b[i-1], b[i]) >= 0 {
				t.Fatalf("%d parts: bounds out of order: %q", n, b)
			}
		}
		// Every level 0 table starts at the same metadata key: the cuts
		// fall among the records, about as many in each part.
		counts := make([]int, n)
		for _, k := range keys {
			sk := append(prefix(pRecord, "tenure"), keyOf(k)...)
			part, _ := slices.BinarySearchFunc(b[1:], sk, bytes.Compare)
			counts[part]++
		}
		for p, c := range counts {
			if c < len(keys)/n/2 {
				t.Fatalf("%d parts: %v records by part; part %d is far below its share", n, counts, p)
			}
		}
	}
	if err := s.FinishFreshLoad(context.Background(), "tenure"); err != nil {
		t.Fatal(err)
	}
	checkLoaded(t, s, "tenure", keys)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, bulkMergeDir, "part-00")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, "000000.sst"), []byte("half a table"), 0o644)
	s = openStore(t, dir)
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, bulkMergeDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an interrupted merge's folder survived opening the store: %v", err)
	}
	checkLoaded(t, s, "tenure", keys)
}

// TestFreshLoadBulkTwoEntities: the store leaves bulk mode, compacting,
// when the last of two fresh loads finishes, not before.
func TestFreshLoadBulkTwoEntities(t *testing.T) {
	s, _ := newStore(t)
	for _, e := range []string{"tenure", "person"} {
		if fresh, err := s.BeginFreshLoad(e, 500); err != nil || !fresh {
			t.Fatalf("BeginFreshLoad(%s) = %v, %v", e, fresh, err)
		}
	}
	tenures := bulkLoad(t, s, "tenure", 500, 100, 2)
	persons := bulkLoad(t, s, "person", 500, 100, 3)
	if err := s.FinishFreshLoad(context.Background(), "tenure"); err != nil {
		t.Fatal(err)
	}
	if l0, _ := levelFiles(s); !s.bulk || l0 == 0 {
		t.Fatalf("one load of two finished: bulk=%v, %d level 0 files; want bulk mode, untouched", s.bulk, l0)
	}
	if err := s.FinishFreshLoad(context.Background(), "person"); err != nil {
		t.Fatal(err)
	}
	if l0, _ := levelFiles(s); s.bulk || l0 != 0 {
		t.Fatalf("both loads finished: bulk=%v, %d level 0 files; want normal mode, none", s.bulk, l0)
	}
	checkLoaded(t, s, "tenure", tenures)
	checkLoaded(t, s, "person", persons)
}

// visitLog records what a RecordVisitor saw, by part.
type visitLog struct {
	mu    sync.Mutex
	parts map[int][]string
	fail  error
}

func (l *visitLog) Record(part int, key []byte, r *Record, img []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, err := change.ParseKeyBytes(key)
	if err != nil {
		return err
	}
	if r == nil || (r.Live && img == nil) {
		return fmt.Errorf("%s: record %+v, image %q", k, r, img)
	}
	if l.parts == nil {
		l.parts = map[int][]string{}
	}
	l.parts[part] = append(l.parts[part], k.Hash.Str)
	return l.fail
}

// TestFreshLoadVisit: the merge ending a fresh load shows a visitor every
// record of the entity once, and no other entity's: each part's in key
// order, the parts consecutive key ranges, on more than one core. While
// another fresh load runs, nothing is merged and nothing is shown; a
// visitor's error fails the merge, which leaves the store as it was.
func TestFreshLoadVisit(t *testing.T) {
	s, _ := newStore(t)
	for _, e := range []string{"tenure", "person"} {
		if _, err := s.BeginFreshLoad(e, 3000); err != nil {
			t.Fatal(err)
		}
	}
	tenures := bulkLoad(t, s, "tenure", 3000, 100, 9)
	bulkLoad(t, s, "person", 200, 100, 10)
	var early visitLog
	if saw, err := s.FinishFreshLoadVisit(context.Background(), "person", &early); err != nil || saw || len(early.parts) > 0 {
		t.Fatalf("the first of two loads to finish: saw=%v, %v, %d parts visited; want nothing merged", saw, err, len(early.parts))
	}
	boom := errors.New("boom")
	failing := visitLog{fail: boom}
	if _, err := s.FinishFreshLoadVisit(context.Background(), "tenure", &failing); !errors.Is(err, boom) {
		t.Fatalf("a failing visitor: %v, want its error", err)
	}
	checkLoaded(t, s, "tenure", tenures)
	// The load is finished again after the failure, as a retry would.
	s.fresh = map[string]*keyFilter{"tenure": newKeyFilter(3000)}
	if err := s.setBulk(true); err != nil {
		t.Fatal(err)
	}
	var got visitLog
	saw, err := s.FinishFreshLoadVisit(context.Background(), "tenure", &got)
	if err != nil || !saw {
		t.Fatalf("FinishFreshLoadVisit = %v, %v", saw, err)
	}
	if len(got.parts) < 2 {
		t.Fatalf("records seen in %d parts, want one per core (%d)", len(got.parts), runtime.GOMAXPROCS(0))
	}
	var all []string
	for p := range len(got.parts) {
		keys := got.parts[p]
		if len(keys) == 0 || !slices.IsSorted(keys) {
			t.Fatalf("part %d: %d keys, sorted: %v", p, len(keys), slices.IsSorted(keys))
		}
		if len(all) > 0 && all[len(all)-1] >= keys[0] {
			t.Fatalf("part %d starts at %s, before part %d ends (%s)", p, keys[0], p-1, all[len(all)-1])
		}
		all = append(all, keys...)
	}
	for p, keys := range got.parts { // cut from a sample of the keys: about equal parts
		if len(keys) < len(tenures)/len(got.parts)/2 {
			t.Fatalf("part %d holds %d of %d records: the parts are not balanced", p, len(keys), len(tenures))
		}
	}
	if !slices.Equal(all, tenures) {
		t.Fatalf("saw %d tenure keys, want the %d loaded, each once", len(all), len(tenures))
	}
	checkLoaded(t, s, "tenure", tenures)
}

// TestFreshLoadBulkInterrupted: a load that stops (an error, a cancelled
// compaction, a crash) leaves the store in normal mode with every committed
// record, and the automatic compactions take over level 0.
func TestFreshLoadBulkInterrupted(t *testing.T) {
	t.Run("ended", func(t *testing.T) {
		s, _ := newStore(t)
		if _, err := s.BeginFreshLoad("tenure", 1000); err != nil {
			t.Fatal(err)
		}
		keys := bulkLoad(t, s, "tenure", 1000, 50, 4)
		if err := s.EndFreshLoad("tenure"); err != nil {
			t.Fatal(err)
		}
		if s.bulk {
			t.Fatal("EndFreshLoad left the store in bulk mode")
		}
		checkLoaded(t, s, "tenure", keys)
		// Level 0 holds more sublevels than normal mode lets writes
		// through: a commit waits for the compactions, and completes.
		txn := s.Begin()
		supersede(t, txn, keys[1])
		commit(t, txn)
		if err := s.FinishFreshLoad(context.Background(), "tenure"); err != nil {
			t.Fatalf("FinishFreshLoad after EndFreshLoad: %v, want a no-op", err)
		}
	})
	t.Run("compaction cancelled", func(t *testing.T) {
		s, _ := newStore(t)
		if _, err := s.BeginFreshLoad("tenure", 1000); err != nil {
			t.Fatal(err)
		}
		keys := bulkLoad(t, s, "tenure", 1000, 100, 5)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.FinishFreshLoad(ctx, "tenure"); !errors.Is(err, context.Canceled) {
			t.Fatalf("FinishFreshLoad with a cancelled context = %v, want context.Canceled", err)
		}
		if _, err := os.Stat(filepath.Join(s.dir, bulkMergeDir)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the merge's folder is left behind: %v", err)
		}
		if err := s.EndFreshLoad("tenure"); err != nil {
			t.Fatal(err)
		}
		if s.bulk {
			t.Fatal("the store is still in bulk mode")
		}
		checkLoaded(t, s, "tenure", keys)
	})
	t.Run("closed in bulk mode", func(t *testing.T) {
		s, dir := newStore(t)
		if _, err := s.BeginFreshLoad("tenure", 1000); err != nil {
			t.Fatal(err)
		}
		keys := bulkLoad(t, s, "tenure", 1000, 100, 6)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, dir)
		defer s.Close()
		if s.bulk {
			t.Fatal("a store closed in bulk mode reopened in bulk mode")
		}
		checkLoaded(t, s, "tenure", keys)
		if fresh, err := s.BeginFreshLoad("tenure", 1000); err != nil || fresh {
			t.Fatalf("resuming the load: BeginFreshLoad = %v, %v; want false (records exist)", fresh, err)
		}
	})
}

// TestFreshLoadBulkCrash: in bulk mode the WAL is off, so a batch is
// durable once its memtable is flushed. A crash (the files as a SIGKILL
// leaves them) may lose the batches since the last flush, but only whole
// and with their source positions and history rows: the store holds a
// prefix of the commits, and the load resumes from its position.
func TestFreshLoadBulkCrash(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.BeginFreshLoad("tenure", 1000); err != nil {
		t.Fatal(err)
	}
	const batches, flushed, per = 8, 5, 20
	key := func(b, i int) string { return fmt.Sprintf("b%d-%02d", b, i) }
	for b := 1; b <= batches; b++ {
		txn := s.Begin()
		for i := range per {
			supersedeIn(t, txn, "tenure", key(b, i))
		}
		if b > 1 {
			supersedeIn(t, txn, "tenure", key(1, 0)) // a history row
		}
		txn.SetPosition("export/file-1", int64(b*per), "")
		commit(t, txn)
		if b == flushed {
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	crashed := copyTree(t, s.dir)
	c := openStore(t, crashed)
	defer c.Close()
	pos, ok, err := c.Position("export/file-1")
	if err != nil || !ok || pos < flushed*per || pos%per != 0 {
		t.Fatalf("position after the crash = %d, %v, %v; want a batch's end, at least the flushed %d", pos, ok, err, flushed*per)
	}
	kept := int(pos / per) // the batches the store holds: exactly those its position counts
	t.Logf("the crash kept %d of %d batches, %d of them flushed", kept, batches, flushed)
	for b := 1; b <= batches; b++ {
		for _, i := range []int{0, per - 1} {
			if r := mustGet(t, c, "tenure", keyOf(key(b, i))); (r != nil) != (b <= kept) {
				t.Fatalf("after the crash, at position %d, batch %d has %s = %+v", pos, b, key(b, i), r)
			}
		}
	}
	rows, err := c.History("tenure", keyOf(key(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != kept {
		t.Fatalf("after the crash, at position %d, %s has %d history rows, want %d", pos, key(1, 0), len(rows), kept)
	}
	// The resumed load writes the lost batches again, and the history log
	// goes on from its committed end.
	txn := c.Begin()
	supersedeIn(t, txn, "tenure", key(1, 0))
	commit(t, txn)
	if rows, err = c.History("tenure", keyOf(key(1, 0))); err != nil || len(rows) != kept+1 {
		t.Fatalf("after one more change: %d history rows (%v), want %d", len(rows), err, kept+1)
	}
}

// copyTree copies the files of dir as they are into a new folder.
func copyTree(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(out, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keyOf(k string) []byte { return change.Key{Hash: ddbjson.S(k)}.Bytes() }
