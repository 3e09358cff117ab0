package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestFreshLoadExact: during a fresh load, Get finds every key written
// before (in an earlier batch, in a discarded one, in the open one) and
// none that was not, exactly as without the filter.
func TestFreshLoadExact(t *testing.T) {
	s, _ := newStore(t)
	fresh, err := s.BeginFreshLoad("tenure", 100) // sized for far fewer keys than written
	if err != nil || !fresh {
		t.Fatalf("BeginFreshLoad on an empty store = %v, %v; want true", fresh, err)
	}
	if fresh, err := s.BeginFreshLoad("other", 10); err != nil || !fresh {
		t.Fatalf("another entity with no records: %v, %v", fresh, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	written := map[string]bool{}
	for batch := 0; batch < 40; batch++ {
		txn := s.Begin()
		discard := batch%7 == 3
		inBatch := map[string]bool{}
		for i := 0; i < 50; i++ {
			k := fmt.Sprintf("k%04d", rng.IntN(3000))
			r, err := txn.Get("tenure", []byte(k))
			if err != nil {
				t.Fatal(err)
			}
			if want := written[k] || inBatch[k]; (r != nil) != want {
				t.Fatalf("batch %d: Get(%s) found=%v, want %v", batch, k, r != nil, want)
			}
			if !written[k] && !inBatch[k] {
				txn.Put("tenure", []byte(k), rec(k, 1))
				inBatch[k] = true
			}
		}
		if !discard {
			for k := range inBatch {
				written[k] = true
			}
		}
		if discard {
			// Keys put in a discarded batch are absent: the filter may
			// hold them, Get must still miss.
			txn.Discard()
			continue
		}
		commit(t, txn)
	}
	txn := s.Begin()
	defer txn.Discard()
	for i := 0; i < 3000; i++ {
		k := fmt.Sprintf("k%04d", i)
		r, err := txn.Get("tenure", []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if (r != nil) != written[k] {
			t.Fatalf("Get(%s) found=%v, want %v", k, r != nil, written[k])
		}
	}
	if err := s.EndFreshLoad("tenure"); err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.BeginFreshLoad("tenure", 100); err != nil || fresh {
		t.Fatalf("BeginFreshLoad with records = %v, %v; want false", fresh, err)
	}
}

// TestKeyFilterRate: sized for n keys, the filter holds every key added and
// says "may hold" for few others.
func TestKeyFilterRate(t *testing.T) {
	const n = 100_000
	f := newKeyFilter(n)
	for i := 0; i < n; i++ {
		f.add(fmt.Appendf(nil, "in-%d", i))
	}
	for i := 0; i < n; i++ {
		if !f.mayContain(fmt.Appendf(nil, "in-%d", i)) {
			t.Fatalf("key in-%d was added but is not held", i)
		}
	}
	fp := 0
	for i := 0; i < n; i++ {
		if f.mayContain(fmt.Appendf(nil, "out-%d", i)) {
			fp++
		}
	}
	t.Logf("false positive rate %.5f", float64(fp)/n)
	if rate := float64(fp) / n; rate > 0.0005 {
		t.Fatalf("false positive rate %.5f, want about 0.0002", rate)
	}
	if big := newKeyFilter(1 << 40); len(big.bits)*8 > freshMaxBytes {
		t.Fatalf("a filter for 2^40 keys takes %d bytes, more than the %d cap", len(big.bits)*8, freshMaxBytes)
	}
}
