package state

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// getVersion returns the Version of the key's record as txn sees it ("":
// no record).
func getVersion(t testing.TB, txn *Txn, key string) string {
	t.Helper()
	r, err := txn.Get("e", []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		return ""
	}
	return r.Version
}

func putVersion(txn *Txn, key, v string) {
	txn.Put("e", []byte(key), &Record{Live: true, Version: v, Seq: 1})
}

// behind writes a record straight into pebble, behind the store's back,
// so that a test can tell a result read ahead (the old value) from a read
// (the new one).
func behind(t testing.TB, s *Store, key, v string) {
	t.Helper()
	r := &Record{Live: true, Version: v, Seq: 1}
	if err := s.db.Set(recordKey("e", []byte(key)), appendRecord(nil, r), pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// TestPrefetchResults: a result read ahead is used while no commit since
// its read wrote its key; one whose key a commit wrote, one older than
// aheadCommits commits, one taken before, and any after a commit of
// unknown keys (a bulk merge) are read again.
func TestPrefetchResults(t *testing.T) {
	s, _ := newStore(t)
	txn := s.Begin()
	for _, k := range []string{"a", "b", "c", "d"} {
		putVersion(txn, k, "1")
	}
	// An event marked at t2: ev1, of t1, is no later, so it is read ahead.
	t1, t2 := time.Unix(1000, 0), time.Unix(2000, 0)
	if err := txn.MarkEvent("e", "ev0", t2); err != nil {
		t.Fatal(err)
	}
	commit(t, txn)

	s.PrefetchRecord("e", []byte("a"))
	s.PrefetchRecord("e", []byte("b"))
	s.PrefetchRecord("e", []byte("c"))
	s.PrefetchRecord("e", []byte("x")) // no record
	s.PrefetchEvent("e", "ev1", t1)
	for _, k := range []string{"a", "b", "c", "x"} {
		behind(t, s, k, "2")
	}
	txn = s.Begin()
	putVersion(txn, "b", "3") // a commit writes b: its result is stale
	if err := txn.MarkEvent("e", "ev1", t1); err != nil {
		t.Fatal(err)
	}
	commit(t, txn)

	txn = s.Begin()
	defer txn.Discard()
	if v := getVersion(t, txn, "a"); v != "1" {
		t.Errorf("a = %q, want the result read ahead, 1", v)
	}
	if v := getVersion(t, txn, "a"); v != "2" {
		t.Errorf("a read again = %q, want 2: a result is used once", v)
	}
	if v := getVersion(t, txn, "b"); v != "3" {
		t.Errorf("b = %q, want 3: a commit since the read wrote it", v)
	}
	if v := getVersion(t, txn, "x"); v != "" {
		t.Errorf("x = %q, want no record, as read ahead", v)
	}
	if seen, err := txn.SeenEvent("e", "ev1", t1); err != nil || !seen {
		t.Errorf("SeenEvent(ev1) = %v, %v; want true: a commit since the read marked it", seen, err)
	}

	// Older than aheadCommits commits: read again.
	s.PrefetchRecord("e", []byte("c"))
	behind(t, s, "c", "4")
	for range aheadCommits + 1 {
		txn := s.Begin()
		putVersion(txn, "d", "5")
		commit(t, txn)
	}
	txn2 := s.Begin()
	if v := getVersion(t, txn2, "c"); v != "4" {
		t.Errorf("c = %q, want 4: the result is too old", v)
	}
	txn2.Discard()

	// A commit of unknown keys (a bulk merge's) makes every result stale.
	s.PrefetchRecord("e", []byte("c"))
	behind(t, s, "c", "6")
	s.ahead.committed(nil)
	txn3 := s.Begin()
	if v := getVersion(t, txn3, "c"); v != "6" {
		t.Errorf("c = %q, want 6 after a commit of unknown keys", v)
	}
	txn3.Discard()

	// A transaction's own writes win over results read ahead.
	s.PrefetchRecord("e", []byte("d"))
	txn4 := s.Begin()
	putVersion(txn4, "d", "7")
	if v := getVersion(t, txn4, "d"); v != "7" {
		t.Errorf("d = %q, want the transaction's own 7", v)
	}
	txn4.Discard()
}

// TestPrefetchConcurrentIncrements: counters incremented by transactions
// (read, add one, put; committed without waiting for the sync, the next
// one applied meanwhile) while another goroutine reads the keys ahead at
// random: a stale result used would lose an increment. Run it with -race.
func TestPrefetchConcurrentIncrements(t *testing.T) {
	s, _ := newStore(t)
	const keys, txns, perTxn = 8, 300, 5
	rng := rand.New(rand.NewPCG(1, 2))
	plan := make([][]string, txns)
	want := map[string]int{}
	for i := range plan {
		for range perTxn {
			k := fmt.Sprintf("k%d", rng.IntN(keys))
			plan[i] = append(plan[i], k)
			want[k]++
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.PrefetchRecord("e", fmt.Appendf(nil, "k%d", r.IntN(keys)))
			}
		})
	}
	var pending *Committed
	for i, ks := range plan {
		txn := s.Begin()
		for _, k := range ks {
			n := 0
			if v := getVersion(t, txn, k); v != "" {
				var err error
				if n, err = strconv.Atoi(v); err != nil {
					t.Fatal(err)
				}
			}
			putVersion(txn, k, strconv.Itoa(n+1))
		}
		c, err := txn.CommitNoSyncWait()
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if pending != nil {
			if err := pending.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		pending = c
	}
	if err := pending.Wait(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	for k, n := range want {
		r := mustGet(t, s, "e", []byte(k))
		if r == nil || r.Version != strconv.Itoa(n) {
			t.Errorf("%s = %v, want %d increments", k, r, n)
		}
	}
}

// TestCommitNoSyncWait: the writes are visible to the next transaction
// before Wait, and Wait may be called more than once.
func TestCommitNoSyncWait(t *testing.T) {
	s, dir := newStore(t)
	txn := s.Begin()
	putVersion(txn, "a", "1")
	txn.SetPosition("src", 7, "")
	c, err := txn.CommitNoSyncWait()
	if err != nil {
		t.Fatal(err)
	}
	next := s.Begin()
	if v := getVersion(t, next, "a"); v != "1" {
		t.Errorf("a = %q before Wait, want 1", v)
	}
	next.Discard()
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("second Wait: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir)
	defer s2.Close()
	if off, ok, err := s2.Position("src"); err != nil || !ok || off != 7 {
		t.Errorf("position after reopening = %d, %v, %v; want 7", off, ok, err)
	}
}
