package state

import (
	"context"
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
// BeginFreshLoad, FinishFreshLoad, EndFreshLoad and the filter's use by
// Txn.Put and Txn.Get belong to the one goroutine that applies changes (the
// materializer's).

// The filter is blocked: a key's probes all fall in one 512-bit block (a
// cache line), so adding or testing a key costs one cache miss, not one per
// probe. At 20 bits per key about 1 key in 5,000 not written is "may hold";
// that matters because such a key is read from the store, and during a
// fresh load the store is in bulk mode (bulk.go), where a read searches
// every file in level 0.
const (
	freshBitsPerKey = 20       // about 0.02% false positives with 10 probes in 512-bit blocks
	freshProbes     = 10       // probes per key
	freshBlockWords = 8        // 512 bits
	freshMinBytes   = 8 << 10  // 8 KiB
	freshMaxBytes   = 32 << 20 // the filter never takes more than 32 MiB (13M keys at full strength)
)

// keyFilter is a blocked Bloom filter of record keys.
type keyFilter struct {
	bits   []uint64
	blocks uint64
	seed   maphash.Seed
}

func newKeyFilter(expected int64) *keyFilter {
	bytes := uint64(max(expected, 1)) * freshBitsPerKey / 8
	bytes = min(max(bytes, freshMinBytes), freshMaxBytes)
	blocks := (bytes + freshBlockWords*8 - 1) / (freshBlockWords * 8)
	return &keyFilter{bits: make([]uint64, blocks*freshBlockWords), blocks: blocks, seed: maphash.MakeSeed()}
}

// probes calls fn with the block of key and each of its bit indexes in the
// block: the top 9 bits of successive steps of a 64-bit LCG seeded by the
// key's hash.
func (f *keyFilter) probes(key []byte, fn func(block []uint64, i uint64) bool) bool {
	h := maphash.Bytes(f.seed, key)
	b := (h >> 32) % f.blocks
	block := f.bits[b*freshBlockWords : (b+1)*freshBlockWords]
	for range freshProbes {
		h = h*6364136223846793005 + 1442695040888963407
		if !fn(block, h>>55) {
			return false
		}
	}
	return true
}

func (f *keyFilter) add(key []byte) {
	f.probes(key, func(block []uint64, i uint64) bool { block[i/64] |= 1 << (i % 64); return true })
}

func (f *keyFilter) mayContain(key []byte) bool {
	return f.probes(key, func(block []uint64, i uint64) bool { return block[i/64]&(1<<(i%64)) != 0 })
}

// BeginFreshLoad starts a fresh load of an entity if it has no records at
// all, sizing the filter for about expected keys, and reports whether it
// did; the store is then in bulk mode (bulk.go) until FinishFreshLoad or
// EndFreshLoad. An entity with records (a second export, a resumed
// bootstrap) is loaded as usual.
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
	if err := s.setBulk(true); err != nil {
		return false, fmt.Errorf("starting the fresh load of %s: %w", entity, err)
	}
	if s.fresh == nil {
		s.fresh = map[string]*keyFilter{}
	}
	s.fresh[entity] = newKeyFilter(expected)
	return true, nil
}

// FinishFreshLoad ends a completed fresh load of an entity: when no other
// fresh load is running, it compacts what the load wrote into the bottom
// level and leaves bulk mode.
func (s *Store) FinishFreshLoad(ctx context.Context, entity string) error {
	_, err := s.FinishFreshLoadVisit(ctx, entity, nil)
	return err
}

// A RecordVisitor sees an entity's records while the merge that ends a
// fresh load writes them (bulkmerge.go): the records of each of the
// merge's parts in key order, on that part's goroutine, the parts being
// consecutive key ranges numbered from 0. The arguments of Record are
// valid until it returns.
type RecordVisitor interface {
	Record(part int, key []byte, r *Record, img []byte) error
}

// FinishFreshLoadVisit is FinishFreshLoad, showing v every record of the
// entity as the merge writes it. It reports whether v saw them: not when
// another fresh load still runs (the last one to finish merges), nor when
// the store was not in bulk mode.
func (s *Store) FinishFreshLoadVisit(ctx context.Context, entity string, v RecordVisitor) (bool, error) {
	delete(s.fresh, entity)
	if len(s.fresh) > 0 || !s.bulk {
		return false, nil
	}
	if err := s.compactAll(ctx, entity, v); err != nil {
		return false, fmt.Errorf("finishing the fresh load of %s: %w", entity, err)
	}
	if err := s.setBulk(false); err != nil {
		return false, fmt.Errorf("finishing the fresh load of %s: %w", entity, err)
	}
	return v != nil, nil
}

// EndFreshLoad ends a fresh load of an entity (a no-op if none is running
// or it was finished), freeing its filter; when no other fresh load is
// running it leaves bulk mode without compacting (a load that failed or
// was stopped: the automatic compactions take over).
func (s *Store) EndFreshLoad(entity string) error {
	delete(s.fresh, entity)
	if len(s.fresh) > 0 {
		return nil
	}
	return s.setBulk(false)
}
