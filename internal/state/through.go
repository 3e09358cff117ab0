package state

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Event ids and their times. Every event an entity's stream delivers is
// looked up among the ids already applied (SeenEvent), and nearly all are
// new: in a store larger than the block cache that lookup costs pebble a
// probe of every level. The store keeps, per namespace (an entity, or a
// source's message ids), the latest event time it ever marked, in the same
// batch as the marks: an event later than that cannot have been marked, so
// it needs no lookup. Streams deliver events about in time order, so most
// are later; an older or redelivered one is looked up as before.
//
// A store written before the mark (event ids without one) looks up every
// event: its namespaces count as marked through the end of time.

const (
	// noMarks is the latest time of a namespace with no event ids.
	noMarks = math.MinInt64
	// zeroTime stands for the zero time.Time: later than noMarks only.
	zeroTime = math.MinInt64 + 1
	// legacyMarks is the latest time of a namespace whose ids were marked
	// without one: nothing is later.
	legacyMarks = math.MaxInt64
)

// markTime is the order of an event time among marks; times outside the
// years 1678-2261 are clamped (they only make lookups more frequent).
func markTime(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Year() < 1678:
		return zeroTime
	case t.Year() > 2261:
		return legacyMarks - 1
	}
	return t.UnixNano()
}

func throughMeta(ns string) []byte { return prefix(pMeta, "events-through/"+ns) }

// marksThrough returns the latest event time marked in namespace ns by the
// commits so far, reading it from the store the first time.
func (s *Store) marksThrough(ns string) (int64, error) {
	s.thrMu.Lock()
	defer s.thrMu.Unlock()
	if w, ok := s.through[ns]; ok {
		return w, nil
	}
	w, err := s.loadThrough(ns)
	if err != nil {
		return 0, err
	}
	if s.through == nil {
		s.through = map[string]int64{}
	}
	s.through[ns] = w
	return w, nil
}

func (s *Store) loadThrough(ns string) (int64, error) {
	v, ok, err := s.get(throughMeta(ns))
	if err != nil {
		return 0, fmt.Errorf("reading the event ids' latest time of %s: %w", ns, err)
	}
	if ok {
		if len(v) != 8 {
			return 0, fmt.Errorf("reading the event ids' latest time of %s: %d bytes, want 8", ns, len(v))
		}
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	// No mark: either no event id yet, or ids marked by a version that kept
	// no time.
	p := eventKey(ns, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
	if err != nil {
		return 0, fmt.Errorf("reading the event ids of %s: %w", ns, err)
	}
	any := it.First()
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("reading the event ids of %s: %w", ns, err)
	}
	if any {
		return legacyMarks, nil
	}
	return noMarks, nil
}

// unmarked reports whether an event of time at in namespace ns is later than
// every event id marked there, and so cannot have been marked.
func (s *Store) unmarked(ns string, at time.Time) (bool, error) {
	w, err := s.marksThrough(ns)
	if err != nil {
		return false, err
	}
	return markTime(at) > w, nil
}

// writeThrough adds to the batch the latest times of the namespaces whose
// marks in this transaction went later, and returns them, to be published
// (publishThrough) once the batch is committed.
func (t *Txn) writeThrough() (map[string]int64, error) {
	var later map[string]int64
	for ns, at := range t.through {
		w, err := t.s.marksThrough(ns)
		if err != nil {
			return nil, err
		}
		if at <= w {
			continue
		}
		if err := t.b.Set(throughMeta(ns), binary.BigEndian.AppendUint64(nil, uint64(at)), nil); err != nil {
			return nil, err
		}
		if later == nil {
			later = map[string]int64{}
		}
		later[ns] = at
	}
	return later, nil
}

func (s *Store) publishThrough(later map[string]int64) {
	if len(later) == 0 {
		return
	}
	s.thrMu.Lock()
	for ns, at := range later {
		s.through[ns] = max(s.through[ns], at)
	}
	s.thrMu.Unlock()
}
