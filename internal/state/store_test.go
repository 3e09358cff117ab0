package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tidemark-dev/tidemark/internal/change"
	"io"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s := openStore(t, dir)
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func commit(t testing.TB, txn *Txn) {
	t.Helper()
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
}

func rec(id string, seq uint64) *Record {
	return &Record{Live: true, Image: ddbjson.Map{"id": ddbjson.S(id), "seq": ddbjson.N(fmt.Sprint(seq))}, Seq: seq, Op: "create",
		Changed: time.Date(2026, 11, 1, 2, 0, int(seq%60), 0, time.UTC)}
}

func mustGet(t testing.TB, s *Store, entity string, key []byte) *Record {
	t.Helper()
	r, err := s.Get(entity, key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTxnOverlay(t *testing.T) {
	s, _ := newStore(t)
	k := []byte("k1")
	txn := s.Begin()
	if r, err := txn.Get("tenure", k); r != nil || err != nil {
		t.Fatalf("Get of a new key = %v, %v", r, err)
	}
	r1 := rec("k1", 1)
	txn.Put("tenure", k, r1)
	if r, _ := txn.Get("tenure", k); r != r1 {
		t.Errorf("Get after Put in the txn = %v, want the record put", r)
	}
	if r, _ := txn.Get("tenure2", k); r != nil {
		t.Errorf("Get of another entity sees %v", r)
	}
	if r := mustGet(t, s, "tenure", k); r != nil {
		t.Errorf("store sees an uncommitted Put: %v", r)
	}
	r2 := rec("k1", 2)
	txn.Put("tenure", k, r2)
	if r, _ := txn.Get("tenure", k); r != r2 {
		t.Errorf("Get after a second Put = %v, want the last", r)
	}
	commit(t, txn)
	if d := sameRecord(mustGet(t, s, "tenure", k), r2); d != "" {
		t.Errorf("committed record: %s", d)
	}

	// A new txn reads the committed record, then its own.
	txn = s.Begin()
	got, err := txn.Get("tenure", k)
	if err != nil || got == nil || got.Seq != 2 {
		t.Fatalf("Get in a new txn = %v, %v", got, err)
	}
	r3 := rec("k1", 3)
	txn.Put("tenure", k, r3)
	if r, _ := txn.Get("tenure", k); r != r3 {
		t.Errorf("Get = %v, want the txn's record", r)
	}
	txn.Discard()
	if r := mustGet(t, s, "tenure", k); r.Seq != 2 {
		t.Errorf("after Discard the record has seq %d, want 2", r.Seq)
	}
}

// TestDiscardLeavesNothing: a discarded txn writes no record, history row,
// event id, position, meta, dead letter, inconsistency or generation.
func TestDiscardLeavesNothing(t *testing.T) {
	s, dir := newStore(t)
	txn := s.Begin()
	r := rec("a", 1)
	txn.Put("tenure", []byte("a"), r)
	if err := txn.AppendHistory("tenure", []byte("a"), nil, r); err != nil {
		t.Fatal(err)
	}
	txn.Touch("tenure")
	if err := txn.MarkEvent("tenure", "ev-1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	txn.SetPosition("events:a", 100, "")
	if err := txn.SetMeta("asof/tenure", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := txn.AddDeadLetter(DeadLetter{Reason: "bad"}); err != nil {
		t.Fatal(err)
	}
	if err := txn.AddInconsistency(Inconsistency{Entity: "tenure", Key: "a"}); err != nil {
		t.Fatal(err)
	}
	txn.Discard()
	check := func(s *Store) {
		t.Helper()
		if r := mustGet(t, s, "tenure", []byte("a")); r != nil {
			t.Errorf("record %v", r)
		}
		if h, err := s.History("tenure", []byte("a")); err != nil || len(h) != 0 {
			t.Errorf("history %v, %v", h, err)
		}
		if seen, err := s.Begin().SeenEvent("tenure", "ev-1", time.Time{}); seen || err != nil {
			t.Errorf("event seen %v, %v", seen, err)
		}
		if off, ok, err := s.Position("events:a"); ok || off != 0 || err != nil {
			t.Errorf("position %d %v %v", off, ok, err)
		}
		if v, ok, err := s.Meta("asof/tenure"); ok || v != nil || err != nil {
			t.Errorf("meta %q %v %v", v, ok, err)
		}
		if g, err := s.Generation("tenure"); g != 0 || err != nil {
			t.Errorf("generation %d, %v", g, err)
		}
		if d, in := deadLetters(t, s), inconsistencies(t, s); len(d) != 0 || len(in) != 0 {
			t.Errorf("%d dead letters, %d inconsistencies", len(d), len(in))
		}
	}
	check(s)
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	check(s)
	// The next dead letter is number 1: the discarded one took no number.
	txn = s.Begin()
	txn.AddDeadLetter(DeadLetter{Reason: "first"})
	commit(t, txn)
	if d := deadLetters(t, s); len(d) != 1 || d[0].Seq != 1 {
		t.Errorf("dead letters after a discard: %+v", d)
	}
}

func deadLetters(t testing.TB, s *Store) []*DeadLetter {
	t.Helper()
	var out []*DeadLetter
	if err := s.DeadLetters(func(d *DeadLetter) error { out = append(out, d); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func inconsistencies(t testing.TB, s *Store) []*Inconsistency {
	t.Helper()
	var out []*Inconsistency
	if err := s.Inconsistencies(func(in *Inconsistency) error { out = append(out, in); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

type histRow struct {
	key string
	seq uint64
}

// TestHistory: changes applied across txns to keys whose values are
// prefixes of each other come back grouped per key in seq order, the
// superseded states from the history and the current one from the record.
func TestHistory(t *testing.T) {
	s, _ := newStore(t)
	key := func(v string) []byte { return change.Key{Hash: ddbjson.S(v)}.Bytes() }
	writes := [][]string{{"ab", "a", "abc"}, {"a", "ab", "b"}, {"a", "a", "ab"}}
	for _, w := range writes {
		txn := s.Begin()
		for _, k := range w {
			supersedeIn(t, txn, "tenure", k)
		}
		supersedeIn(t, txn, "t", "a") // an entity whose name is a prefix
		commit(t, txn)
	}
	var got []histRow
	err := s.ScanHistory("tenure", func(k []byte, seq uint64, r *Record) error {
		ck, err := change.ParseKeyBytes(k)
		if err != nil {
			return err
		}
		if r.Seq != seq || r.Image["id"].Str != ck.String() {
			t.Errorf("row %s/%d holds %s/%d", ck, seq, r.Image["id"].Str, r.Seq)
		}
		got = append(got, histRow{ck.String(), seq})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Keys sort as encoded: kind, length, bytes (so b before ab).
	want := []histRow{{"a", 1}, {"a", 2}, {"a", 3}, {"a", 4}, {"b", 1}, {"ab", 1}, {"ab", 2}, {"ab", 3}, {"abc", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("ScanHistory = %v\nwant %v", got, want)
	}
	n := 0
	if err := s.ScanHistory("t", func([]byte, uint64, *Record) error { n++; return nil }); err != nil || n != 3 {
		t.Errorf("ScanHistory(t): %d rows, %v; want 3", n, err)
	}
	for k, seqs := range map[string][]uint64{"a": {1, 2, 3, 4}, "ab": {1, 2, 3}, "abc": {1}, "b": {1}, "c": nil} {
		h, err := s.History("tenure", key(k))
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, r := range h {
			if r.Image["id"].Str != k {
				t.Errorf("History(%q) holds a row of %q", k, r.Image["id"].Str)
			}
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, seqs) {
			t.Errorf("History(%q) seqs = %v, want %v", k, got, seqs)
		}
	}
}

func TestEvents(t *testing.T) {
	s, dir := newStore(t)
	seen := func(txn *Txn, entity, id string) bool {
		t.Helper()
		ok, err := txn.SeenEvent(entity, id, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	txn := s.Begin()
	if seen(txn, "tenure", "ev-1") {
		t.Error("a new event id is seen")
	}
	if err := txn.MarkEvent("tenure", "ev-1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !seen(txn, "tenure", "ev-1") {
		t.Error("an event id marked in the txn is not seen in it")
	}
	if seen(txn, "t", "ev-1") || seen(txn, "tenure", "ev-") || seen(txn, "tenure", "ev-10") {
		t.Error("an event id is seen for another entity or id")
	}
	if seen(s.Begin(), "tenure", "ev-1") {
		t.Error("another txn sees an uncommitted event id")
	}
	commit(t, txn)
	txn = s.Begin()
	if !seen(txn, "tenure", "ev-1") || seen(txn, "contact_details", "ev-1") {
		t.Error("committed event id not seen, or seen for another entity")
	}
	txn.MarkEvent("tenure", "ev-2", time.Time{})
	txn.Discard()
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	txn = s.Begin()
	if !seen(txn, "tenure", "ev-1") || seen(txn, "tenure", "ev-2") {
		t.Error("after reopen: ev-1 must be seen, the discarded ev-2 not")
	}
}

func TestPositionsAndMeta(t *testing.T) {
	s, dir := newStore(t)
	txn := s.Begin()
	txn.SetPosition("events:events/tenure.jsonl", 10, "")
	txn.SetPosition("events:events/tenure.jsonl", 4096, "")
	txn.SetPosition("export:01793498400000-7992c77e/a.json.gz", 0, "")
	txn.SetPosition("export:01793498400000-7992c77e/b.json.gz", 1<<40, "")
	if err := txn.SetMeta("asof/tenure", []byte("2026-11-01T02:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if err := txn.SetMeta("empty", nil); err != nil {
		t.Fatal(err)
	}
	if off, ok, _ := s.Position("events:events/tenure.jsonl"); ok || off != 0 {
		t.Errorf("uncommitted position visible: %d", off)
	}
	commit(t, txn)
	if err := s.SetMeta("boot/tenure/x", []byte("done")); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		for src, want := range map[string]int64{"events:events/tenure.jsonl": 4096, "export:01793498400000-7992c77e/a.json.gz": 0,
			"export:01793498400000-7992c77e/b.json.gz": 1 << 40} {
			if off, ok, err := s.Position(src); !ok || off != want || err != nil {
				t.Errorf("Position(%s) = %d, %v, %v; want %d", src, off, ok, err, want)
			}
		}
		if off, ok, err := s.Position("events:events/tenure"); ok || off != 0 || err != nil {
			t.Errorf("position of a prefix of an id = %d, %v, %v", off, ok, err)
		}
		for name, want := range map[string]string{"asof/tenure": "2026-11-01T02:00:00Z", "empty": "", "boot/tenure/x": "done"} {
			if v, ok, err := s.Meta(name); !ok || string(v) != want || err != nil {
				t.Errorf("Meta(%s) = %q, %v, %v; want %q", name, v, ok, err, want)
			}
		}
		if _, ok, _ := s.Meta("asof/t"); ok {
			t.Error("Meta of an unknown name found")
		}
	}
	check(s)
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	check(s)
	txn = s.Begin()
	txn.SetPosition("events:events/tenure.jsonl", 8192, "")
	commit(t, txn)
	if off, _, _ := s.Position("events:events/tenure.jsonl"); off != 8192 {
		t.Errorf("position after an update = %d", off)
	}
	// A resume token rides with the offset.
	txn = s.Begin()
	txn.SetPosition("scan:T/1/4", 3, "{\"id\":{\"S\":\"k\"}}")
	commit(t, txn)
	if off, tok, ok, err := s.PositionToken("scan:T/1/4"); err != nil || !ok || off != 3 || tok == nil || string(tok) != `{"id":{"S":"k"}}` {
		t.Errorf("position with a token = %d %q %v %v", off, tok, ok, err)
	}
	if _, tok, _, _ := s.PositionToken("events:events/tenure.jsonl"); tok != nil {
		t.Errorf("a plain position has token %q", tok)
	}
}

// TestSequencesAfterReopen: dead letters and inconsistencies are numbered
// on after a restart, and read back in order with their fields.
func TestSequencesAfterReopen(t *testing.T) {
	s, dir := newStore(t)
	at := time.Date(2026, 11, 1, 2, 30, 0, 0, time.UTC)
	for round := 0; round < 3; round++ {
		// Two txns per session: one with two dead letters and one
		// inconsistency, one with an inconsistency only.
		txn := s.Begin()
		for i := 0; i < 2; i++ {
			raw := []byte(fmt.Sprintf("line %d.%d \xff\x00", round, i))
			if err := txn.AddDeadLetter(DeadLetter{Time: at, Source: "events:e.jsonl", Offset: int64(100*round + i), Reason: "not valid JSON", Raw: raw}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 2; i++ {
			in := Inconsistency{Entity: "tenure", Key: tenureID, Field: "charges", Expected: json.RawMessage(`{"rent":112.54}`),
				Found: json.RawMessage(`null`), EventID: fmt.Sprint("ev-", 2*round+i), EventType: "TenureUpdatedEvent", EventTime: at}
			if err := txn.AddInconsistency(in); err != nil {
				t.Fatal(err)
			}
			commit(t, txn)
			txn = s.Begin()
		}
		txn.Discard()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		s = openStore(t, dir)
	}
	defer s.Close()
	dl := deadLetters(t, s)
	if len(dl) != 6 {
		t.Fatalf("%d dead letters, want 6", len(dl))
	}
	for i, d := range dl {
		round, n := i/2, i%2
		if d.Seq != uint64(i+1) || d.Offset != int64(100*round+n) || string(d.Raw) != fmt.Sprintf("line %d.%d \xff\x00", round, n) ||
			d.Reason != "not valid JSON" || d.Source != "events:e.jsonl" || !d.Time.Equal(at) {
			t.Errorf("dead letter %d = %+v", i, d)
		}
	}
	in := inconsistencies(t, s)
	if len(in) != 6 {
		t.Fatalf("%d inconsistencies, want 6", len(in))
	}
	for i, x := range in {
		if x.Seq != uint64(i+1) || x.EventID != fmt.Sprint("ev-", i) || string(x.Expected) != `{"rent":112.54}` || string(x.Found) != "null" ||
			x.Field != "charges" || x.Key != tenureID || !x.EventTime.Equal(at) {
			t.Errorf("inconsistency %d = %+v", i, x)
		}
	}
}

func TestGenerations(t *testing.T) {
	s, dir := newStore(t)
	gen := func(s *Store, e string) uint64 {
		t.Helper()
		g, err := s.Generation(e)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	txn := s.Begin()
	for i := uint64(1); i <= 3; i++ {
		txn.AppendHistory("tenure", []byte("a"), nil, rec("a", i))
	}
	txn.Touch("tenure")
	txn.Touch("t")
	txn.Touch("t")
	if gen(s, "tenure") != 0 {
		t.Error("generation moved before commit")
	}
	commit(t, txn)
	if g, g2, g3 := gen(s, "tenure"), gen(s, "t"), gen(s, "te"); g != 4 || g2 != 2 || g3 != 0 {
		t.Errorf("generations tenure %d t %d te %d; want 4 2 0", g, g2, g3)
	}
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	if g, g2 := gen(s, "tenure"), gen(s, "t"); g != 4 || g2 != 2 {
		t.Errorf("after reopen: generations %d %d; want 4 2", g, g2)
	}
	txn = s.Begin()
	txn.Touch("tenure")
	commit(t, txn)
	txn = s.Begin()
	txn.Touch("tenure")
	txn.Discard()
	if g := gen(s, "tenure"); g != 5 {
		t.Errorf("generation %d, want 5", g)
	}
}

// TestScanRecords: many records of entities whose names are prefixes of
// each other come back per entity in key order, each with its own record.
func TestScanRecords(t *testing.T) {
	s, _ := newStore(t)
	entities := map[string]int{"t": 700, "te": 3, "tenure": 1500, "tenure_x": 1}
	want := map[string][]string{}
	txn := s.Begin()
	for e, n := range entities {
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("%s-%05d", e, i)
			r := rec(k, uint64(i+1))
			if i%7 == 3 {
				r = &Record{Live: false, Version: "3", Seq: uint64(i + 1), Image: ddbjson.Map{"id": ddbjson.S(k)}}
			}
			txn.Put(e, []byte(k), r)
			want[e] = append(want[e], k)
		}
	}
	commit(t, txn)
	for e, keys := range want {
		var got []string
		err := s.ScanRecords(e, func(key []byte, r *Record) error {
			k := string(key)
			i := len(got)
			if r.Seq != uint64(i+1) || r.Live != (i%7 != 3) || (r.Live && r.Image["id"].Str != k) {
				t.Errorf("%s: record of %s = live %v seq %d image %v", e, k, r.Live, r.Seq, r.Image)
			}
			got = append(got, k)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, keys) {
			t.Errorf("ScanRecords(%s): %d keys, want %d (first %v)", e, len(got), len(keys), got[:min(3, len(got))])
		}
	}
	if err := s.ScanRecords("contact_details", func([]byte, *Record) error { t.Error("record of an empty entity"); return nil }); err != nil {
		t.Error(err)
	}
}

// TestScanStops: a callback error ends the scan at once and is returned;
// no goroutine of the scan is left behind.
func TestScanStops(t *testing.T) {
	s, _ := newStore(t)
	txn := s.Begin()
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("%05d", i)
		r := rec(k, uint64(i+1))
		txn.Put("tenure", []byte(k), r)
		txn.AppendHistory("tenure", []byte(k), nil, r)
	}
	commit(t, txn)
	before := runtime.NumGoroutine()
	boom := errors.New("boom")
	for _, stopAt := range []int{1, 2, 255, 256, 257, 1000, 4999} {
		for _, stop := range []error{io.EOF, boom} {
			for round := 0; round < 5; round++ {
				for _, scan := range []func(func() error) error{
					func(fn func() error) error {
						return s.ScanRecords("tenure", func([]byte, *Record) error { return fn() })
					},
					func(fn func() error) error {
						return s.ScanHistory("tenure", func([]byte, uint64, *Record) error { return fn() })
					},
				} {
					calls := 0
					done := make(chan error, 1)
					go func() {
						done <- scan(func() error {
							calls++
							if calls == stopAt {
								return stop
							}
							return nil
						})
					}()
					select {
					case err := <-done:
						if !errors.Is(err, stop) || calls != stopAt {
							t.Fatalf("scan stopped at call %d: %v, after %d calls", stopAt, err, calls)
						}
					case <-time.After(10 * time.Second):
						t.Fatalf("scan stopped at call %d of 5000 did not return", stopAt)
					}
				}
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the scans, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestScanReportsDamage: a damaged stored record fails the scan with the
// key named.
func TestScanReportsDamage(t *testing.T) {
	s, _ := newStore(t)
	txn := s.Begin()
	for i := 0; i < 300; i++ {
		txn.Put("tenure", []byte(fmt.Sprintf("%03d", i)), rec("x", 1))
	}
	commit(t, txn)
	if err := s.db.Set(recordKey("tenure", []byte("150")), []byte{9, 9}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Set(historyKey("tenure", []byte("k"), 1), []byte{1}, nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := s.ScanRecords("tenure", func([]byte, *Record) error { n++; return nil })
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(fmt.Sprintf("record %x: stored record: unknown format", recordKey("tenure", []byte("150"))))) {
		t.Errorf("scan of a damaged record: %v", err)
	}
	if n > 150 {
		t.Errorf("%d records delivered, the damaged one is the 151st", n)
	}
	if err := s.ScanHistory("tenure", func([]byte, uint64, *Record) error { return nil }); err == nil {
		t.Error("scan of a damaged history row: no error")
	}
	if _, err := s.Get("tenure", []byte("150")); err == nil {
		t.Error("Get of a damaged record: no error")
	}
}
