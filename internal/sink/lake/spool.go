package lake

import (
	"context"
	"errors"
	"time"
	"unsafe"
)

// Both passes read the store on one core and do their work on another:
// spool runs the Scanner on the calling goroutine, copying each row (its
// strings and image bytes into one buffer) into batches, and hands the
// batches to a goroutine that calls fn for each row. Reading the store
// (iterating, decompressing blocks, decoding record headers) costs about
// as much as gathering a row's statistics, and a third of shredding it.

// span is where a copied string or image sits in a batch's bytes.
type span struct{ start, end int }

// spooledRow is a Row copied into a batch: its strings and image are
// spans of the batch's bytes.
type spooledRow struct {
	key, version, op, eventID, eventType, source span
	image                                        span
	hasImage                                     bool
	eventTime, ingestedAt, validFrom, validTo    time.Time
}

type spoolBatch struct {
	rows  []spooledRow
	bytes []byte
}

// spoolBatchRows is the most rows of a batch (a variable for tests).
var spoolBatchRows = 512

const (
	spoolBatchBytes = 1 << 20 // a batch of large items is sent sooner
	spoolBatches    = 4
	// spoolKeepBytes is the most a batch's buffer keeps for its next use:
	// one of huge items (DynamoDB allows 400 KB) is dropped instead.
	spoolKeepBytes = 4 << 20
)

// errSpoolStopped stops the scan when fn failed; spool returns fn's error.
var errSpoolStopped = errors.New("spooled rows failed")

// spool calls fn for every row of scan, in order, on another goroutine.
// The Row passed to fn (and every string and byte slice in it) is valid
// until fn returns, as a Scanner's.
func spool(ctx context.Context, scan Scanner, fn func(*Row) error) error {
	free := make(chan *spoolBatch, spoolBatches)
	full := make(chan *spoolBatch, spoolBatches)
	for range spoolBatches {
		free <- &spoolBatch{}
	}
	done := make(chan struct{})
	failed := make(chan struct{}) // closed on fn's first error
	var ferr error                // that error; read after done
	go func() {
		defer close(done)
		var r Row
		for b := range full {
			for i := range b.rows {
				if ferr != nil {
					break
				}
				b.fill(&r, &b.rows[i])
				if ferr = fn(&r); ferr != nil {
					close(failed)
				}
			}
			clear(b.rows)
			b.rows, b.bytes = b.rows[:0], b.bytes[:0]
			if cap(b.bytes) > spoolKeepBytes {
				b.bytes = nil
			}
			free <- b
		}
	}()
	var cur *spoolBatch
	var sc scratch
	send := func() bool {
		select {
		case full <- cur:
			cur = nil
			return true
		case <-failed:
			return false
		}
	}
	var n int64
	err := scan(func(r *Row) error {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n++
		if cur == nil {
			select {
			case cur = <-free:
			case <-failed:
				return errSpoolStopped
			}
		}
		img, err := sc.image(r)
		if err != nil {
			return err
		}
		cur.rows = append(cur.rows, cur.spool(r, img))
		if (len(cur.rows) == spoolBatchRows || len(cur.bytes) >= spoolBatchBytes) && !send() {
			return errSpoolStopped
		}
		return nil
	})
	if cur != nil && len(cur.rows) > 0 && err == nil {
		send()
	}
	close(full)
	<-done
	if ferr != nil {
		err = ferr // fn's error, not the scan's errSpoolStopped
	}
	return err
}

// spool copies r, whose image is img (nil: none), into the batch.
func (b *spoolBatch) spool(r *Row, img []byte) spooledRow {
	s := spooledRow{hasImage: img != nil, eventTime: r.EventTime, ingestedAt: r.IngestedAt,
		validFrom: r.ValidFrom, validTo: r.ValidTo}
	for _, f := range [...]struct {
		dst *span
		s   string
	}{{&s.key, r.Key}, {&s.version, r.Version}, {&s.op, r.Op}, {&s.eventID, r.EventID}, {&s.eventType, r.EventType}, {&s.source, r.Source}} {
		f.dst.start = len(b.bytes)
		b.bytes = append(b.bytes, f.s...)
		f.dst.end = len(b.bytes)
	}
	s.image.start = len(b.bytes)
	b.bytes = append(b.bytes, img...)
	s.image.end = len(b.bytes)
	return s
}

// fill sets r from a spooled row; its strings and image point into the
// batch's bytes, which stay as they are until every row of the batch is
// done.
func (b *spoolBatch) fill(r *Row, s *spooledRow) {
	str := func(sp span) string {
		if sp.end == sp.start {
			return ""
		}
		return unsafe.String(&b.bytes[sp.start], sp.end-sp.start)
	}
	*r = Row{Key: str(s.key), Version: str(s.version), Op: str(s.op), EventID: str(s.eventID), EventType: str(s.eventType),
		Source: str(s.source), EventTime: s.eventTime, IngestedAt: s.ingestedAt, ValidFrom: s.validFrom, ValidTo: s.validTo}
	if s.hasImage {
		r.ImageBin = b.bytes[s.image.start:s.image.end:s.image.end]
	}
}

// inferPass reads every row once and gathers the statistics the schema is
// built from.
func inferPass(ctx context.Context, kind Kind, scan Scanner) (*tableStats, error) {
	st := newTableStats()
	err := spool(ctx, scan, func(r *Row) error { return st.add(r, kind) })
	return st, err
}
