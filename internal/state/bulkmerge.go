package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The compaction that ends a bulk load is one pebble compaction, and pebble
// runs a compaction on one core (7.5 s of a 1M-tenure load, 56 s at 5M,
// the other core idle). mergeBulk does the same work on every core: the
// key range is cut into two parts per core of about the same size (at
// quantiles of a sample of the keys the load wrote), each part is read
// through an iterator (which merges level 0) and written as sorted tables,
// and the tables replace everything in the range in one step
// (IngestAndExcise), landing in the bottom level. Until that step the store
// is untouched, so an error or a crash before it leaves the load as it was.
// A RecordVisitor may see an entity's records as they go by (fresh.go).

// bulkMergeDir is the folder, in the store's, of the tables being merged.
const bulkMergeDir = "bulk-merge"

// mergeBulk merges everything in [first, end) into new bottom-level tables,
// showing v (when not nil) the records of entity.
func (s *Store) mergeBulk(ctx context.Context, first, end []byte, entity string, v RecordVisitor) error {
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("flushing the state store: %w", err)
	}
	dir := filepath.Join(s.dir, bulkMergeDir)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Two parts per core: one part's goroutine runs while another waits
	// for a read or a write (1M tenures: 4.7 -> 4.3 s). With a visitor,
	// one per core: each part's visit has a goroutine of its own as well.
	parts := 2 * runtime.GOMAXPROCS(0)
	if v != nil {
		parts = runtime.GOMAXPROCS(0)
	}
	bounds := s.splitKeys(first, end, parts)
	o := s.pebbleOptions(false)
	o.EnsureDefaults()
	wopts := o.MakeWriterOptions(len(o.Levels)-1, s.db.TableFormat())
	tables := make([][]string, len(bounds)-1)
	errs := make([]error, len(tables))
	var wg sync.WaitGroup
	for i := range tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var visit func(k, val []byte) error
			if v != nil {
				p := prefix(pRecord, entity)
				visit = func(k, val []byte) error {
					if !bytes.HasPrefix(k, p) {
						return nil
					}
					r, img, err := decodeHeader(val)
					if err != nil {
						return fmt.Errorf("record %x: %w", k, err)
					}
					if !r.Live {
						img = nil
					}
					return v.Record(i, k[len(p):], r, img)
				}
			}
			tables[i], errs[i] = s.writeRange(ctx, bounds[i], bounds[i+1], filepath.Join(dir, fmt.Sprintf("part-%02d", i)), wopts, visit)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var paths []string
	for _, p := range tables {
		paths = append(paths, p...)
	}

	_, err := s.db.IngestAndExcise(ctx, paths, nil, nil, pebble.KeyRange{Start: first, End: end})
	s.ahead.committed(nil) // no read made ahead of it stays valid
	if err != nil {
		return fmt.Errorf("putting the merged tables in place: %w", err)
	}
	return nil
}

// splitKeys cuts [first, end) into up to n parts of about the same bytes.
// A bulk load's memtables each hold keys from the whole range (an export
// or a scan comes in hash order), and each also holds the same metadata
// keys (a generation, positions), so every level 0 table starts at the
// same key: the cuts come from a uniform sample of the keys the fresh
// loads wrote (keySample). Without one, the cuts fall at table boundaries.
func (s *Store) splitKeys(first, end []byte, n int) [][]byte {
	out := [][]byte{first}
	if s.sample != nil && len(s.sample.keys) >= 8*n {
		keys := s.sample.sorted()
		for i := 1; i < n; i++ {
			k := keys[len(keys)*i/n]
			if bytes.Compare(k, out[len(out)-1]) > 0 && bytes.Compare(k, end) < 0 {
				out = append(out, k)
			}
		}
		return append(out, end)
	}
	type table struct {
		start []byte
		size  uint64
	}
	var tables []table
	var total uint64
	if levels, err := s.db.SSTables(); err == nil {
		for _, l := range levels {
			for _, t := range l {
				if k := t.Smallest.UserKey; bytes.Compare(k, first) >= 0 && bytes.Compare(k, end) < 0 {
					tables = append(tables, table{k, t.Size})
					total += t.Size
				}
			}
		}
	}
	slices.SortFunc(tables, func(a, b table) int { return bytes.Compare(a.start, b.start) })
	var sum uint64
	for _, t := range tables {
		// A cut before t when the tables before it hold the next share.
		if len(out) < n && sum >= total*uint64(len(out))/uint64(n) && bytes.Compare(t.start, out[len(out)-1]) > 0 {
			out = append(out, t.start)
		}
		sum += t.size
	}
	return append(out, end)
}

// keySample is a uniform sample of the records' keys a bulk load wrote
// (reservoir sampling), to cut the merge into parts of equal size.
type keySample struct {
	keys [][]byte
	seen uint64
	rng  *rand.Rand
}

// keySampleSize is the most keys kept: 1024 keys place each cut within
// about 3% of its share of the records.
const keySampleSize = 1024

func newKeySample() *keySample { return &keySample{rng: rand.New(rand.NewPCG(1, 2))} }

// add offers the key of a record of entity written.
func (k *keySample) add(entity string, key []byte) {
	k.seen++
	if len(k.keys) < keySampleSize {
		k.keys = append(k.keys, append(prefix(pRecord, entity), key...))
		return
	}
	if j := k.rng.Uint64N(k.seen); j < keySampleSize {
		k.keys[j] = append(prefix(pRecord, entity), key...)
	}
}

func (k *keySample) sorted() [][]byte {
	keys := slices.Clone(k.keys)
	slices.SortFunc(keys, bytes.Compare)
	return keys
}

// writeRange writes the keys of [lo, hi) into tables of about
// bulkTableBytes under dir, calling visit (when not nil) with each, and
// returns their paths.
func (s *Store) writeRange(ctx context.Context, lo, hi []byte, dir string, wopts sstable.WriterOptions, visit func(k, v []byte) error) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var (
		paths []string
		w     *sstable.Writer
		size  int
	)
	finish := func() error {
		if w == nil {
			return nil
		}
		err := w.Close()
		w = nil
		return err
	}
	for ok, n := it.First(), 0; ok; ok, n = it.Next(), n+1 {
		if n%4096 == 0 && ctx.Err() != nil {
			finish()
			return nil, ctx.Err()
		}
		if w == nil {
			path := filepath.Join(dir, fmt.Sprintf("%06d.sst", len(paths)))
			f, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
			if err != nil {
				return nil, fmt.Errorf("writing a merged table: %w", err)
			}
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wopts)
			paths, size = append(paths, path), 0
		}
		v, err := it.ValueAndErr()
		if err != nil {
			finish()
			return nil, err
		}
		if err := w.Set(it.Key(), v); err != nil {
			finish()
			return nil, fmt.Errorf("writing a merged table: %w", err)
		}
		if visit != nil {
			if err := visit(it.Key(), v); err != nil {
				finish()
				return nil, err
			}
		}
		if size += len(it.Key()) + len(v); size >= bulkTableBytes {
			if err := finish(); err != nil {
				return nil, fmt.Errorf("writing a merged table: %w", err)
			}
		}
	}
	if err := it.Error(); err != nil {
		finish()
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, fmt.Errorf("writing a merged table: %w", err)
	}
	return paths, nil
}
