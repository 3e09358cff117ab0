package state

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Reads made ahead. The materializer applies changes one at a time, and
// reading each one's record and event id is most of its time: in a table
// larger than the block cache each is a read from disk. A stage ahead of it
// (change.ReadAhead) makes those reads on another core, with Prefetch*, and
// the store keeps each result until the transaction that needs it asks. A
// result is used only if no commit since its read began wrote its key: the
// store numbers its commits and remembers, as hashes, the keys the last few
// wrote (a hash that collides costs only a read). A result older than that
// is read again.

// aheadCommits is how many commits a result made ahead stays usable across.
// A stage reads at most a few chunks ahead: one or two commits.
const aheadCommits = 4

type readAhead struct {
	active atomic.Bool // something was prefetched: commits hash their keys
	seed   maphash.Seed

	mu      sync.Mutex
	seq     uint64                // commits so far
	recent  [aheadCommits]written // commit n at recent[n%aheadCommits]
	entries map[string]aheadRead  // store key -> result
}

// written is what one commit wrote.
type written struct {
	seq  uint64
	all  bool                // anything may have changed
	keys map[uint64]struct{} // hashes of the keys written
}

// aheadRead is the result of a read made ahead.
type aheadRead struct {
	seq uint64 // commits done when the read began
	val []byte
	ok  bool
}

// PrefetchRecord reads the record of a key ahead of the transaction that
// will Get it. It is safe to call while a transaction is open on another
// goroutine. An error is left for that Get to meet.
func (s *Store) PrefetchRecord(entity string, key []byte) {
	s.prefetch(recordKey(entity, key))
}

// PrefetchEvent reads whether an event id was applied, ahead of the
// transaction that will ask (SeenEvent). Like PrefetchRecord. An event
// later than every id marked needs no read (through.go).
func (s *Store) PrefetchEvent(entity, id string, at time.Time) {
	if later, err := s.unmarked(entity, at); err != nil || later {
		return
	}
	s.prefetch(eventKey(entity, id))
}

func (s *Store) prefetch(k []byte) {
	a := &s.ahead
	if !a.active.Load() {
		a.mu.Lock()
		if !a.active.Load() {
			a.seed = maphash.MakeSeed()
			a.entries = map[string]aheadRead{}
			a.active.Store(true)
		}
		a.mu.Unlock()
	}
	a.mu.Lock()
	seq := a.seq
	a.mu.Unlock()
	v, ok, err := s.get(k)
	if err != nil {
		return
	}
	a.mu.Lock()
	a.entries[string(k)] = aheadRead{seq: seq, val: v, ok: ok}
	a.mu.Unlock()
}

// take returns the result read ahead for key k if it is still what the
// store holds (hit), and forgets it.
func (a *readAhead) take(k []byte) (val []byte, ok, hit bool) {
	if !a.active.Load() {
		return nil, false, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, found := a.entries[string(k)]
	if !found {
		return nil, false, false
	}
	delete(a.entries, string(k))
	if a.seq-e.seq > aheadCommits {
		return nil, false, false
	}
	h := maphash.Bytes(a.seed, k)
	for n := e.seq + 1; n <= a.seq; n++ {
		w := &a.recent[n%aheadCommits]
		if w.seq != n || w.all {
			return nil, false, false
		}
		if _, ok := w.keys[h]; ok {
			return nil, false, false
		}
	}
	return e.val, e.ok, true
}

// hashes returns a set to gather a commit's keys in, or nil when nothing
// was ever read ahead (the commit then counts as having changed anything).
func (a *readAhead) hashes(n int) map[uint64]struct{} {
	if !a.active.Load() {
		return nil
	}
	return make(map[uint64]struct{}, n)
}

func (a *readAhead) add(keys map[uint64]struct{}, k []byte) {
	if keys != nil {
		keys[maphash.Bytes(a.seed, k)] = struct{}{}
	}
}

func (a *readAhead) addString(keys map[uint64]struct{}, k string) {
	if keys != nil {
		keys[maphash.String(a.seed, k)] = struct{}{}
	}
}

// committed counts a commit that wrote keys (nil: anything) and forgets
// the results that are too old to be used.
func (a *readAhead) committed(keys map[uint64]struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	a.recent[a.seq%aheadCommits] = written{seq: a.seq, all: keys == nil, keys: keys}
	for k, e := range a.entries {
		if a.seq-e.seq > aheadCommits {
			delete(a.entries, k)
		}
	}
}
