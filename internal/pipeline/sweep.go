package pipeline

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// Sweeps finds, for every entity whose last re-sync completed, the live
// entities the re-sync did not send and that did not change since it
// started: they are absent at the source. Each is reported (an
// inconsistency whose field is "(absent)") and, with resync_policy delete,
// tombstoned. The sweep commits its progress with its changes, so a restart
// goes on where it stopped and reports nothing twice.
func (p *Pipeline) Sweeps(ctx context.Context) error {
	for _, e := range p.cfg.Entities {
		v, ok, err := p.Store.Meta(apply.SweepKey(e.Name))
		if err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		var sw apply.Sweep
		if err := json.Unmarshal(v, &sw); err != nil {
			return fmt.Errorf("reading the sweep of %s: %w", e.Name, err)
		}
		n, err := p.sweep(ctx, e.Name, e.ResyncPolicy == "delete", sw)
		if err != nil {
			return fmt.Errorf("sweeping %s after re-sync %s: %w", e.Name, sw.ID, err)
		}
		p.absent += n
		p.log.Info("re-sync swept", "entity", e.Name, "resync", sw.ID, "absent", n, "policy", e.ResyncPolicy)
	}
	return nil
}

func (p *Pipeline) sweep(ctx context.Context, entity string, del bool, sw apply.Sweep) (int64, error) {
	after, _ := hex.DecodeString(sw.After)
	var absent int64
	txn := p.mat.Begin()
	n := 0
	flush := func(last []byte) error {
		sw.After = hex.EncodeToString(last)
		b, _ := json.Marshal(sw)
		if err := txn.SetMeta(apply.SweepKey(entity), b); err != nil {
			return err
		}
		err := txn.Commit()
		txn, n = p.mat.Begin(), 0
		return err
	}
	it := newSeenIter(p.Store, entity, sw.ID)
	defer it.close()
	err := p.Store.ScanRecordHeaders(entity, func(key []byte, r *state.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(after) > 0 && bytes.Compare(key, after) <= 0 {
			return nil
		}
		sent := it.has(key)
		if it.err != nil {
			return fmt.Errorf("reading the keys the re-sync sent: %w", it.err)
		}
		if sent || !r.Live || !r.Changed.Before(sw.StartedAt) {
			return nil
		}
		k, err := change.ParseKeyBytes(key)
		if err != nil {
			return err
		}
		absent++
		if err := txn.AddInconsistency(state.Inconsistency{Entity: entity, Key: k.String(), Field: "(absent)",
			Expected: json.RawMessage("null"), Found: json.RawMessage(`"present"`), EventID: sw.ID,
			EventType: "ResyncCompleted", EventTime: sw.StartedAt}); err != nil {
			return err
		}
		if del {
			c := &change.Change{Entity: entity, Key: k, Op: change.OpDelete, AsOf: sw.StartedAt, EventTime: sw.StartedAt,
				Origin: change.OriginResync, EventType: "ResyncCompleted", SourceSystem: "resync"}
			if _, err := p.mat.Apply(txn, c); err != nil {
				return err
			}
		}
		if n++; n >= p.cfg.BatchSize {
			return flush(append([]byte(nil), key...))
		}
		return nil
	})
	if err != nil {
		txn.Discard()
		return absent, err
	}
	if err := it.close(); err != nil {
		txn.Discard()
		return absent, fmt.Errorf("reading the keys the re-sync sent: %w", err)
	}
	if err := txn.DeleteMeta(apply.SweepKey(entity)); err != nil {
		txn.Discard()
		return absent, err
	}
	if err := txn.ForgetResync(entity, sw.ID); err != nil {
		txn.Discard()
		return absent, err
	}
	return absent, txn.Commit()
}

// seenIter walks the keys a re-sync sent, in key order, beside the records.
type seenIter struct {
	keys   chan []byte
	stop   chan struct{}
	cur    []byte
	more   bool
	err    error
	done   chan error
	ended  bool // the reader finished and its error is in err
	closed bool
}

func newSeenIter(s *state.Store, entity, id string) *seenIter {
	it := &seenIter{keys: make(chan []byte, 256), stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		defer close(it.keys)
		it.done <- s.ResyncSeen(entity, id, func(k []byte) error {
			select {
			case it.keys <- append([]byte(nil), k...):
				return nil
			case <-it.stop:
				return context.Canceled
			}
		})
	}()
	it.next()
	return it
}

func (it *seenIter) next() {
	it.cur, it.more = <-it.keys
	if !it.more && !it.ended {
		// The keys ended: that is an error, or the true end.
		it.ended = true
		it.err = <-it.done
	}
}

// has reports whether key was sent; keys must be asked in increasing order.
// After a read error it reports false and err is set: the caller must stop.
func (it *seenIter) has(key []byte) bool {
	for it.more && bytes.Compare(it.cur, key) < 0 {
		it.next()
	}
	return it.more && bytes.Equal(it.cur, key)
}

// close stops the reader and returns its error, if any.
func (it *seenIter) close() error {
	if it.closed {
		return it.err
	}
	it.closed = true
	close(it.stop)
	for range it.keys {
	}
	if !it.ended {
		it.ended = true
		if err := <-it.done; err != context.Canceled {
			it.err = err
		}
	}
	return it.err
}
