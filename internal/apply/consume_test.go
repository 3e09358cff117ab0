package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// scripted yields its records, then blocks (a live source with nothing at
// hand) until its context ends, or returns io.EOF when eof is set.
type scripted struct {
	recs []change.Record
	eof  bool
	// onNext, if set, runs before each record is returned.
	onNext func(i int)
	i      int
}

func (s *scripted) Next(ctx context.Context) (change.Record, error) {
	if s.i < len(s.recs) {
		if s.onNext != nil {
			s.onNext(s.i)
		}
		s.i++
		return s.recs[s.i-1], nil
	}
	if s.eof {
		return change.Record{}, io.EOF
	}
	<-ctx.Done()
	return change.Record{}, ctx.Err()
}

func (s *scripted) Close() error { return nil }

func created(i int, msgID string, done func()) change.Record {
	c := ev(fmt.Sprintf("e%d", i), fmt.Sprintf("k%d", i), change.OpUpsert, snapT.Add(time.Duration(i)*time.Second), nil, kv("id", fmt.Sprintf("k%d", i), "a", "1"))
	return change.Record{Change: c, Next: change.Position{Source: "q", Offset: int64(i + 1)}, MessageID: msgID, Done: done}
}

// TestConsumeFlushHintCommitsAndRunsDone: a flush hint commits the open
// batch at once, and each record's Done runs only after that commit.
func TestConsumeFlushHintCommitsAndRunsDone(t *testing.T) {
	s := openStore(t, t.TempDir())
	m := newMat(s)
	var done []int
	committed := func(i int) func() {
		return func() {
			// The commit is durable before Done runs: the store has it.
			if off, ok, _ := s.Position("q"); !ok || off < int64(i+1) {
				t.Errorf("Done of record %d ran before its commit (position %d, %v)", i, off, ok)
			}
			done = append(done, i)
		}
	}
	src := &scripted{recs: []change.Record{
		created(0, "m0", committed(0)), created(1, "m1", committed(1)), {Flush: true}, created(2, "m2", committed(2)),
	}}
	src.onNext = func(i int) {
		if i == 3 && len(done) != 2 {
			t.Errorf("after the flush hint %d Done callbacks ran, want 2", len(done))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var commits []int
	err := m.Consume(ctx, src, 1000, func(n int) { commits = append(commits, n) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Consume = %v, want the context's error", err)
	}
	// The cancelled context committed the last record gracefully.
	if fmt.Sprint(commits) != "[2 1]" || fmt.Sprint(done) != "[0 1 2]" {
		t.Errorf("commits %v, done %v; want [2 1] and [0 1 2]", commits, done)
	}
	if off, _, _ := s.Position("q"); off != 3 {
		t.Errorf("position %d, want 3", off)
	}
}

// TestConsumeSkipsSeenMessageIDs: a redelivered message (same id in the
// same stream) is skipped, even when its event id differs.
func TestConsumeSkipsSeenMessageIDs(t *testing.T) {
	s := openStore(t, t.TempDir())
	m := newMat(s)
	first := &scripted{recs: []change.Record{created(0, "m0", nil), created(1, "m1", nil)}, eof: true}
	if err := m.Consume(context.Background(), first, 1000, nil); err != nil {
		t.Fatal(err)
	}
	again := created(0, "m0", nil)
	again.Change.EventID = "other-id" // not caught by the event id
	dup := created(1, "m1", nil)
	dup.Next.Source = "another-queue" // a different stream: not a redelivery
	second := &scripted{recs: []change.Record{again, dup, created(2, "m2", nil)}, eof: true}
	if err := m.Consume(context.Background(), second, 1000, nil); err != nil {
		t.Fatal(err)
	}
	if m.Stats.Redelivered != 1 {
		t.Errorf("redelivered = %d, want 1", m.Stats.Redelivered)
	}
	if m.Stats.Duplicates != 1 {
		t.Errorf("duplicates = %d, want 1 (the event id of m1 in another stream)", m.Stats.Duplicates)
	}
	if m.Stats.EventsApplied != 3 {
		t.Errorf("events applied = %d, want 3", m.Stats.EventsApplied)
	}
}

// TestConsumeErrorCommitsNothing: a source error discards the open batch
// and runs no Done.
func TestConsumeErrorCommitsNothing(t *testing.T) {
	s := openStore(t, t.TempDir())
	m := newMat(s)
	ran := false
	boom := errors.New("boom")
	src := &failing{scripted: scripted{recs: []change.Record{created(0, "m0", func() { ran = true })}}, err: boom}
	if err := m.Consume(context.Background(), src, 1000, nil); !errors.Is(err, boom) {
		t.Fatalf("Consume = %v, want boom", err)
	}
	if ran {
		t.Error("Done ran for an uncommitted record")
	}
	if _, ok, _ := s.Position("q"); ok {
		t.Error("the position of an uncommitted record was stored")
	}
}

type failing struct {
	scripted
	err error
}

func (f *failing) Next(ctx context.Context) (change.Record, error) {
	if f.i < len(f.recs) {
		return f.scripted.Next(ctx)
	}
	return change.Record{}, f.err
}

// TestConsumeReadAheadSameState: applying a stream through Consume with the
// state read ahead (change.ReadAhead with Prefetch as its stage; small
// chunks and batches, so that commits land between a read ahead and its
// use) leaves exactly the state, history and outcomes of applying it
// without: many events touch the same keys, and some come twice.
func TestConsumeReadAheadSameState(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 8
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		m := newModel(seed)
		snap := m.simulate(6, 150, 0.05, true)
		rows, events := m.stream(snap, 30*time.Second, 0.2)
		all := append(rows, events...)
		batch := 1 + m.rng.IntN(7)
		chunk := 1 + m.rng.IntN(9)
		run := func(ahead bool) (*state.Store, Stats) {
			s := openStore(t, t.TempDir())
			t.Cleanup(func() { s.Close() })
			mat := newMat(s)
			txn := mat.Begin()
			if err := mat.SetSnapshotAsOf(txn, "t", m.snapT); err != nil {
				t.Fatal(err)
			}
			if err := txn.Commit(); err != nil {
				t.Fatal(err)
			}
			recs := make([]change.Record, len(all))
			for i, c := range all {
				cc := *c
				recs[i] = change.Record{Change: &cc, Next: change.Position{Source: "f", Offset: int64(i + 1)}}
			}
			var src change.Source = &scripted{recs: recs, eof: true}
			if ahead {
				src = change.ReadAhead(src, chunk, mat.Prefetch)
			}
			defer src.Close()
			if err := mat.Consume(context.Background(), src, batch, nil); err != nil {
				t.Fatal(err)
			}
			return s, mat.Stats
		}
		plain, plainStats := run(false)
		ahead, aheadStats := run(true)
		if plainStats != aheadStats {
			t.Fatalf("seed %d: outcomes\n ahead %+v\n plain %+v", seed, aheadStats, plainStats)
		}
		want := storeDump(t, plain)
		if got := storeDump(t, ahead); got != want {
			t.Fatalf("seed %d (batch %d, chunk %d): the state differs\n ahead %s\n plain %s", seed, batch, chunk, got, want)
		}
	}
}

// storeDump prints every record and history row of entity t.
func storeDump(t *testing.T, s *state.Store) string {
	t.Helper()
	var b strings.Builder
	err := s.ScanHistory("t", func(key []byte, seq uint64, r *state.Record) error {
		fmt.Fprintf(&b, "%x/%d %v %s %s %s %v %v|", key, seq, r.Live, ddbjson.AppendPlainMap(nil, r.Image), r.Version, r.EventID, r.Changed, r.AsOf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
