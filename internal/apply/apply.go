// Package apply is the materializer: it applies changes to the state store
// under the apply rules (design.md) and commits each group of changes with
// their history rows, inconsistencies and source positions in one batch.
package apply

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// Outcome is what applying one change did.
type Outcome uint8

// The outcomes.
const (
	Applied   Outcome = iota + 1 // the state changed and a history row was added
	Duplicate                    // the event id was applied before
	Reflected                    // the snapshot already reflects the event
	Stale                        // older than the state (version or time)
	Unchanged                    // applying it would change nothing
	Orphan                       // a patch for a deleted entity: recorded, not applied
)

var outcomeNames = [...]string{"", "applied", "duplicate", "reflected", "stale", "unchanged", "orphan"}

func (o Outcome) String() string { return outcomeNames[o] }

// Entity is what the materializer needs to know of an entity: the key
// attributes, to complete the image of a patch for an unknown key.
type Entity struct {
	HashAttr, RangeAttr string
}

// Options configure the materializer.
type Options struct {
	// ClockSkew is the window around a snapshot's as-of time in which events
	// are judged by comparing their data with the state.
	ClockSkew time.Duration
	// Now is the ingestion clock (default time.Now).
	Now func() time.Time
}

// Materializer applies changes. It is not safe for concurrent use.
type Materializer struct {
	store    *state.Store
	entities map[string]Entity
	opts     Options
	asOf     map[string]time.Time
	Stats    Stats
	// Notes are things an operator should read (an incomplete re-sync).
	Notes []string
}

// Stats counts outcomes since the materializer was made.
type Stats struct {
	Applied, SnapshotRows, EventsApplied, Duplicates, Reflected, Stale, Unchanged, Orphans int64
	Inconsistencies, DeadLetters, Redelivered                                              int64
	ResyncsComplete, ResyncsIncomplete                                                     int64
}

// New returns a materializer over store for the given entities.
func New(store *state.Store, entities map[string]Entity, opts Options) *Materializer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Materializer{store: store, entities: entities, opts: opts, asOf: map[string]time.Time{}}
}

// SnapshotAsOf returns the as-of time of the entity's latest completed or
// running bootstrap, or zero.
func (m *Materializer) SnapshotAsOf(entity string) (time.Time, error) {
	if t, ok := m.asOf[entity]; ok {
		return t, nil
	}
	v, ok, err := m.store.Meta("asof/" + entity)
	if err != nil {
		return time.Time{}, err
	}
	var t time.Time
	if ok {
		if err := t.UnmarshalText(v); err != nil {
			return t, fmt.Errorf("reading snapshot time of %s: %w", entity, err)
		}
	}
	m.asOf[entity] = t
	return t, nil
}

// SetSnapshotAsOf records, in txn, that the entity's state reflects a
// snapshot taken at t: an event at or before t (outside the clock-skew
// window) is already reflected, also for keys the snapshot did not hold.
func (m *Materializer) SetSnapshotAsOf(txn *state.Txn, entity string, t time.Time) error {
	old, err := m.SnapshotAsOf(entity)
	if err != nil {
		return err
	}
	if !t.After(old) {
		return nil
	}
	b, _ := t.UTC().MarshalText()
	if err := txn.SetMeta("asof/"+entity, b); err != nil {
		return err
	}
	m.asOf[entity] = t
	return nil
}

// Apply applies one change within txn.
func (m *Materializer) Apply(txn *state.Txn, c *change.Change) (Outcome, error) {
	if _, ok := m.entities[c.Entity]; !ok {
		return 0, fmt.Errorf("change for unknown entity %q", c.Entity)
	}
	var o Outcome
	var err error
	if c.Resync != nil {
		o, err = m.applyResync(txn, c)
		if err != nil {
			return 0, fmt.Errorf("applying %s %s of re-sync %s: %w", c.Entity, c.EventType, c.Resync.ID, err)
		}
		m.count(c, o)
		return o, nil
	}
	if c.Origin == change.OriginEvent || c.Origin == change.OriginStream {
		o, err = m.applyEvent(txn, c)
	} else {
		o, err = m.applyImage(txn, c)
	}
	if err != nil {
		return 0, fmt.Errorf("applying %s %s %s: %w", c.Entity, c.Label(), c.Key, err)
	}
	m.count(c, o)
	return o, nil
}

func (m *Materializer) count(c *change.Change, o Outcome) {
	switch o {
	case Applied:
		m.Stats.Applied++
		if c.Origin == change.OriginSnapshot {
			m.Stats.SnapshotRows++
		} else {
			m.Stats.EventsApplied++
		}
	case Duplicate:
		m.Stats.Duplicates++
	case Reflected:
		m.Stats.Reflected++
	case Stale:
		m.Stats.Stale++
	case Unchanged:
		m.Stats.Unchanged++
	case Orphan:
		m.Stats.Orphans++
	}
}

// DeadLetter stores a record that could not become a change.
func (m *Materializer) DeadLetter(txn *state.Txn, d *change.DeadLetter) error {
	if d.ID != "" {
		// "_dead" cannot be an entity name (they start with a letter).
		seen, err := txn.SeenEvent("_dead", d.ID, time.Time{})
		if err != nil || seen {
			return err
		}
		if err := txn.MarkEvent("_dead", d.ID, time.Time{}); err != nil {
			return err
		}
	}
	m.Stats.DeadLetters++
	return txn.AddDeadLetter(state.DeadLetter{
		Time: m.opts.Now().UTC(), Source: d.Pos.Source, Offset: d.Pos.Offset, Reason: d.Reason, Raw: d.Raw,
	})
}

// commit writes rec as the new state of c's key with a history row.
func (m *Materializer) commit(txn *state.Txn, c *change.Change, key []byte, prev, rec *state.Record) error {
	if prev != nil {
		rec.Seq = prev.Seq + 1
	} else {
		rec.Seq = 1
	}
	if c.Origin != change.OriginSnapshot {
		rec.EventTime = c.EventTime
	}
	rec.Op = c.Label()
	rec.EventID = c.EventID
	rec.EventType = c.EventType
	rec.Source = c.SourceSystem
	if rec.Source == "" {
		rec.Source = string(c.Origin)
	}
	rec.IngestedAt = m.opts.Now().UTC()
	txn.Put(c.Entity, key, rec)
	return txn.AppendHistory(c.Entity, key, prev, rec)
}

func (m *Materializer) inconsistency(txn *state.Txn, c *change.Change, field string, expected, found ddbjson.Value) error {
	m.Stats.Inconsistencies++
	return txn.AddInconsistency(state.Inconsistency{
		Entity: c.Entity, Key: c.Key.String(), Field: field,
		Expected: plainJSON(expected), Found: plainJSON(found),
		EventID: c.EventID, EventType: c.EventType, EventTime: c.EventTime,
	})
}

func plainJSON(v ddbjson.Value) json.RawMessage {
	return ddbjson.AppendPlain(nil, v)
}
