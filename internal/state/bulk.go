package state

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// A fresh load (fresh.go) writes an entity's records in the export's order,
// which is a hash order, not key order: every memtable flushed holds keys
// from the whole key range. Left to pebble's automatic compactions, each
// record is then rewritten once per level on its way down while the load
// runs (1M tenures: 24 s, leaving three levels to read through). During a
// fresh load the store is instead opened for a bulk load: memtables are
// flushed into level 0 and stay there, nothing waits for a compaction, and
// at the end level 0 is merged into the bottom level on every core
// (bulkmerge.go), writing each record once (1M: a 15 s load and a 5 s
// merge). The WAL is off in bulk mode: every record would otherwise be
// written twice (1M tenures: 1.1 s of a 19 s load). A batch is then
// durable when its memtable is flushed, and a crash loses the batches
// since the last flush, but only whole and with their source positions
// and history log ends (pebble flushes memtables in commit order), so
// the store holds a prefix of the commits and the load resumes from its
// positions. A store closed in bulk mode is flushed first and opens
// normally next time; the automatic compactions then work through what
// level 0 holds.

const (
	// bulkL0Limit stands for "no limit" on level 0 files and sublevels.
	bulkL0Limit = 1 << 30
	// bulkTableBytes is the size of the bottom level's tables that the
	// merge ending a bulk load writes: about what the bottom level has in
	// normal mode. (At 4 MB, 5M tenures made 1,100 tables, more than
	// pebble's file cache holds, and every later read paid for reopening
	// them.)
	bulkTableBytes = 32 << 20
)

// setBulk reopens pebble for a bulk load (on) or for applying changes. No
// transaction or iterator may be open, and nothing else may use the store
// meanwhile: a fresh load runs alone, before changes are applied.
func (s *Store) setBulk(on bool) error {
	if s.bulk == on {
		return nil
	}
	// A flush leaves the WAL empty, so the reopen replays nothing.
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("flushing the state store: %w", err)
	}
	if err := s.db.Close(); err != nil {
		s.db = nil
		return fmt.Errorf("closing the state store to reopen it: %w", err)
	}
	db, err := pebble.Open(s.dir, s.pebbleOptions(on))
	if err != nil {
		s.db = nil
		return fmt.Errorf("reopening state store %s: %w", s.dir, err)
	}
	s.db, s.bulk, s.sample = db, on, nil
	if on {
		s.sample = newKeySample()
	}
	return nil
}

// compactAll merges everything the store holds into its bottom level: in
// bulk mode with mergeBulk, in one pass from level 0 on every core,
// showing v (when not nil) the records of entity.
func (s *Store) compactAll(ctx context.Context, entity string, v RecordVisitor) error {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("compacting the state store: %w", err)
	}
	var first, last []byte
	if it.First() {
		first = append(first, it.Key()...)
		if it.Last() {
			last = append(last, it.Key()...)
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("compacting the state store: %w", err)
	}
	if first == nil {
		return nil
	}
	if v != nil && !s.bulk {
		return fmt.Errorf("compacting the state store: records can be visited only in bulk mode")
	}
	start := time.Now()
	if s.bulk {
		if err := s.mergeBulk(ctx, first, append(last, 0), entity, v); err != nil {
			return fmt.Errorf("compacting the state store: %w", err)
		}
	} else if err := s.db.Compact(ctx, first, append(last, 0), true); err != nil {
		return fmt.Errorf("compacting the state store: %w", err)
	}
	if s.log != nil {
		s.log.Info("state store compacted", "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// LevelTables returns the number of tables in each level of the store, from
// level 0 to the bottom one (diagnostics and tests).
func (s *Store) LevelTables() []int64 {
	m := s.db.Metrics()
	out := make([]int64, len(m.Levels))
	for i, l := range m.Levels {
		out[i] = l.TablesCount
	}
	return out
}

// syncOpt is how a write is made durable: synced to the WAL, or in bulk
// mode (no WAL) by the flush of its memtable.
func (s *Store) syncOpt() *pebble.WriteOptions {
	if s.bulk {
		return pebble.NoSync
	}
	return pebble.Sync
}
