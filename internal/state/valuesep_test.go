package state

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// TestValueSeparation: records large enough are written into blob files by
// a flush, and reads, scans, compactions and a reopen see every record's
// last value, including records rewritten after their value was separated
// and small records that stay in the tables.
func TestValueSeparation(t *testing.T) {
	s, dir := newStore(t)
	const n = 1500
	image := func(i, round int) ddbjson.Map {
		m := ddbjson.Map{"id": ddbjson.S(fmt.Sprintf("k%05d", i)), "round": ddbjson.N(fmt.Sprint(round))}
		if i%5 != 0 { // every fifth record stays under the separation threshold
			m["notes"] = ddbjson.S(strings.Repeat(fmt.Sprintf("%d-%d ", i, round), 80))
		}
		return m
	}
	last := map[int]int{}
	for round := 1; round <= 4; round++ {
		txn := s.Begin()
		for i := 0; i < n; i++ {
			if round > 1 && i%round != 0 {
				continue // later rounds rewrite some of the records
			}
			txn.Put("tenure", fmt.Appendf(nil, "k%05d", i), &Record{Live: true, Image: image(i, round), Seq: uint64(round)})
			last[i] = round
		}
		commit(t, txn)
		if err := s.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	blobs, err := filepath.Glob(filepath.Join(dir, "*.blob"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) == 0 {
		t.Fatalf("no blob files in %s after flushes of records over %d bytes", dir, minSeparatedValue)
	}

	check := func(t *testing.T, s *Store, when string) {
		t.Helper()
		for i := 0; i < n; i++ {
			r := mustGet(t, s, "tenure", fmt.Appendf(nil, "k%05d", i))
			if !ddbjson.EqualMaps(r.Image, image(i, last[i])) || r.Seq != uint64(last[i]) {
				t.Fatalf("%s: record k%05d = seq %d round %v, want round %d", when, i, r.Seq, r.Image["round"], last[i])
			}
		}
		seen := 0
		err := s.ScanRecords("tenure", func(key []byte, r *Record) error {
			var i int
			if _, err := fmt.Sscanf(string(key), "k%05d", &i); err != nil {
				return err
			}
			if !ddbjson.EqualMaps(r.Image, image(i, last[i])) {
				return fmt.Errorf("scan: record %s is not of round %d", key, last[i])
			}
			seen++
			return nil
		})
		if err != nil || seen != n {
			t.Fatalf("%s: scan saw %d records, want %d (%v)", when, seen, n, err)
		}
	}
	check(t, s, "after flushes")
	if err := s.db.Compact(t.Context(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	check(t, s, "after a full compaction")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir)
	defer s2.Close()
	check(t, s2, "after a reopen")
}
