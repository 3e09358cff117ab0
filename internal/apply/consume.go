package apply

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// Consume applies every record of src, committing every batch records (and
// at the end) together with the source positions. onCommit, if set, runs
// after each commit with the number of records in it. On an error or a
// cancelled context the records of the open batch are not committed: they
// are read again on the next run.
func (m *Materializer) Consume(ctx context.Context, src change.Source, batch int, onCommit func(n int)) error {
	txn := m.store.Begin()
	n := 0
	flush := func() error {
		if err := txn.Commit(); err != nil {
			return err
		}
		if onCommit != nil && n > 0 {
			onCommit(n)
		}
		txn, n = m.store.Begin(), 0
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			txn.Discard()
			return err
		}
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			txn.Discard()
			return err
		}
		if err := m.record(txn, rec); err != nil {
			txn.Discard()
			return err
		}
		n++
		if n >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (m *Materializer) record(txn *state.Txn, rec change.Record) error {
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
