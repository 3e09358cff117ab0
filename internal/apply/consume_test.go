package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
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
