package lake

import (
	"context"
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
	statBatchRows = 512
	statBatches   = 4
)

func inferPass(ctx context.Context, kind Kind, scan Scanner) (*tableStats, error) {
	st := newTableStats()
	free := make(chan *statBatch, statBatches)
	full := make(chan *statBatch, statBatches)
	for range statBatches {
		free <- &statBatch{}
	}
	done := make(chan struct{})
	var werr error // the statistics goroutine's first error; read after done
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
				werr = st.add(&r, kind)
			}
			clear(b.rows)
			b.rows, b.bytes = b.rows[:0], b.bytes[:0]
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
		case <-done:
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
			case <-done:
				return werr
			}
		}
		img, err := sc.image(r)
		if err != nil {
			return err
		}
		start := len(cur.bytes)
		cur.bytes = append(cur.bytes, img...)
		if img == nil {
			cur.bytes = cur.bytes[:start] // no image (a delete row): ImageBin stays nil below
		}
		s := statRow{version: strings.Clone(r.Version), eventTime: r.EventTime, validFrom: r.ValidFrom, until: r.ValidTo,
			start: start, end: len(cur.bytes)}
		cur.rows = append(cur.rows, s)
		if len(cur.rows) == statBatchRows && !send() {
			return werr
		}
		return nil
	})
	if cur != nil && len(cur.rows) > 0 && err == nil {
		send()
	}
	close(full)
	<-done
	if err == nil {
		err = werr
	}
	return st, err
}
