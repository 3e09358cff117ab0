package apply

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/state"
	"github.com/tidemark-dev/tidemark/resync"
)

// ResyncState is an entity's open re-sync, kept in the store's metadata
// and updated in the batch of each of its events.
type ResyncState struct {
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at"`
	Count     int64     `json:"count"`  // distinct keys received
	Digest    uint64    `json:"digest"` // sum of their key hashes
}

// Sweep is a complete re-sync whose absent entities are still to be found.
type Sweep struct {
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at"`
	// After is the last key swept (hex), so that a restart goes on from it.
	After string `json:"after,omitempty"`
}

func resyncKey(entity string) string { return "resync/" + entity }

// SweepKey is the metadata name of an entity's pending sweep.
func SweepKey(entity string) string { return "sweep/" + entity }

// applyResync handles the events of a re-sync (docs/events.md).
func (m *Materializer) applyResync(txn *state.Txn, c *change.Change) (Outcome, error) {
	if c.EventID != "" {
		seen, err := txn.SeenEvent(c.Entity, c.EventID, c.EventTime)
		if err != nil || seen {
			return Duplicate, err
		}
		if err := txn.MarkEvent(c.Entity, c.EventID, c.EventTime); err != nil {
			return 0, err
		}
	}
	st, open, err := m.resyncState(txn, c.Entity)
	if err != nil {
		return 0, err
	}
	switch c.Resync.Kind {
	case change.ResyncStarted:
		if open && st.ID != c.Resync.ID {
			m.note(fmt.Sprintf("re-sync %s of %s superseded by %s before it completed: it sweeps nothing", st.ID, c.Entity, c.Resync.ID))
			if err := txn.ForgetResync(c.Entity, st.ID); err != nil {
				return 0, err
			}
		}
		return Unchanged, m.putResync(txn, c.Entity, &ResyncState{ID: c.Resync.ID, StartedAt: c.Resync.StartedAt.UTC()})
	case change.ResyncItem:
		o, err := m.applyImage(txn, c)
		if err != nil || !open || st.ID != c.Resync.ID {
			return o, err // an image outside the open re-sync still applies; it counts for none
		}
		again, err := txn.MarkResyncSeen(c.Entity, c.Resync.ID, c.Key.Bytes())
		if err != nil || again {
			return o, err
		}
		st.Count++
		st.Digest += resync.KeyHash(c.Key.String())
		return o, m.putResync(txn, c.Entity, st)
	}
	// Completed.
	why := ""
	switch {
	case !open || st.ID != c.Resync.ID:
		why = "its ResyncStarted was not received, or a later re-sync superseded it"
	case st.Count != c.Resync.Count:
		why = fmt.Sprintf("%d entities received, the marker says %d were sent", st.Count, c.Resync.Count)
	case resync.Digest(st.Digest) != c.Resync.Digest:
		why = fmt.Sprintf("the digest of the keys received is %s, the marker says %s", resync.Digest(st.Digest), c.Resync.Digest)
	case st.Count == 0:
		// Complete, but an empty re-sync would sweep the whole entity type:
		// far likelier a mistake (the wrong table) than a true state.
		why = "it sent no entity, and an empty re-sync is never swept"
	}
	if why != "" {
		m.Stats.ResyncsIncomplete++
		m.note(fmt.Sprintf("re-sync %s of %s is incomplete: %s; it sweeps nothing", c.Resync.ID, c.Entity, why))
		if open && st.ID == c.Resync.ID {
			if err := txn.DeleteMeta(resyncKey(c.Entity)); err != nil {
				return 0, err
			}
		}
		return Unchanged, txn.ForgetResync(c.Entity, c.Resync.ID)
	}
	m.Stats.ResyncsComplete++
	if v, ok, err := txn.Meta(SweepKey(c.Entity)); err != nil {
		return 0, err
	} else if ok {
		// A sweep still pending is superseded by this newer re-sync.
		var old Sweep
		if json.Unmarshal(v, &old) == nil && old.ID != st.ID {
			if err := txn.ForgetResync(c.Entity, old.ID); err != nil {
				return 0, err
			}
		}
	}
	b, _ := json.Marshal(Sweep{ID: st.ID, StartedAt: st.StartedAt})
	if err := txn.SetMeta(SweepKey(c.Entity), b); err != nil {
		return 0, err
	}
	return Unchanged, txn.DeleteMeta(resyncKey(c.Entity))
}

func (m *Materializer) resyncState(txn *state.Txn, entity string) (*ResyncState, bool, error) {
	v, ok, err := txn.Meta(resyncKey(entity))
	if err != nil || !ok {
		return nil, false, err
	}
	var st ResyncState
	if err := json.Unmarshal(v, &st); err != nil {
		return nil, false, fmt.Errorf("reading the open re-sync of %s: %w", entity, err)
	}
	return &st, true, nil
}

func (m *Materializer) putResync(txn *state.Txn, entity string, st *ResyncState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return txn.SetMeta(resyncKey(entity), b)
}

func (m *Materializer) note(s string) { m.Notes = append(m.Notes, s) }
