// Package changetest is the conformance suite every change.Source must pass:
// it reads to io.EOF and stays there, positions are well formed and move
// forward, a cancelled context stops Next promptly without losing a record,
// Close is idempotent and leaves no goroutine behind, and a source reopened
// from the positions committed after any number of records yields exactly
// the records not yet committed.
//
// A source package runs it from its tests:
//
//	changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
//		return export.NewSource(fsys, m, table, 2, pos)
//	}, items)
package changetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// PositionFunc returns the committed offset of a source id, as the state
// store does. It is the unnamed func type, so it converts to (and is
// assignable to) each source package's own PositionFunc.
type PositionFunc = func(source string) (int64, bool, error)

// Opener opens a fresh source that resumes from the positions pos returns.
type Opener func(t testing.TB, pos PositionFunc) change.Source

// Positions is a fake position store: the last committed Next offset per
// source id. Like the real store it may be read by a source's goroutines
// while the consumer commits.
type Positions map[string]int64

// positionsMu guards every Positions map.
var positionsMu sync.Mutex

// Func returns the PositionFunc that reads p.
func (p Positions) Func() PositionFunc {
	return func(source string) (int64, bool, error) {
		positionsMu.Lock()
		defer positionsMu.Unlock()
		off, ok := p[source]
		return off, ok, nil
	}
}

// Commit records rec's Next position, as committing its batch would.
func (p Positions) Commit(rec change.Record) {
	if rec.Next.Source != "" {
		positionsMu.Lock()
		p[rec.Next.Source] = rec.Next.Offset
		positionsMu.Unlock()
	}
}

// Identity names a record by what it is and where it sits: its kind, the
// change's entity, key, operation and event id (or the dead letter's start
// offset), and its Next position. Two reads of one source give the same
// identities; no two records of a read share one.
func Identity(r change.Record) string {
	next := fmt.Sprintf("%s:%d", r.Next.Source, r.Next.Offset)
	switch {
	case r.Change != nil:
		c := r.Change
		return fmt.Sprintf("change %s %s %s %s @%s", c.Entity, c.Key, c.Op, c.EventID, next)
	case r.Dead != nil:
		return fmt.Sprintf("dead %s:%d @%s", r.Dead.Pos.Source, r.Dead.Pos.Offset, next)
	}
	return "skip @" + next
}

// Timeout bounds every wait of the suite: a Next or a Close that takes
// longer fails the test instead of hanging it.
var Timeout = 10 * time.Second

// Drain reads src to io.EOF and returns the records, failing t on any other
// error. Each record is committed to pos, when pos is not nil.
func Drain(t testing.TB, src change.Source, pos Positions) []change.Record {
	t.Helper()
	var recs []change.Record
	for {
		r, err := next(t, src, context.Background())
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(recs), err)
		}
		recs = append(recs, r)
		if pos != nil {
			pos.Commit(r)
		}
	}
}

// next calls src.Next and fails t if it does not return within Timeout.
func next(t testing.TB, src change.Source, ctx context.Context) (change.Record, error) {
	t.Helper()
	type result struct {
		r   change.Record
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := src.Next(ctx)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		return res.r, res.err
	case <-time.After(Timeout):
		t.Fatalf("Next did not return within %v", Timeout)
		return change.Record{}, nil
	}
}

func closeSource(t testing.TB, src change.Source) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- src.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(Timeout):
		t.Fatalf("Close did not return within %v", Timeout)
	}
}

// Run runs the whole suite. want is the number of records the source
// yields when nothing is committed (at least 2).
func Run(t *testing.T, open Opener, want int) {
	if want < 2 {
		t.Fatalf("changetest.Run needs a source of at least 2 records, got want=%d", want)
	}
	var all []string
	t.Run("ReadsToEOF", func(t *testing.T) { all = testReadsToEOF(t, open, want) })
	if t.Failed() {
		return
	}
	t.Run("Positions", func(t *testing.T) { testPositions(t, open) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, open, all) })
	t.Run("Close", func(t *testing.T) { testClose(t, open, want) })
	t.Run("Resume", func(t *testing.T) { testResume(t, open, all) })
	t.Run("ResumeRepeatedly", func(t *testing.T) { testResumeRepeatedly(t, open, all) })
}

func identities(recs []change.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = Identity(r)
	}
	return ids
}

func testReadsToEOF(t *testing.T, open Opener, want int) []string {
	src := open(t, Positions{}.Func())
	defer closeSource(t, src)
	recs := Drain(t, src, nil)
	if len(recs) != want {
		t.Errorf("read %d records to io.EOF, want %d", len(recs), want)
	}
	for i := range 3 {
		if r, err := next(t, src, context.Background()); !errors.Is(err, io.EOF) {
			t.Fatalf("Next call %d after io.EOF = %s, %v; want io.EOF again", i+1, Identity(r), err)
		}
	}
	ids := identities(recs)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("record %s read twice", id)
		}
		seen[id] = true
	}
	return ids
}

// testPositions: every record has a Next position, a change or dead letter
// sits in the same source stream, and per stream Next strictly increases
// (equal positions would make a resume after the first skip the second).
func testPositions(t *testing.T, open Opener) {
	src := open(t, Positions{}.Func())
	defer closeSource(t, src)
	last := map[string]int64{}
	for i, r := range Drain(t, src, nil) {
		n := r.Next
		if n.Source == "" {
			t.Fatalf("record %d (%s) has no Next source id", i, Identity(r))
		}
		if n.Offset <= 0 {
			t.Errorf("record %d (%s): Next offset %d, want > 0", i, Identity(r), n.Offset)
		}
		if prev, ok := last[n.Source]; ok && n.Offset <= prev {
			t.Errorf("record %d (%s): Next offset %d after %d in %s: positions must move forward", i, Identity(r), n.Offset, prev, n.Source)
		}
		last[n.Source] = n.Offset
		if r.Change != nil && r.Dead != nil {
			t.Errorf("record %d carries both a change and a dead letter", i)
		}
		if c := r.Change; c != nil {
			if c.Pos.Source != n.Source {
				t.Errorf("record %d: change position %q, Next %q", i, c.Pos.Source, n.Source)
			}
			if c.Entity == "" || c.Key.Validate() != nil || c.Op < change.OpUpsert || c.Op > change.OpDelete {
				t.Errorf("record %d: change without entity, valid key or op: %+v", i, c)
			}
		}
		if d := r.Dead; d != nil {
			if d.Pos.Source != n.Source || d.Pos.Offset >= n.Offset || d.Reason == "" {
				t.Errorf("record %d: dead letter at %+v with reason %q, Next %+v", i, d.Pos, d.Reason, n)
			}
		}
	}
}

// testCancel: Next with a cancelled or expired context returns that error
// promptly, before the first record and mid-stream, and costs no record:
// the same source then goes on with a live context. The context of the
// first Next is cancelled too, since a source must not tie its own
// goroutines to the context of one call.
func testCancel(t *testing.T, open Opener, all []string) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, at := range []int{0, 1, len(all) / 2, len(all)} {
		t.Run(fmt.Sprintf("after_%d", at), func(t *testing.T) {
			src := open(t, Positions{}.Func())
			defer closeSource(t, src)
			first, cancelFirst := context.WithCancel(context.Background())
			var got []string
			for len(got) < at {
				r, err := next(t, src, first)
				if err != nil {
					t.Fatalf("Next after %d records: %v", len(got), err)
				}
				got = append(got, Identity(r))
			}
			cancelFirst()
			for _, c := range []struct {
				ctx  context.Context
				want error
			}{{first, context.Canceled}, {cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
				r, err := next(t, src, c.ctx)
				if !errors.Is(err, c.want) {
					t.Fatalf("Next with a done context after %d records = %s, %v; want %v", at, Identity(r), err, c.want)
				}
			}
			for _, r := range Drain(t, src, nil) {
				got = append(got, Identity(r))
			}
			sameRecords(t, got, all)
		})
	}
}

// testClose: Close is idempotent before the first Next, mid-stream and
// after io.EOF, and no goroutine outlives it.
func testClose(t *testing.T, open Opener, want int) {
	for _, at := range []int{-1, 0, 1, want / 2, want} {
		name := fmt.Sprintf("after_%d", at)
		if at < 0 {
			name = "after_EOF"
		}
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			src := open(t, Positions{}.Func())
			if at < 0 {
				Drain(t, src, nil)
			}
			for i := 0; i < at; i++ {
				if _, err := next(t, src, context.Background()); err != nil {
					t.Fatalf("Next %d: %v", i, err)
				}
			}
			closeSource(t, src)
			closeSource(t, src)
			// Next after Close must return (anything) rather than hang.
			next(t, src, context.Background())
			closeSource(t, src)
			settled(t, before)
		})
	}
}

// settled waits for the goroutine count to come back to before.
func settled(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before: a source leaked some\n%s", n, before, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testResume: commit after k records, reopen from the committed positions:
// the new source yields exactly the records not committed.
func testResume(t *testing.T, open Opener, all []string) {
	n := len(all)
	for _, k := range slices.Compact([]int{0, 1, n / 3, n / 2, n - 1, n}) {
		t.Run(fmt.Sprintf("after_%d", k), func(t *testing.T) {
			pos := Positions{}
			src := open(t, pos.Func())
			var got []string
			for len(got) < k {
				r, err := next(t, src, context.Background())
				if err != nil {
					t.Fatalf("Next after %d records: %v", len(got), err)
				}
				got = append(got, Identity(r))
				pos.Commit(r)
			}
			closeSource(t, src)
			src = open(t, pos.Func())
			defer closeSource(t, src)
			rest := identities(Drain(t, src, nil))
			if len(rest) != n-k {
				t.Errorf("resumed after %d of %d records: read %d more, want %d", k, n, len(rest), n-k)
			}
			for _, id := range rest {
				if slices.Contains(got, id) {
					t.Errorf("record %s read again after it was committed", id)
					break
				}
			}
			sameRecords(t, append(got, rest...), all)
		})
	}
}

// testResumeRepeatedly: a run killed every few records and restarted from
// its commits reads every record once.
func testResumeRepeatedly(t *testing.T, open Opener, all []string) {
	step := max(1, len(all)/7)
	pos := Positions{}
	var got []string
	for runs := 0; ; runs++ {
		if runs > len(all)+1 {
			t.Fatalf("%d runs of %d records did not reach io.EOF", runs, step)
		}
		src := open(t, pos.Func())
		eof := false
		for i := 0; i < step; i++ {
			r, err := next(t, src, context.Background())
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				t.Fatalf("run %d: Next: %v", runs, err)
			}
			got = append(got, Identity(r))
			pos.Commit(r)
		}
		closeSource(t, src)
		if eof {
			break
		}
	}
	sameRecords(t, got, all)
}

// sameRecords checks that got and want hold the same identities, each
// once (order may differ: a parallel source interleaves its streams).
func sameRecords(t testing.TB, got, want []string) {
	t.Helper()
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if slices.Equal(g, w) {
		return
	}
	count := map[string]int{}
	for _, id := range g {
		count[id]++
	}
	for _, id := range w {
		count[id]--
	}
	shown := 0
	for _, id := range slices.Sorted(maps.Keys(count)) {
		switch c := count[id]; {
		case c > 0 && shown < 10:
			t.Errorf("record %s read %d time(s) too many", id, c)
			shown++
		case c < 0 && shown < 10:
			t.Errorf("record %s lost", id)
			shown++
		}
	}
	t.Errorf("read %d records, want %d distinct ones", len(got), len(want))
}

// Image returns c's image as a Map (Image, or ImageBin decoded), failing t
// when it does not decode.
func Image(t testing.TB, c *change.Change) ddbjson.Map {
	t.Helper()
	m, err := c.FullImage()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Old returns c's old values as a Map (Old, or OldBin decoded), failing t
// when they do not decode.
func Old(t testing.TB, c *change.Change) ddbjson.Map {
	t.Helper()
	m, err := c.OldData()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
