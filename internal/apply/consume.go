package apply

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// Consume applies every record of src, committing every batch records, on
// a record that asks for a flush, and at the end, together with the source
// positions and message ids. onCommit, if set, runs after each commit with
// the number of records in it; then each committed record's Done runs.
//
// A cancelled context ends Consume gracefully: the records applied so far
// are committed (each was applied whole) and the context's error returned.
// On any other error the records of the open batch are not committed: they
// are read again on the next run.
func (m *Materializer) Consume(ctx context.Context, src change.Source, batch int, onCommit func(n int)) error {
	txn := m.store.Begin()
	n := 0
	var done []func()
	flush := func() error {
		if n == 0 && len(done) == 0 {
			txn.Discard()
			txn = m.store.Begin()
			return nil
		}
		if err := txn.Commit(); err != nil {
			return err
		}
		if onCommit != nil && n > 0 {
			onCommit(n)
		}
		for _, f := range done {
			f()
		}
		txn, n, done = m.store.Begin(), 0, done[:0]
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
	}
	return flush()
}

func (m *Materializer) record(txn *state.Txn, rec change.Record) error {
	if rec.MessageID != "" {
		ns := "msg:" + rec.Next.Source
		seen, err := txn.SeenEvent(ns, rec.MessageID)
		if err != nil {
			return err
		}
		if seen {
			m.Stats.Redelivered++
			return nil // applied (or dead-lettered) before a crash
		}
		if err := txn.MarkEvent(ns, rec.MessageID); err != nil {
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
