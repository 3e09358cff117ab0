package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestEventTimesSkipLookups: an event later than every id marked in its
// namespace is known unseen without a lookup; one at or before that time is
// looked up; the latest time survives a reopen; a discarded transaction
// does not move it; the zero time is a time like any other.
func TestEventTimesSkipLookups(t *testing.T) {
	s, dir := newStore(t)
	t5, t6 := time.Unix(5000, 0), time.Unix(6000, 0)

	if later, err := s.unmarked("tenure", time.Time{}); err != nil || !later {
		t.Fatalf("unmarked(no ids, zero time) = %v, %v; want true", later, err)
	}
	txn := s.Begin()
	if err := txn.MarkEvent("tenure", "a", t5); err != nil {
		t.Fatal(err)
	}
	commit(t, txn)
	for _, c := range []struct {
		at    time.Time
		later bool
	}{{t6, true}, {t5.Add(time.Nanosecond), true}, {t5, false}, {t5.Add(-time.Hour), false}, {time.Time{}, false}} {
		if later, err := s.unmarked("tenure", c.at); err != nil || later != c.later {
			t.Errorf("unmarked(%v) = %v, %v; want %v", c.at, later, err, c.later)
		}
	}
	if later, _ := s.unmarked("person", t5.Add(-time.Hour)); !later {
		t.Error("a namespace's marks moved another's latest time")
	}
	seen := func(s *Store, ns, id string, at time.Time) bool {
		t.Helper()
		txn := s.Begin()
		defer txn.Discard()
		ok, err := txn.SeenEvent(ns, id, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !seen(s, "tenure", "a", t5) || seen(s, "tenure", "b", t5) || seen(s, "tenure", "c", t6) {
		t.Error("SeenEvent: want a seen, b (looked up) and c (later) not")
	}

	// A discarded transaction leaves the latest time where it was.
	txn = s.Begin()
	if err := txn.MarkEvent("tenure", "d", t6); err != nil {
		t.Fatal(err)
	}
	txn.Discard()
	if later, _ := s.unmarked("tenure", t6); !later {
		t.Error("a discarded mark moved the latest time")
	}

	// Ids without a time (message ids) are looked up once any is marked.
	txn = s.Begin()
	if err := txn.MarkEvent("msg:q", "m1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	commit(t, txn)
	if !seen(s, "msg:q", "m1", time.Time{}) || seen(s, "msg:q", "m2", time.Time{}) {
		t.Error("SeenEvent without times: want m1 seen, m2 not")
	}

	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	if later, _ := s.unmarked("tenure", t5); later {
		t.Error("after a reopen, an event at the latest time marked is not looked up")
	}
	if later, _ := s.unmarked("tenure", t6); !later {
		t.Error("after a reopen, a later event is looked up")
	}
	if !seen(s, "tenure", "a", t5) || !seen(s, "msg:q", "m1", time.Time{}) {
		t.Error("after a reopen, marked ids are not seen")
	}
}

// TestEventTimesLegacyStore: ids marked by a version that kept no latest
// time are always looked up, whatever the event's time.
func TestEventTimesLegacyStore(t *testing.T) {
	s, dir := newStore(t)
	if err := s.db.Set(eventKey("tenure", "old"), nil, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	far := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	if later, err := s.unmarked("tenure", far); err != nil || later {
		t.Fatalf("unmarked in a store of ids without times = %v, %v; want false", later, err)
	}
	txn := s.Begin()
	defer txn.Discard()
	if ok, err := txn.SeenEvent("tenure", "old", far); err != nil || !ok {
		t.Errorf("SeenEvent(old) = %v, %v; want true", ok, err)
	}
	if later, _ := s.unmarked("person", far); !later {
		t.Error("another namespace counts as legacy")
	}
}

// TestEventTimesProperty: events with times out of order, redelivered at
// random, across commits, discarded transactions, reads made ahead and
// reopens: SeenEvent is true exactly for the ids marked by committed
// transactions (or earlier in the same one).
func TestEventTimesProperty(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			s, dir := newStore(t)
			marked := map[string]bool{}
			base := time.Unix(1_700_000_000, 0)
			timeOf := func(id int) time.Time {
				if id%17 == 0 {
					return time.Time{} // no time
				}
				// Roughly increasing with the id, with jitter both ways.
				return base.Add(time.Duration(id)*time.Second + time.Duration(rng.IntN(20)-10)*time.Second)
			}
			times := map[int]time.Time{}
			next := 0
			for round := range 60 {
				if round%20 == 19 {
					s.Close()
					s = openStore(t, dir)
					t.Cleanup(func() { s.Close() })
				}
				txn := s.Begin()
				local := map[string]bool{}
				for range rng.IntN(30) + 1 {
					var id int
					if next > 0 && rng.IntN(3) == 0 {
						id = rng.IntN(next) // a redelivery, or an old id never marked
					} else {
						id = next
						next++
						times[id] = timeOf(id)
					}
					key := fmt.Sprint("ev-", id)
					if rng.IntN(4) == 0 {
						s.PrefetchEvent("tenure", key, times[id])
					}
					got, err := txn.SeenEvent("tenure", key, times[id])
					if err != nil {
						t.Fatal(err)
					}
					if want := marked[key] || local[key]; got != want {
						t.Fatalf("round %d: SeenEvent(%s at %v) = %v, want %v", round, key, times[id], got, want)
					}
					if !got && rng.IntN(5) > 0 { // some are looked at and not marked
						if err := txn.MarkEvent("tenure", key, times[id]); err != nil {
							t.Fatal(err)
						}
						local[key] = true
					}
				}
				if rng.IntN(6) == 0 {
					txn.Discard()
					continue
				}
				commit(t, txn)
				for k := range local {
					marked[k] = true
				}
			}
		})
	}
}
