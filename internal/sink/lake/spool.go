package lake

import (
	"context"
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

// spool calls fn for every row of scan, in order, on another goroutine.
// The Row passed to fn (and every string and byte slice in it) is valid
// until fn returns, as a Scanner's.
func spool(ctx context.Context, scan Scanner, fn func(*Row) error) error {
	sp := newSpooler(fn)
	var n int64
	err := scan(func(r *Row) error {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n++
		return sp.add(r)
	})
	if cerr := sp.close(err == nil); cerr != nil {
		err = cerr // fn's error, which stopped the scan
	}
	return err
}

// spooler hands the rows it is given to fn on its own goroutine, copied
// into batches.
type spooler struct {
	free, full chan *spoolBatch
	done       chan struct{}
	failed     chan struct{} // closed on fn's first error
	ferr       error         // that error; read after done
	cur        *spoolBatch
	sc         scratch
}

func newSpooler(fn func(*Row) error) *spooler {
	sp := &spooler{free: make(chan *spoolBatch, spoolBatches), full: make(chan *spoolBatch, spoolBatches),
		done: make(chan struct{}), failed: make(chan struct{})}
	for range spoolBatches {
		sp.free <- &spoolBatch{}
	}
	go func() {
		defer close(sp.done)
		var r Row
		for b := range sp.full {
			for i := range b.rows {
				if sp.ferr != nil {
					break
				}
				b.fill(&r, &b.rows[i])
				if sp.ferr = fn(&r); sp.ferr != nil {
					close(sp.failed)
				}
			}
			clear(b.rows)
			b.rows, b.bytes = b.rows[:0], b.bytes[:0]
			if cap(b.bytes) > spoolKeepBytes {
				b.bytes = nil
			}
			sp.free <- b
		}
	}()
	return sp
}

// add copies r into the current batch, handing the batch over when it is
// full; after fn failed it returns fn's error.
func (sp *spooler) add(r *Row) error {
	if sp.cur == nil {
		select {
		case sp.cur = <-sp.free:
		case <-sp.failed:
			return sp.ferr // set before failed was closed
		}
	}
	img, err := sp.sc.image(r)
	if err != nil {
		return err
	}
	cur := sp.cur
	cur.rows = append(cur.rows, cur.spool(r, img))
	if (len(cur.rows) == spoolBatchRows || len(cur.bytes) >= spoolBatchBytes) && !sp.send() {
		return sp.ferr
	}
	return nil
}

func (sp *spooler) send() bool {
	select {
	case sp.full <- sp.cur:
		sp.cur = nil
		return true
	case <-sp.failed:
		return false
	}
}

// close hands over the last rows (when flush is set) and waits for fn to
// finish with them; it returns fn's first error.
func (sp *spooler) close(flush bool) error {
	if flush && sp.cur != nil && len(sp.cur.rows) > 0 {
		sp.send()
	}
	close(sp.full)
	<-sp.done
	return sp.ferr
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
