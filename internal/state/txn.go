package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Txn gathers the writes of a group of changes and commits them in one
// durable batch. Reads through a Txn see its own uncommitted writes.
type Txn struct {
	s    *Store
	b    *pebble.Batch
	recs map[string]*Record // entity 0 key -> record written in this txn
	// encoded holds the stored form of records already encoded (or read
	// from the store), so that nothing is encoded twice.
	encoded   map[*Record][]byte
	events    map[string]struct{}
	through   map[string]int64 // latest event time marked per namespace (through.go)
	positions map[string]position
	gens      map[string]uint64
	metas     map[string][]byte // written in this txn (nil value: deleted)
	seen      map[string]bool
	deadSeq   uint64
	inconsSeq uint64
	buf       []byte
	hist      map[string]*histPending // history rows for the logs (histlog.go)
}

// Begin starts a transaction. Only one may be open at a time.
func (s *Store) Begin() *Txn {
	s.mu.Lock()
	t := &Txn{
		s:         s,
		b:         s.db.NewBatchWithSize(s.batchHint),
		recs:      map[string]*Record{},
		encoded:   map[*Record][]byte{},
		events:    map[string]struct{}{},
		through:   map[string]int64{},
		positions: map[string]position{},
		gens:      map[string]uint64{},
		metas:     map[string][]byte{},
		seen:      map[string]bool{},
		deadSeq:   s.deadSeq,
		inconsSeq: s.inconsSeq,
	}
	s.mu.Unlock()
	return t
}

func txnKey(entity string, key []byte) string { return entity + "\x00" + string(key) }

// Get returns the record of a key as this transaction sees it, or nil. The
// returned record must not be modified: Put a new one instead. A live
// record holds its image as a map (Image) or only in the stored binary form
// (ImageBin, Image nil), as every record read from the store does: the
// rules read and patch that form in place, and Record.DecodedImage decodes
// it when a map is needed.
func (t *Txn) Get(entity string, key []byte) (*Record, error) {
	if r, ok := t.recs[txnKey(entity, key)]; ok {
		return r, nil
	}
	if f := t.s.fresh[entity]; f != nil && !f.mayContain(key) {
		return nil, nil // a fresh load has not written the key: it has no record
	}
	k := recordKey(entity, key)
	raw, ok, hit := t.s.ahead.take(k)
	var err error
	if !hit {
		raw, ok, err = t.s.get(k)
	}
	if err != nil || !ok {
		if err != nil {
			return nil, fmt.Errorf("reading state of %s: %w", entity, err)
		}
		return nil, nil
	}
	r, img, err := decodeHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("reading state of %s: %w", entity, err)
	}
	if r.Live {
		r.ImageBin = img // raw is our own copy
	}
	t.encoded[r] = raw // a superseded record is stored again as it is
	return r, nil
}

// Put sets the record of a key. It is encoded at commit, so the caller must
// not change r afterwards except through Get and Put of this transaction.
func (t *Txn) Put(entity string, key []byte, r *Record) {
	if f := t.s.fresh[entity]; f != nil {
		f.add(key) // (if this transaction is discarded, the filter only says "may hold" more often)
		if t.s.sample != nil {
			t.s.sample.add(entity, key)
		}
	}
	t.recs[txnKey(entity, key)] = r
}

// AppendHistory records that r, a new state of the key, supersedes prev
// (nil for a new key): the record of a key is always its latest history
// row, so only prev is written to the history, under its own seq, and r is
// written as the record by Put. It counts a change of the entity. Neither
// record may change afterwards.
func (t *Txn) AppendHistory(entity string, key []byte, prev, r *Record) error {
	t.gens[entity]++
	// r is encoded at Commit, with the batch's other records, in parallel.
	if prev == nil || prev.Seq == 0 {
		return nil // prev had no history row (a new key, or a bare tombstone)
	}
	enc, ok := t.encoded[prev]
	if !ok {
		// prev was written earlier in this transaction.
		enc = appendRecord(nil, prev)
		t.encoded[prev] = enc
	}
	l, err := t.s.histLog(entity)
	if err != nil {
		return err
	}
	p := t.hist[entity]
	if p == nil {
		if t.hist == nil {
			t.hist = map[string]*histPending{}
		}
		p = &histPending{log: l, buf: t.s.historyBuf(l)}
		t.hist[entity] = p
	}
	off := l.next + int64(len(p.buf))
	p.buf = append(p.buf, enc...)
	t.buf = appendHistRef(t.buf[:0], off, len(enc), crc32.Checksum(enc, castagnoli))
	return t.b.Set(historyKey(entity, key, prev.Seq), t.buf, nil)
}

// maxBatchHint caps the memory a new batch starts with.
const maxBatchHint = 16 << 20

// parallelEncodeMin is the number of records to encode from which Commit
// encodes on every core.
const parallelEncodeMin = 128

// encodeRecords encodes the records written in this transaction that are
// not encoded yet: on every core for a large batch, since encoding an image
// (its keys sorted) costs as much as the rest of applying it, and the
// materializer that waits for the commit is the bootstrap's busiest
// goroutine.
func (t *Txn) encodeRecords() {
	var todo []*Record
	for _, r := range t.recs {
		if _, ok := t.encoded[r]; !ok && !r.binaryOnly() {
			todo = append(todo, r) // (Commit writes a binaryOnly record itself)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo)/(parallelEncodeMin/2))
	if workers <= 1 {
		for _, r := range todo {
			t.encoded[r] = appendRecord(nil, r)
		}
		return
	}
	encs := make([][]byte, len(todo))
	per := (len(todo) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(todo); lo += per {
		hi := min(lo+per, len(todo))
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One buffer for the records of this share: a slice of it
			// stays valid when it grows (the old array is not reused).
			var buf []byte
			for i := lo; i < hi; i++ {
				n := len(buf)
				buf = appendRecord(buf, todo[i])
				encs[i] = buf[n:len(buf):len(buf)]
			}
		}()
	}
	wg.Wait()
	for i, r := range todo {
		t.encoded[r] = encs[i]
	}
}

// Touch counts a change of an entity's state that adds no history row (so
// that the next publish sees it).
func (t *Txn) Touch(entity string) { t.gens[entity]++ }

// SeenEvent reports whether an event id was applied before (or earlier in
// this transaction). at is the event's time, the one MarkEvent was given for
// it (zero: none): an event later than every id marked is not looked up.
func (t *Txn) SeenEvent(entity, id string, at time.Time) (bool, error) {
	k := eventKey(entity, id)
	if _, ok := t.events[string(k)]; ok {
		return true, nil
	}
	if later, err := t.s.unmarked(entity, at); err != nil || later {
		return false, err // later than every id marked (through.go)
	}
	if _, ok, hit := t.s.ahead.take(k); hit {
		return ok, nil
	}
	_, ok, err := t.s.get(k)
	if err != nil {
		return false, fmt.Errorf("reading event ids: %w", err)
	}
	return ok, nil
}

// MarkEvent remembers an event id, of an event of time at (zero: unknown),
// so that a redelivery is skipped.
func (t *Txn) MarkEvent(entity, id string, at time.Time) error {
	k := eventKey(entity, id)
	t.events[string(k)] = struct{}{}
	if w, ok := t.through[entity]; !ok || markTime(at) > w {
		t.through[entity] = markTime(at)
	}
	return t.b.Set(k, nil, nil)
}

type position struct {
	offset int64
	token  string
}

// SetPosition records the offset a source resumes from, and an opaque
// resume token when the source needs more than an offset ("": none).
func (t *Txn) SetPosition(source string, offset int64, token string) {
	t.positions[source] = position{offset, token}
}

// SetMeta writes a metadata value in this transaction.
func (t *Txn) SetMeta(name string, val []byte) error {
	t.metas[name] = append([]byte{}, val...)
	return t.b.Set(prefix(pMeta, name), val, nil)
}

// Meta reads a metadata value as this transaction sees it.
func (t *Txn) Meta(name string) ([]byte, bool, error) {
	if v, ok := t.metas[name]; ok {
		return v, v != nil, nil
	}
	return t.s.Meta(name)
}

// MarkResyncSeen notes that a re-sync sent the key; it reports whether the
// key was seen in that re-sync before (a redelivery).
func (t *Txn) MarkResyncSeen(entity, id string, key []byte) (bool, error) {
	k := append(prefix(pResync, entity, id), key...)
	if t.seen[string(k)] {
		return true, nil
	}
	_, ok, err := t.s.get(k)
	if err != nil || ok {
		return ok, err
	}
	t.seen[string(k)] = true
	return false, t.b.Set(k, nil, nil)
}

// AddDeadLetter stores a dead letter.
func (t *Txn) AddDeadLetter(d DeadLetter) error {
	t.deadSeq++
	d.Seq = t.deadSeq
	v, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return t.b.Set(seqKey(pDead, d.Seq), v, nil)
}

// AddInconsistency stores an inconsistency.
func (t *Txn) AddInconsistency(in Inconsistency) error {
	t.inconsSeq++
	in.Seq = t.inconsSeq
	v, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return t.b.Set(seqKey(pIncons, in.Seq), v, nil)
}

// Commit writes everything durably (fsync) and ends the transaction.
func (t *Txn) Commit() error {
	c, err := t.CommitNoSyncWait()
	if err != nil {
		return err
	}
	return c.Wait()
}

// Committed is a transaction whose writes are applied, visible to reads
// and to later transactions, but maybe not durable yet.
type Committed struct {
	b *pebble.Batch // nil: nothing to wait for
}

// Wait returns once the transaction's writes are durable.
func (c *Committed) Wait() error {
	if c.b == nil {
		return nil
	}
	err := c.b.SyncWait()
	if err != nil {
		err = fmt.Errorf("syncing state batch: %w", err)
	}
	if cerr := c.b.Close(); err == nil {
		err = cerr
	}
	c.b = nil
	return err
}

// CommitNoSyncWait is Commit without waiting for the write-ahead log's
// fsync: the writes are visible when it returns and durable when the
// result's Wait returns, so the materializer applies its next batch while
// the disk syncs this one. A crash before then loses the transaction whole,
// and any later one (the log is written in order). The history rows it
// references are durable before it returns, as with Commit.
func (t *Txn) CommitNoSyncWait() (*Committed, error) {
	pending, err := t.commit()
	if err != nil {
		t.b.Close()
		return nil, err
	}
	if !pending {
		// Nothing to wait for (a bulk load's batches are durable when
		// flushed): the batch's memory goes back at once.
		return &Committed{}, t.b.Close()
	}
	return &Committed{b: t.b}, nil
}

// commit applies the batch and reports whether its WAL sync is pending
// (false: it was committed without one, as in bulk mode).
func (t *Txn) commit() (bool, error) {
	t.encodeRecords()
	// The keys written, for the results read ahead (prefetch.go).
	written := t.s.ahead.hashes(len(t.recs) + len(t.events))
	for k := range t.events {
		t.s.ahead.addString(written, k)
	}
	for k, r := range t.recs {
		t.buf = append(append(t.buf[:0], pRecord, 0), k...)
		t.s.ahead.add(written, t.buf)
		enc, ok := t.encoded[r]
		if ok || !r.binaryOnly() {
			if err := t.b.Set(t.buf, enc, nil); err != nil {
				return false, err
			}
			continue
		}
		// A binary image goes into the batch with one copy.
		n := len(t.buf)
		t.buf = appendHeader(t.buf, r)
		hdr := t.buf[n:]
		op := t.b.SetDeferred(n, len(hdr)+len(r.ImageBin))
		copy(op.Key, t.buf[:n])
		copy(op.Value[copy(op.Value, hdr):], r.ImageBin)
		if err := op.Finish(); err != nil {
			return false, err
		}
	}
	for src, p := range t.positions {
		v := binary.BigEndian.AppendUint64(nil, uint64(p.offset))
		if err := t.b.Set(prefix(pPos, src), append(v, p.token...), nil); err != nil {
			return false, err
		}
	}
	later, err := t.writeThrough()
	if err != nil {
		return false, err
	}
	// The history rows are durable in their logs before the batch that
	// references them commits.
	if err := t.writeHistory(); err != nil {
		return false, err
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	newGens := map[string]uint64{}
	for e, n := range t.gens {
		g, err := t.s.generation(e)
		if err != nil {
			return false, err
		}
		newGens[e] = g + n
		if err := t.b.Set(prefix(pMeta, "gen/"+e), binary.BigEndian.AppendUint64(nil, g+n), nil); err != nil {
			return false, err
		}
	}
	opts := t.s.syncOpt()
	if opts.Sync {
		err = t.s.db.ApplyNoSyncWait(t.b, opts)
	} else {
		err = t.b.Commit(opts)
	}
	if err != nil {
		written = nil // what it left is unknown
	}
	t.s.ahead.committed(written)
	if err != nil {
		return false, fmt.Errorf("committing state batch: %w", err)
	}
	for e, g := range newGens {
		t.s.gens[e] = g
	}
	t.s.publishThrough(later)
	t.s.deadSeq, t.s.inconsSeq = t.deadSeq, t.inconsSeq
	// The next batch is likely this one's size: start it there, not
	// growing by doubling (capped: one odd batch must not pin memory).
	t.s.batchHint = min(t.b.Len(), maxBatchHint)
	return opts.Sync, nil
}

// Discard drops the transaction's writes.
func (t *Txn) Discard() {
	t.b.Close()
}

// DeleteMeta removes a metadata value in this transaction.
func (t *Txn) DeleteMeta(name string) error {
	t.metas[name] = nil
	return t.b.Delete(prefix(pMeta, name), nil)
}

// ForgetResync removes the seen keys of a re-sync.
func (t *Txn) ForgetResync(entity, id string) error {
	p := prefix(pResync, entity, id)
	return t.b.DeleteRange(p, upperBound(p), nil)
}

// DeleteDeadLetter removes a dead letter (it was replayed).
func (t *Txn) DeleteDeadLetter(seq uint64) error {
	return t.b.Delete(seqKey(pDead, seq), nil)
}
