package change_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// slice is a finite source of n changes under source id, resuming after
// the committed offset; it may fail with err after its records.
type slice struct {
	id     string
	n      int
	i      int
	err    error
	closed *atomic.Int32
}

func newSlice(t testing.TB, id string, n int, pos changetest.PositionFunc) *slice {
	off, _, err := pos(id)
	if err != nil {
		t.Fatal(err)
	}
	return &slice{id: id, n: n, i: int(off)}
}

func (s *slice) Next(ctx context.Context) (change.Record, error) {
	if err := ctx.Err(); err != nil {
		return change.Record{}, err
	}
	if s.i >= s.n {
		if s.err != nil {
			return change.Record{}, s.err
		}
		return change.Record{}, io.EOF
	}
	s.i++
	c := &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(fmt.Sprintf("%s-%d", s.id, s.i))}, Op: change.OpUpsert,
		EventID: fmt.Sprintf("%s/%d", s.id, s.i), Pos: change.Position{Source: s.id, Offset: int64(s.i - 1)}}
	return change.Record{Change: c, Next: change.Position{Source: s.id, Offset: int64(s.i)}}, nil
}

func (s *slice) Close() error {
	if s.closed != nil {
		s.closed.Add(1)
	}
	return nil
}

func TestMergeConformance(t *testing.T) {
	changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
		return change.Merge(newSlice(t, "a", 40, pos), newSlice(t, "b", 25, pos), newSlice(t, "c", 0, pos))
	}, 65)
}

// TestMergeKeepsEachSourcesOrder: records of one source come out in its
// order, whatever the interleaving.
func TestMergeKeepsEachSourcesOrder(t *testing.T) {
	pos := changetest.Positions{}.Func()
	m := change.Merge(newSlice(t, "a", 500, pos), newSlice(t, "b", 500, pos))
	defer m.Close()
	last := map[string]int64{}
	n := 0
	for {
		r, err := m.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Next.Offset != last[r.Next.Source]+1 {
			t.Fatalf("%s: offset %d after %d", r.Next.Source, r.Next.Offset, last[r.Next.Source])
		}
		last[r.Next.Source] = r.Next.Offset
		n++
	}
	if n != 1000 {
		t.Fatalf("merged %d records, want 1000", n)
	}
}

// TestMergeReportsAnError: a source's error ends the merge with it, and
// Close closes every source.
func TestMergeReportsAnError(t *testing.T) {
	pos := changetest.Positions{}.Func()
	var closed atomic.Int32
	boom := errors.New("boom")
	a, b := newSlice(t, "a", 3, pos), newSlice(t, "b", 1000000, pos)
	a.err, a.closed, b.closed = boom, &closed, &closed
	m := change.Merge(a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, err := m.Next(ctx)
		if err == nil {
			continue
		}
		if !errors.Is(err, boom) {
			t.Fatalf("Next = %v, want boom", err)
		}
		break
	}
	if _, err := m.Next(ctx); !errors.Is(err, boom) {
		t.Fatalf("Next after the error = %v, want boom again", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if closed.Load() != 2 {
		t.Fatalf("%d sources closed, want 2", closed.Load())
	}
}
