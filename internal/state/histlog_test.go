package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// supersedeIn writes a new record of key k of entity that supersedes its
// current one, with a history row.
func supersedeIn(t *testing.T, txn *Txn, entity, k string) {
	t.Helper()
	key := change.Key{Hash: ddbjson.S(k)}.Bytes()
	prev, err := txn.Get(entity, key)
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(1)
	if prev != nil {
		seq = prev.Seq + 1
	}
	r := rec(k, seq)
	txn.Put(entity, key, r)
	if err := txn.AppendHistory(entity, key, prev, r); err != nil {
		t.Fatal(err)
	}
}

func supersede(t *testing.T, txn *Txn, k string) { t.Helper(); supersedeIn(t, txn, "tenure", k) }

// commitSupersedes commits n transactions, each superseding tenure k.
func commitSupersedes(t *testing.T, s *Store, k string, n int) {
	t.Helper()
	for range n {
		txn := s.Begin()
		supersede(t, txn, k)
		commit(t, txn)
	}
}

func keyHistorySeqs(t *testing.T, s *Store, k string) []uint64 {
	t.Helper()
	rows, err := s.History("tenure", change.Key{Hash: ddbjson.S(k)}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range rows {
		if r.Image["id"].Str != k {
			t.Fatalf("a history row of %s holds %v", k, r.Image["id"])
		}
		seqs = append(seqs, r.Seq)
	}
	return seqs
}

// TestHistoryLogCrash: history rows written to the log by a transaction
// whose batch never committed are cut away when the store is opened again,
// and the rows committed before and after read back whole.
func TestHistoryLogCrash(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	commitSupersedes(t, s, "a", 3)
	logPath := filepath.Join(dir, "history", "tenure.log")
	committed, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// A transaction that dies between syncing its history rows and
	// committing its batch.
	txn := s.Begin()
	supersede(t, txn, "a")
	supersede(t, txn, "b")
	if err := txn.writeHistory(); err != nil {
		t.Fatal(err)
	}
	txn.Discard()
	if grown, _ := os.Stat(logPath); grown.Size() <= committed.Size() {
		t.Fatalf("the log did not grow (%d bytes)", grown.Size())
	}
	s.Close()

	s = openStore(t, dir)
	defer s.Close()
	if got := keyHistorySeqs(t, s, "a"); len(got) != 3 || got[2] != 3 {
		t.Fatalf("history of a after the crash = %v, want 1 2 3", got)
	}
	if after, _ := os.Stat(logPath); after.Size() != committed.Size() {
		t.Fatalf("the log holds %d bytes after opening, want the committed %d", after.Size(), committed.Size())
	}
	txn = s.Begin()
	supersede(t, txn, "a")
	commit(t, txn)
	if got := keyHistorySeqs(t, s, "a"); len(got) != 4 || got[3] != 4 {
		t.Fatalf("history of a = %v, want 1 2 3 4", got)
	}
}

// TestHistoryLogDamage: a log shorter than its committed end, or a row
// whose bytes changed, is an error naming the log, never a wrong row.
func TestHistoryLogDamage(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		damage     func(path string) error
	}{
		{"flipped byte", "checksum", func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x40
			return os.WriteFile(path, b, 0o644)
		}},
		{"truncated", "damaged", func(path string) error {
			info, err := os.Stat(path)
			if err != nil {
				return err
			}
			return os.Truncate(path, info.Size()-3)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir)
			commitSupersedes(t, s, "a", 3)
			s.Close()
			path := filepath.Join(dir, "history", "tenure.log")
			if err := tt.damage(path); err != nil {
				t.Fatal(err)
			}
			s = openStore(t, dir)
			defer s.Close()
			_, err := s.History("tenure", change.Key{Hash: ddbjson.S("a")}.Bytes())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "tenure.log") {
				t.Fatalf("History over a damaged log = %v, want an error naming it (%q)", err, tt.want)
			}
			err = s.ScanHistory("tenure", func([]byte, uint64, *Record) error { return nil })
			if err == nil {
				t.Fatal("ScanHistory over a damaged log succeeded")
			}
		})
	}
}

// TestHistoryInlineRows: history keys written before the log existed hold
// the record itself; they are read as before, beside rows in the log.
func TestHistoryInlineRows(t *testing.T) {
	s, _ := newStore(t)
	key := change.Key{Hash: ddbjson.S("a")}.Bytes()
	// Two rows as an older tidemark wrote them, then the current record.
	b := s.db.NewBatch()
	for seq := uint64(1); seq <= 2; seq++ {
		if err := b.Set(historyKey("tenure", key, seq), appendRecord(nil, rec("a", seq)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Set(recordKey("tenure", key), appendRecord(nil, rec("a", 3)), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	txn := s.Begin()
	supersede(t, txn, "a") // row 3 goes to the log
	commit(t, txn)
	if got := keyHistorySeqs(t, s, "a"); len(got) != 4 || got[0] != 1 || got[3] != 4 {
		t.Fatalf("history = %v, want 1 2 3 4", got)
	}
	var seqs []uint64
	err := s.ScanHistoryImages("tenure", func(_ []byte, seq uint64, r *Record, img []byte) error {
		if m, _, err := ddbjson.DecodeBinary(img); err != nil || m["id"].Str != "a" {
			t.Errorf("row %d: image %v, %v", seq, m, err)
		}
		seqs = append(seqs, seq)
		return nil
	})
	if err != nil || len(seqs) != 4 {
		t.Fatalf("ScanHistoryImages: %v, %v; want 4 rows", seqs, err)
	}
}

// TestHistoryLogFailedCommit: in one process, rows written for a batch that
// did not commit, or whose commit failed after applying it, are never
// written over: the next transaction's rows go after them, and every
// committed reference reads its own row.
func TestHistoryLogFailedCommit(t *testing.T) {
	s, _ := newStore(t)
	commitSupersedes(t, s, "a", 2)
	// Rows synced, batch dropped.
	txn := s.Begin()
	supersede(t, txn, "a")
	if err := txn.writeHistory(); err != nil {
		t.Fatal(err)
	}
	txn.Discard()
	// Rows synced, batch applied, but Commit never finished (pebble may
	// report a WAL error after applying a batch). This batch holds the
	// history reference of b's first record and the log's end, not the
	// records, which Commit adds: b's reference outlives its record.
	txn = s.Begin()
	supersede(t, txn, "b")
	supersede(t, txn, "b")
	if err := txn.writeHistory(); err != nil {
		t.Fatal(err)
	}
	if err := txn.b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	txn = s.Begin()
	supersede(t, txn, "a")
	supersede(t, txn, "b")
	commit(t, txn)
	if got := keyHistorySeqs(t, s, "a"); len(got) != 3 || got[2] != 3 {
		t.Fatalf("history of a = %v, want 1 2 3", got)
	}
	// b: the applied reference (its row must read back whole: written
	// over, its checksum would fail), then the record of the last batch.
	if got := keyHistorySeqs(t, s, "b"); len(got) != 2 || got[0] != 1 || got[1] != 1 {
		t.Fatalf("history of b = %v, want 1 1", got)
	}
	n := 0
	if err := s.ScanHistory("tenure", func([]byte, uint64, *Record) error { n++; return nil }); err != nil || n != 5 {
		t.Fatalf("ScanHistory: %d rows, %v; want 5", n, err)
	}
}

// TestHistoryLogBufferReuse: the buffer a transaction's history rows were
// gathered in serves the next transaction (histLog.spare); rows of
// transactions of falling sizes, with a discarded one among them, all read
// back whole and in order.
func TestHistoryLogBufferReuse(t *testing.T) {
	s, _ := newStore(t)
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	commitSupersedes(t, s, "k0", 1) // seq 1 of k0, no history row yet
	txn := s.Begin()
	for _, k := range keys[1:] {
		supersede(t, txn, k)
	}
	commit(t, txn)
	for n := len(keys); n > 0; n-- {
		txn := s.Begin()
		for _, k := range keys[:n] {
			supersede(t, txn, k)
		}
		if n == 3 {
			txn.Discard() // took the spare buffer and never gives it back
			continue
		}
		commit(t, txn)
	}
	// Rows (the current record is the last): one from the first commits,
	// then one for each of the transactions of 6, 5, 4, 2 and 1 keys that
	// held the key (the discarded one of 3 keys counts for none).
	want := map[string]int{"k0": 6, "k1": 5, "k2": 4, "k3": 4, "k4": 3, "k5": 2}
	for k, rows := range want {
		seqs := keyHistorySeqs(t, s, k)
		if len(seqs) != rows {
			t.Fatalf("%s has history rows %v, want %d", k, seqs, rows)
		}
		for i, seq := range seqs {
			if seq != uint64(i+1) {
				t.Fatalf("%s has history rows %v, want 1 to %d", k, seqs, rows)
			}
		}
	}
}
