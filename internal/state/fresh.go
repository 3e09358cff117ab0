package state

import (
	"fmt"
	"hash/maphash"

	"github.com/cockroachdb/pebble/v2"
)

// A fresh load is a first bootstrap: an entity's records are loaded into an
// empty key space, and nearly every key is new, so reading the store for
// its current record (a miss that still searches every level of the LSM)
// costs more than the rest of applying the row. During a fresh load a
// Bloom filter of the keys written since it began tells Txn.Get that a key
// is certainly absent without reading the store; a key the filter may hold
// is read as usual, so every answer stays exact (a key seen twice in an
// export is still found). The filter's memory is bounded whatever the
// table's size: past its sizing it only answers "may hold" more often.
//
// BeginFreshLoad, EndFreshLoad and the filter's use by Txn.Put and Txn.Get
// belong to the one goroutine that applies changes (the materializer's).

const (
	freshBitsPerKey = 10       // about 1% false positives with 7 probes
	freshProbes     = 7        // probes per key
	freshMinBits    = 1 << 16  // 8 KiB
	freshMaxBytes   = 16 << 20 // the filter never takes more than 16 MiB
)

// keyFilter is a Bloom filter of record keys.
type keyFilter struct {
	bits []uint64
	m    uint64 // number of bits
	seed maphash.Seed
}

func newKeyFilter(expected int64) *keyFilter {
	m := uint64(max(expected, 1)) * freshBitsPerKey
	m = min(max(m, freshMinBits), freshMaxBytes*8)
	m = (m + 63) &^ 63
	return &keyFilter{bits: make([]uint64, m/64), m: m, seed: maphash.MakeSeed()}
}

// probes calls fn with each bit index of key (double hashing).
func (f *keyFilter) probes(key []byte, fn func(i uint64) bool) bool {
	h := maphash.Bytes(f.seed, key)
	h1, h2 := h&0xffffffff, h>>32|1
	for i := uint64(0); i < freshProbes; i++ {
		if !fn((h1 + i*h2) % f.m) {
			return false
		}
	}
	return true
}

func (f *keyFilter) add(key []byte) {
	f.probes(key, func(i uint64) bool { f.bits[i/64] |= 1 << (i % 64); return true })
}

func (f *keyFilter) mayContain(key []byte) bool {
	return f.probes(key, func(i uint64) bool { return f.bits[i/64]&(1<<(i%64)) != 0 })
}

// BeginFreshLoad starts a fresh load of an entity if it has no records at
// all, sizing the filter for about expected keys, and reports whether it
// did. An entity with records (a second export, a resumed bootstrap) is
// loaded as usual.
func (s *Store) BeginFreshLoad(entity string, expected int64) (bool, error) {
	lo := prefix(pRecord, entity)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: upperBound(lo)})
	if err != nil {
		return false, fmt.Errorf("looking for records of %s: %w", entity, err)
	}
	empty := !it.First()
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("looking for records of %s: %w", entity, err)
	}
	if !empty {
		return false, nil
	}
	if s.fresh == nil {
		s.fresh = map[string]*keyFilter{}
	}
	s.fresh[entity] = newKeyFilter(expected)
	return true, nil
}

// EndFreshLoad ends a fresh load of an entity (a no-op if none is running),
// freeing its filter.
func (s *Store) EndFreshLoad(entity string) { delete(s.fresh, entity) }
