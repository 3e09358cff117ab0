package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// Consume applies every record of src, committing every batch records, on
// a record that asks for a flush, and at the end, together with the source
// positions and message ids. onCommit, if set, runs after each commit with
// the number of records in it; then each committed record's Done runs.
//
// A batch of batch records is applied while the disk syncs the one before
// it (state.Txn.CommitNoSyncWait); its onCommit and Done run once it is
// durable. A record that asks for a flush (a live source with nothing more
// at hand) is waited for at once.
//
// A cancelled context ends Consume gracefully: the records applied so far
// are committed (each was applied whole) and the context's error returned.
// On any other error the records of the open batch are not committed: they
// are read again on the next run.
func (m *Materializer) Consume(ctx context.Context, src change.Source, batch int, onCommit func(n int)) (err error) {
	txn := m.store.Begin()
	n := 0
	var done []func()
	// The commit whose sync is in flight, its record count and callbacks.
	var syncing *state.Committed
	var syncingN int
	var syncingDone []func()
	settle := func() error {
		if syncing == nil {
			return nil
		}
		err := syncing.Wait()
		syncing = nil
		if err != nil {
			return err
		}
		if onCommit != nil && syncingN > 0 {
			onCommit(syncingN)
		}
		for _, f := range syncingDone {
			f()
		}
		syncingDone = syncingDone[:0]
		return nil
	}
	defer func() {
		if serr := settle(); err == nil {
			err = serr
		}
	}()
	flush := func() error {
		if n == 0 && len(done) == 0 {
			txn.Discard()
			txn = m.store.Begin()
			return nil
		}
		c, err := txn.CommitNoSyncWait()
		if err != nil {
			return err
		}
		if err := settle(); err != nil {
			c.Wait()
			return err
		}
		syncing, syncingN = c, n
		syncingDone, done = done, syncingDone
		txn, n = m.store.Begin(), 0
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return err
		}
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return ctx.Err()
			}
			txn.Discard()
			return err
		}
		if rec.Flush && rec.Change == nil && rec.Dead == nil {
			if err := flush(); err != nil {
				return err
			}
			if err := settle(); err != nil {
				return err
			}
			continue
		}
		if err := m.record(txn, rec); err != nil {
			txn.Discard()
			return err
		}
		if rec.Done != nil {
			done = append(done, rec.Done)
		}
		n++
		if n >= batch || rec.Flush {
			if err := flush(); err != nil {
				return err
			}
		}
		if rec.Flush {
			if err := settle(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (m *Materializer) record(txn *state.Txn, rec change.Record) error {
	if rec.MessageID != "" {
		ns := "msg:" + rec.Next.Source
		seen, err := txn.SeenEvent(ns, rec.MessageID, time.Time{})
		if err != nil {
			return err
		}
		if seen {
			m.Stats.Redelivered++
			return nil // applied (or dead-lettered) before a crash
		}
		if err := txn.MarkEvent(ns, rec.MessageID, time.Time{}); err != nil {
			return fmt.Errorf("remembering message id: %w", err)
		}
	}
	switch {
	case rec.Change != nil:
		if _, err := m.Apply(txn, rec.Change); err != nil {
			return err
		}
	case rec.Dead != nil:
		if err := m.DeadLetter(txn, rec.Dead); err != nil {
			return fmt.Errorf("storing dead letter: %w", err)
		}
	}
	if rec.Next.Source != "" {
		txn.SetPosition(rec.Next.Source, rec.Next.Offset, rec.Next.Token)
	}
	return nil
}

// Begin starts a transaction on the materializer's store, for callers that
// commit changes with their own metadata (a bootstrap's completion mark).
func (m *Materializer) Begin() *state.Txn { return m.store.Begin() }

// Prefetch reads ahead the event ids and records that applying recs will
// read (state.Store.PrefetchRecord). It is a stage for change.ReadAhead: it
// runs on goroutines of its own while the materializer applies earlier
// records, and changes nothing but the store's read-ahead results, which a
// commit in between makes it read again where they are stale. The reads,
// each mostly a block read from disk, are shared among the cores.
func (m *Materializer) Prefetch(recs []change.Record) {
	workers := min(runtime.GOMAXPROCS(0), len(recs)/prefetchMin)
	if workers <= 1 {
		m.prefetch(recs)
		return
	}
	var wg sync.WaitGroup
	per := (len(recs) + workers - 1) / workers
	for lo := 0; lo < len(recs); lo += per {
		part := recs[lo:min(lo+per, len(recs))]
		wg.Go(func() { m.prefetch(part) })
	}
	wg.Wait()
}

// prefetchMin is the number of records from which Prefetch shares them out.
const prefetchMin = 16

func (m *Materializer) prefetch(recs []change.Record) {
	for i := range recs {
		rec := &recs[i]
		if rec.MessageID != "" {
			m.store.PrefetchEvent("msg:"+rec.Next.Source, rec.MessageID, time.Time{})
		}
		if d := rec.Dead; d != nil && d.ID != "" {
			m.store.PrefetchEvent("_dead", d.ID, time.Time{})
		}
		c := rec.Change
		if c == nil {
			continue
		}
		if _, ok := m.entities[c.Entity]; !ok {
			continue
		}
		if c.EventID != "" && (c.Resync != nil || c.Origin == change.OriginEvent || c.Origin == change.OriginStream) {
			m.store.PrefetchEvent(c.Entity, c.EventID, c.EventTime)
		}
		if c.Resync == nil || c.Resync.Kind == change.ResyncItem {
			m.store.PrefetchRecord(c.Entity, c.Key.Bytes())
		}
	}
}
