package lake

import (
	"context"
	"errors"
	"strings"
	"time"
)

// The schema pass runs on two cores: the scanning goroutine copies each
// row's image bytes and the few fields the statistics need into batches,
// and another goroutine adds them to the table's statistics. Reading the
// store and gathering statistics cost about the same, so the pass takes
// about half as long as doing both in turn.

// statRow is what the schema pass keeps of a row.
type statRow struct {
	version                     string
	eventTime, validFrom, until time.Time
	start, end                  int // the image's bytes in the batch
}

type statBatch struct {
	rows  []statRow
	bytes []byte
}

const (
	statBatchRows  = 512
	statBatchBytes = 1 << 20 // a batch of large items is sent sooner
	statBatches    = 4
	// statKeepBytes is the most a batch's buffer keeps for its next use:
	// one of huge items (DynamoDB allows 400 KB) is dropped instead.
	statKeepBytes = 4 << 20
)

func inferPass(ctx context.Context, kind Kind, scan Scanner) (*tableStats, error) {
	st := newTableStats()
	free := make(chan *statBatch, statBatches)
	full := make(chan *statBatch, statBatches)
	for range statBatches {
		free <- &statBatch{}
	}
	done := make(chan struct{})
	failed := make(chan struct{}) // closed on the statistics' first error
	var werr error                // that error; read after done
	go func() {
		defer close(done)
		var r Row
		for b := range full {
			for i := range b.rows {
				if werr != nil {
					break
				}
				s := &b.rows[i]
				r.Version, r.EventTime, r.ValidFrom, r.ValidTo = s.version, s.eventTime, s.validFrom, s.until
				r.ImageBin = b.bytes[s.start:s.end:s.end]
				if werr = st.add(&r, kind); werr != nil {
					close(failed)
				}
			}
			clear(b.rows)
			b.rows, b.bytes = b.rows[:0], b.bytes[:0]
			if cap(b.bytes) > statKeepBytes {
				b.bytes = nil
			}
			free <- b
		}
	}()
	var cur *statBatch
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
				return errStatsFailed
			}
		}
		img, err := sc.image(r)
		if err != nil {
			return err
		}
		start := len(cur.bytes)
		cur.bytes = append(cur.bytes, img...) // (no image, a delete row: an empty one)
		s := statRow{version: strings.Clone(r.Version), eventTime: r.EventTime, validFrom: r.ValidFrom, until: r.ValidTo,
			start: start, end: len(cur.bytes)}
		cur.rows = append(cur.rows, s)
		if (len(cur.rows) == statBatchRows || len(cur.bytes) >= statBatchBytes) && !send() {
			return errStatsFailed
		}
		return nil
	})
	if cur != nil && len(cur.rows) > 0 && err == nil {
		send()
	}
	close(full)
	<-done
	if werr != nil {
		err = werr // the statistics' error, not the scan's errStatsFailed
	}
	return st, err
}

// errStatsFailed stops the scan when the statistics failed; inferPass
// returns their error instead.
var errStatsFailed = errors.New("schema statistics failed")
