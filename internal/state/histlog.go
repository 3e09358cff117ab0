package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// History rows are written once and read only by publish, verify's causes
// and `show --history`, yet as pebble values each superseded image (a few
// KB) was flushed and then rewritten by a compaction at every level: with
// follow's random keys, about a fifth of its CPU. So a history row's bytes
// go to an append-only log per entity, <state_dir>/history/<entity>.log,
// and its history key (h 0 entity 0 key seq, still in key order for the
// scans) holds a reference: a marker byte, the row's offset and length in
// the log, and the CRC-32C of its bytes.
//
// A transaction appends its rows to the log and syncs it before its batch
// commits; the batch records the log's new end (meta hlog/<entity>). A
// crash in between leaves bytes past the committed end, which the next
// open truncates away: no reference points there. History keys written
// before the log existed hold the record itself, and are read as such.

const histRefMarker = 0xff // never a record's first byte (recordFormat)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func metaHistLog(entity string) string { return "hlog/" + entity }

// histLog is one entity's history log.
type histLog struct {
	path string
	f    *os.File
	// next is where the next rows go: the committed end when the log was
	// opened, then past every row written since, whether or not its batch
	// committed (a commit that fails may still have applied its batch, so
	// rows written are never written over).
	next int64
	// spare is the buffer of the last transaction's rows, kept for the
	// next one (logMu): a transaction's rows are about a megabyte, and
	// growing a new buffer to that each time cost follow 2 µs an event.
	spare []byte
}

// maxSpareHistory caps the buffer a history log keeps between transactions.
const maxSpareHistory = 16 << 20

// historyBuf returns an empty buffer for a transaction's rows to l.
func (s *Store) historyBuf(l *histLog) []byte {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	b := l.spare
	l.spare = nil
	return b[:0]
}

// keepHistoryBuf gives l a buffer back once its rows are written.
func (s *Store) keepHistoryBuf(l *histLog, b []byte) {
	if cap(b) > maxSpareHistory {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	l.spare = b[:0]
}

// histLog returns the entity's history log, opening it (and cutting what
// an uncommitted transaction left past its committed end) on first use.
func (s *Store) histLog(entity string) (*histLog, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if l := s.logs[entity]; l != nil {
		return l, nil
	}
	var end int64
	if v, ok, err := s.Meta(metaHistLog(entity)); err != nil {
		return nil, err
	} else if ok {
		if end, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return nil, fmt.Errorf("state store: bad meta %s %q", metaHistLog(entity), v)
		}
	}
	dir := filepath.Join(s.dir, "history")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening the history log of %s: %w", entity, err)
	}
	path := filepath.Join(dir, entity+".log")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the history log of %s: %w", entity, err)
	}
	// The log's name (and the folder's) must be durable before a batch
	// refers to its rows.
	err = syncDir(dir)
	if err == nil {
		err = syncDir(s.dir)
	}
	var info os.FileInfo
	if err == nil {
		info, err = f.Stat()
	}
	if err == nil {
		switch {
		case info.Size() < end:
			err = fmt.Errorf("it holds %d bytes, %d were committed: the state directory is damaged (restore it, "+
				"or bootstrap into a new one)", info.Size(), end)
		case info.Size() > end:
			// Rows of a transaction that did not commit.
			if err = f.Truncate(end); err == nil {
				err = f.Sync()
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening the history log %s: %w", path, err)
	}
	if s.logs == nil {
		s.logs = map[string]*histLog{}
	}
	l := &histLog{path: path, f: f, next: end}
	s.logs[entity] = l
	return l, nil
}

// appendHistRef appends the reference to a row of length n at off whose
// bytes have the checksum sum.
func appendHistRef(dst []byte, off int64, n int, sum uint32) []byte {
	dst = append(dst, histRefMarker)
	dst = binary.AppendUvarint(dst, uint64(off))
	dst = binary.AppendUvarint(dst, uint64(n))
	return binary.BigEndian.AppendUint32(dst, sum)
}

// historyValue returns the stored record a history key's value v stands
// for: v itself when it holds the record (written before the log), or the
// row it references in the entity's log.
func (s *Store) historyValue(entity string, v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != histRefMarker {
		return v, nil
	}
	off, n1 := binary.Uvarint(v[1:])
	size, n2 := binary.Uvarint(v[1+max(n1, 0):])
	if n1 <= 0 || n2 <= 0 || len(v) != 1+n1+n2+4 || size > 1<<30 {
		return nil, fmt.Errorf("state store: bad history reference %x", v)
	}
	sum := binary.BigEndian.Uint32(v[1+n1+n2:])
	l, err := s.histLog(entity)
	if err != nil {
		return nil, err
	}
	row := make([]byte, size)
	if _, err := l.f.ReadAt(row, int64(off)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading the history log %s at %d: %w", l.path, off, err)
	}
	if crc32.Checksum(row, castagnoli) != sum {
		return nil, fmt.Errorf("reading the history log %s at %d: the row's checksum does not match", l.path, off)
	}
	return row, nil
}

// histPending is what a transaction appends to an entity's history log.
type histPending struct {
	log *histLog
	buf []byte
}

// writeHistory appends the transaction's history rows to their logs, at
// the offsets their references hold, and syncs them; the batch records the
// logs' new ends.
func (t *Txn) writeHistory() error {
	for entity, p := range t.hist {
		if _, err := p.log.f.WriteAt(p.buf, p.log.next); err != nil {
			return fmt.Errorf("writing the history log %s: %w", p.log.path, err)
		}
		if err := p.log.f.Sync(); err != nil {
			return fmt.Errorf("syncing the history log %s: %w", p.log.path, err)
		}
		p.log.next += int64(len(p.buf))
		t.s.keepHistoryBuf(p.log, p.buf)
		p.buf = nil
		if err := t.b.Set(prefix(pMeta, metaHistLog(entity)), strconv.AppendInt(nil, p.log.next, 10), nil); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// closeLogs closes the history logs.
func (s *Store) closeLogs() error {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	var err error
	for _, l := range s.logs {
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
	}
	s.logs = nil
	return err
}
