// Package state is tidemark's embedded store (pebble): the current record of
// every entity, its history rows, the event ids already applied, the source
// positions, dead letters, inconsistencies and metadata. Everything one change
// touches is written in one batch, so a crash at any instant loses nothing
// and duplicates nothing.
package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// Store is the state store. One writer at a time (the materializer) commits
// transactions; readers may scan concurrently.
type Store struct {
	db    *pebble.DB
	dir   string
	cache *pebble.Cache
	log   *slog.Logger
	bulk  bool // opened for a bulk load (bulk.go)
	// sample holds keys of the records written in bulk mode (bulkmerge.go).
	sample *keySample

	ahead readAhead // reads made ahead of the transactions (prefetch.go)

	thrMu   sync.Mutex
	through map[string]int64 // latest event time marked per namespace (through.go)

	logMu sync.Mutex
	logs  map[string]*histLog // history logs opened (histlog.go)

	mu        sync.Mutex
	deadSeq   uint64
	inconsSeq uint64
	gens      map[string]uint64     // applied changes per entity, ever
	batchHint int                   // the size of the last committed batch
	fresh     map[string]*keyFilter // entities in a fresh load (fresh.go)
}

// Options tunes the store.
type Options struct {
	// CacheBytes is the block cache size (default 64 MiB).
	CacheBytes int64
	// Logger receives the store's errors (nil: none).
	Logger *slog.Logger
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	// Tables of a bulk merge that a crash interrupted (bulkmerge.go).
	if err := os.RemoveAll(filepath.Join(dir, bulkMergeDir)); err != nil {
		return nil, fmt.Errorf("opening state store %s: %w", dir, err)
	}
	s := &Store{dir: dir, cache: pebble.NewCache(o.CacheBytes), log: o.Logger, gens: map[string]uint64{}}
	db, err := pebble.Open(dir, s.pebbleOptions(false))
	if err != nil {
		s.cache.Unref()
		return nil, fmt.Errorf("opening state store %s: %w", dir, err)
	}
	s.db = db
	if s.deadSeq, err = s.lastSeq(pDead); err != nil {
		s.Close()
		return nil, err
	}
	if s.inconsSeq, err = s.lastSeq(pIncons); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// pebbleOptions returns the options the store opens pebble with: for
// applying changes, or (bulk) for a bulk load (bulk.go).
func (s *Store) pebbleOptions(bulk bool) *pebble.Options {
	opts := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Cache:              s.cache,
		// 24 MiB memtables: follow at 1M entities peaked at 300 MiB with
		// 32 MiB ones (up to four are held while flushes catch up), 281
		// MiB with these, at the same speed; a bootstrap is as fast.
		MemTableSize:                24 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		CompactionConcurrencyRange:  func() (int, int) { return 1, 2 },
		Logger:                      pebbleLogger{s.log},
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].FilterType = pebble.TableFilter
		// MinLZ compresses about as well as snappy at a fraction of its cost.
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.MinLZCompression }
	}
	if !bulk {
		opts.Experimental.ValueSeparationPolicy = valueSeparation
	}
	if bulk {
		// Memtables are flushed into level 0 and left there: no write
		// waits for a compaction, whatever the number of files.
		opts.DisableAutomaticCompactions = true
		opts.L0CompactionThreshold = bulkL0Limit
		opts.L0CompactionFileThreshold = bulkL0Limit
		opts.L0StopWritesThreshold = bulkL0Limit
		// A batch is durable when its memtable is flushed (bulk.go).
		opts.DisableWAL = true
		// One level 0 table per flush, not one per 2 MB: the merge's
		// iterators then read a fifth as many tables (5M tenures: 3,000).
		opts.TargetFileSizes[0] = 1 << 30
	}
	return opts
}

// Value separation: records of at least minSeparatedValue bytes (about all
// of them: a tenure is 1-2 KB) are written into blob files when a memtable
// is flushed, and the tables keep only their keys and references. Following
// events rewrites a record per event; with its value apart, a compaction
// moves the key and the reference down the levels, not the whole record, and
// the tables, with their index and filters, are a few percent of the state,
// so they stay in the block cache. Follow at 1M tenures: 10-12% less CPU,
// 7.0-7.3 s against 7.9-8.0 s; at 5M, 54.3 s against 63.5 s. Publish and
// verify read the values from the blob files as fast (docs/benchmarks.md).
//
// A compaction carries the references forward until an output table would
// refer to more than maxBlobDepth overlapping blob files; it then writes the
// values into new ones. Blob files that became 20% garbage (values of
// records rewritten since) and are older than five minutes are rewritten.
// A bulk load does not separate values: its merge writes the last level
// whole (bulkmerge.go), and the first compactions of follow separate them.
const (
	minSeparatedValue = 256
	maxBlobDepth      = 10
)

func valueSeparation() pebble.ValueSeparationPolicy {
	return pebble.ValueSeparationPolicy{
		Enabled:               true,
		MinimumSize:           minSeparatedValue,
		MaxBlobReferenceDepth: maxBlobDepth,
		RewriteMinimumAge:     5 * time.Minute,
		TargetGarbageRatio:    0.2,
	}
}

// pebbleLogger passes pebble's errors to slog; its (chatty) information
// goes to debug.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l != nil {
		p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	if p.l != nil {
		p.l.Error("state store: " + fmt.Sprintf(format, args...))
	}
}

// Fatalf is called by pebble on an unrecoverable error; it must not return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "state store: " + fmt.Sprintf(format, args...)
	if p.l != nil {
		p.l.Error(msg)
	}
	panic(msg)
}

// Close closes the store.
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	var err error
	if s.bulk {
		err = s.db.Flush()
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	s.db = nil
	s.cache.Unref()
	if cerr := s.closeLogs(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) lastSeq(p byte) (uint64, error) {
	lo := []byte{p, 0}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: upperBound(lo)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	k := it.Key()
	if len(k) != 10 {
		return 0, fmt.Errorf("state store: bad sequence key %x", k)
	}
	return binary.BigEndian.Uint64(k[2:]), nil
}

func (s *Store) get(key []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, true, nil
}

// Get returns the committed record of a key, or nil.
func (s *Store) Get(entity string, key []byte) (*Record, error) {
	v, ok, err := s.get(recordKey(entity, key))
	if err != nil || !ok {
		return nil, err
	}
	return decodeRecord(v)
}

// Position returns the committed offset of a source stream.
func (s *Store) Position(source string) (int64, bool, error) {
	off, _, ok, err := s.PositionToken(source)
	return off, ok, err
}

// PositionToken returns the committed offset of a source stream and its
// resume token (a DynamoDB LastEvaluatedKey, say), if any.
func (s *Store) PositionToken(source string) (int64, []byte, bool, error) {
	v, ok, err := s.get(prefix(pPos, source))
	if err != nil || !ok {
		return 0, nil, false, err
	}
	if len(v) < 8 {
		return 0, nil, false, fmt.Errorf("state store: bad position for %s", source)
	}
	var token []byte
	if len(v) > 8 {
		token = v[8:]
	}
	return int64(binary.BigEndian.Uint64(v)), token, true, nil
}

// Meta returns a metadata value.
func (s *Store) Meta(name string) ([]byte, bool, error) {
	return s.get(prefix(pMeta, name))
}

// SetMeta writes a metadata value durably on its own.
func (s *Store) SetMeta(name string, val []byte) error {
	return s.db.Set(prefix(pMeta, name), val, s.syncOpt())
}

// Generation returns the number of changes ever applied to an entity; it
// moves whenever the entity's state or history does.
func (s *Store) Generation(entity string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.generation(entity)
}

func (s *Store) generation(entity string) (uint64, error) {
	if g, ok := s.gens[entity]; ok {
		return g, nil
	}
	v, ok, err := s.get(prefix(pMeta, "gen/"+entity))
	if err != nil {
		return 0, err
	}
	var g uint64
	if ok && len(v) == 8 {
		g = binary.BigEndian.Uint64(v)
	}
	s.gens[entity] = g
	return g, nil
}

// scan calls fn for every key and value under prefix p, in key order.
func (s *Store) scan(p []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// ScanRecords calls fn for every record of an entity (tombstones included),
// in key order. fn must not keep key after it returns.
func (s *Store) ScanRecords(entity string, fn func(key []byte, r *Record) error) error {
	p := prefix(pRecord, entity)
	return s.scanDecoded(p, func(k, v []byte) (*Record, []byte, error) {
		r, err := decodeRecord(v)
		if err != nil {
			return nil, nil, fmt.Errorf("record %x: %w", k, err)
		}
		return r, nil, nil
	}, func(k []byte, r *Record, _ []byte) error {
		return fn(k[len(p):], r)
	})
}

// ScanRecordImages is ScanRecords with each image in its stored binary form
// (ddbjson.AppendBinary; nil for a tombstone) instead of decoded: r.Image
// is nil. key, r and img are valid only until fn returns.
func (s *Store) ScanRecordImages(entity string, fn func(key []byte, r *Record, img []byte) error) error {
	p := prefix(pRecord, entity)
	return s.scan(p, func(k, v []byte) error {
		r, img, err := decodeHeader(v)
		if err != nil {
			return fmt.Errorf("record %x: %w", k, err)
		}
		if !r.Live {
			img = nil
		}
		return fn(k[len(p):], r, img)
	})
}

// ScanRecordHeaders is ScanRecords without decoding the images (Image is
// nil): for walks that need only keys, liveness and times.
func (s *Store) ScanRecordHeaders(entity string, fn func(key []byte, r *Record) error) error {
	p := prefix(pRecord, entity)
	return s.scan(p, func(k, v []byte) error {
		r, _, err := decodeHeader(v)
		if err != nil {
			return fmt.Errorf("record %x: %w", k, err)
		}
		return fn(k[len(p):], r)
	})
}

// ScanHistory calls fn for every history row of an entity, grouped by key,
// each key's rows in the order they were applied. A key's last row is its
// current record; the rows before it are the superseded states, merged in
// from the history keys (which sort by key as the records do).
func (s *Store) ScanHistory(entity string, fn func(key []byte, seq uint64, r *Record) error) error {
	return s.scanHistory(entity, decodeStored, func(key []byte, seq uint64, r *Record, _ []byte) error {
		return fn(key, seq, r)
	})
}

// ScanHistoryImages is ScanHistory with each row's image in its stored
// binary form (nil for a tombstone) instead of decoded: r.Image is nil.
// key, r and img stay valid after fn returns.
func (s *Store) ScanHistoryImages(entity string, fn func(key []byte, seq uint64, r *Record, img []byte) error) error {
	return s.scanHistory(entity, decodeStoredHeader, fn)
}

func (s *Store) scanHistory(entity string, decode func(k, v []byte) (*Record, []byte, error),
	fn func(key []byte, seq uint64, r *Record, img []byte) error) error {
	type histRow struct {
		key []byte
		seq uint64
		r   *Record
		img []byte
	}
	rows := make(chan histRow, 64)
	stop := make(chan struct{})
	histErr := make(chan error, 1)
	hp := prefix(pHistory, entity)
	go func() {
		defer close(rows)
		hdecode := func(k, v []byte) (*Record, []byte, error) {
			row, err := s.historyValue(entity, v)
			if err != nil {
				return nil, nil, err
			}
			return decode(k, row)
		}
		histErr <- s.scanDecoded(hp, hdecode, func(k []byte, r *Record, img []byte) error {
			key, seq, ok := splitHistoryKey(k, len(hp))
			if !ok {
				return fmt.Errorf("state store: bad history key %x", k)
			}
			select {
			case rows <- histRow{key, seq, r, img}:
				return nil
			case <-stop:
				return errStopped
			}
		})
	}()
	pending, more := <-rows
	rp := prefix(pRecord, entity)
	err := s.scanDecoded(rp, decode, func(k []byte, r *Record, img []byte) error {
		key := k[len(rp):]
		for more && bytes.Compare(pending.key, key) <= 0 {
			if !bytes.Equal(pending.key, key) {
				return fmt.Errorf("state store: history of %x has no record", pending.key)
			}
			if err := fn(key, pending.seq, pending.r, pending.img); err != nil {
				return err
			}
			pending, more = <-rows
		}
		if r.Seq == 0 {
			return nil // a bare tombstone: no history
		}
		return fn(key, r.Seq, r, img)
	})
	if err == nil && more {
		err = fmt.Errorf("state store: history of %x has no record", pending.key)
	}
	close(stop)
	for range rows {
	}
	if herr := <-histErr; err == nil && herr != nil && !errors.Is(herr, errStopped) {
		err = herr
	}
	return err
}

var errStopped = errors.New("scan stopped")

func decodeStored(k, v []byte) (*Record, []byte, error) {
	r, err := decodeRecord(v)
	if err != nil {
		return nil, nil, fmt.Errorf("stored value %x: %w", k, err)
	}
	return r, nil, nil
}

// decodeStoredHeader decodes a stored record but its image, which it
// returns in its binary form (nil for a tombstone).
func decodeStoredHeader(k, v []byte) (*Record, []byte, error) {
	r, img, err := decodeHeader(v)
	if err != nil {
		return nil, nil, fmt.Errorf("stored value %x: %w", k, err)
	}
	if !r.Live {
		img = nil
	}
	return r, img, nil
}

// History returns the history rows of one key in order, the current record
// last.
func (s *Store) History(entity string, key []byte) ([]*Record, error) {
	var out []*Record
	err := s.scan(historyPrefix(entity, key), func(k, v []byte) error {
		if len(k) != len(historyPrefix(entity, key))+8 {
			return nil // a longer key that shares this prefix
		}
		row, err := s.historyValue(entity, v)
		if err != nil {
			return err
		}
		r, err := decodeRecord(row)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cur, err := s.Get(entity, key)
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.Seq > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// ResyncSeen calls fn for every key a re-sync sent, in key order.
func (s *Store) ResyncSeen(entity, id string, fn func(key []byte) error) error {
	p := prefix(pResync, entity, id)
	return s.scan(p, func(k, _ []byte) error { return fn(k[len(p):]) })
}

// DeadLetter is a record a source could not turn into a change.
type DeadLetter struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
	Offset int64     `json:"offset"`
	Reason string    `json:"reason"`
	Raw    []byte    `json:"raw"`
}

// DeadLetters calls fn for every dead letter in the order they were stored.
func (s *Store) DeadLetters(fn func(*DeadLetter) error) error {
	return s.scan([]byte{pDead, 0}, func(_, v []byte) error {
		var d DeadLetter
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decoding dead letter: %w", err)
		}
		return fn(&d)
	})
}

// Inconsistency is a patch whose oldData did not match the state: the mark
// of a writer that changed the table without emitting an event.
type Inconsistency struct {
	Seq       uint64          `json:"seq"`
	Entity    string          `json:"entity"`
	Key       string          `json:"key"`
	Field     string          `json:"field"`
	Expected  json.RawMessage `json:"expected"` // the event's oldData value
	Found     json.RawMessage `json:"found"`    // the state's value
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	EventTime time.Time       `json:"event_time"`
}

// Inconsistencies calls fn for every inconsistency in the order recorded.
func (s *Store) Inconsistencies(fn func(*Inconsistency) error) error {
	return s.scan([]byte{pIncons, 0}, func(_, v []byte) error {
		var in Inconsistency
		if err := json.Unmarshal(v, &in); err != nil {
			return fmt.Errorf("decoding inconsistency: %w", err)
		}
		return fn(&in)
	})
}
