package lake

import (
	"context"
	"fmt"
	"sync"
)

// Publish reads its rows twice: once for the schema, once to write them.
// A caller that sees every row anyway can gather the statistics as the
// rows go by (Stats) and then write the table in one pass, in key-ordered
// segments written at the same time (Writer): a first bootstrap does both
// while it loads and merges the state store.

// Stats gathers the statistics a table's schema is inferred from.
type Stats struct {
	kind Kind
	t    *tableStats
	rows int64
}

// NewStats returns empty statistics for a table of kind.
func NewStats(kind Kind) *Stats { return &Stats{kind: kind, t: newTableStats()} }

// Add counts a row. The row is not kept.
func (s *Stats) Add(r *Row) error {
	s.rows++
	return s.t.add(r, s.kind)
}

// Rows is the number of rows added.
func (s *Stats) Rows() int64 { return s.rows }

// Writer writes a table in segments: each segment is a key range whose
// rows arrive in order on their own goroutine, and the parts of segment i
// come before those of segment i+1. Nothing is visible in the lake until
// Commit.
type Writer struct {
	opts Options
	tbl  *table
	mu   sync.Mutex
	segs []*Segment // by index; nil: not started
}

// NewWriter prepares a table whose schema comes from st.
func NewWriter(opts Options, st *Stats) (*Writer, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	if st.kind != opts.Kind {
		return nil, fmt.Errorf("lake: statistics of a %s table for a %s one", st.kind, opts.Kind)
	}
	if err := preparePartition(opts); err != nil {
		return nil, err
	}
	return &Writer{opts: opts, tbl: buildTable(st.t, opts.Kind)}, nil
}

// Columns returns the table's schema.
func (w *Writer) Columns() []Column { return w.tbl.columns() }

// Segment returns segment i, starting it on first use. A segment is used
// by one goroutine at a time.
func (w *Writer) Segment(i int) (*Segment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.segs) <= i {
		w.segs = append(w.segs, nil)
	}
	if s := w.segs[i]; s != nil {
		return s, nil
	}
	pw := newPartWriter(w.opts, w.tbl)
	s := &Segment{pw: pw, sh: newShredder(w.tbl, w.opts.Now), pipe: newRowPipe(pw, w.tbl.numLeaves, w.opts.RowGroupRows)}
	s.sp = newSpooler(func(r *Row) error {
		b, err := s.pipe.next()
		if err == nil {
			err = s.sh.shred(r, b)
		}
		if err == nil {
			err = s.pipe.added()
		}
		return err
	})
	w.segs[i] = s
	return s, nil
}

// Segment writes the rows of one key range, in order, to part files of
// their own: copying the rows on the caller's goroutine, shredding them
// on another and encoding them on a third, as Publish does.
type Segment struct {
	pw     *partWriter
	sh     *shredder
	sp     *spooler
	pipe   *rowPipe
	rows   int64
	closed bool
	err    error
}

// Write adds a row; the row is not kept.
func (s *Segment) Write(r *Row) error {
	if s.err != nil {
		return s.err
	}
	if err := s.sp.add(r); err != nil {
		s.err = err
		return err
	}
	s.rows++
	return nil
}

// close waits for the segment's shredding and encoding to end and
// completes its last part.
func (s *Segment) close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if err := s.sp.close(s.err == nil); err != nil {
		s.err = err // the shredder's error
	}
	if err := s.pipe.close(); err != nil && s.err == nil {
		s.err = err
	}
	if s.err == nil {
		if s.pw.f != nil {
			s.err = s.pw.closeFile()
		}
	}
	return s.err
}

// Commit completes every segment and puts their parts in place, segment
// by segment, replacing the partition's earlier files. On an error,
// nothing changes in the lake.
func (w *Writer) Commit(ctx context.Context) (Result, error) {
	res := Result{Columns: w.tbl.columns()}
	var temps []string
	var errs []error
	for _, s := range w.segs {
		if s == nil {
			continue
		}
		if err := s.close(); err != nil {
			errs = append(errs, err)
		}
		temps = append(temps, s.pw.temps...)
		res.Rows += s.rows
		res.Leftovers += s.sh.leftovers
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		w.Abort()
		return Result{}, fmt.Errorf("publishing %s/%s: %w", w.opts.Entity, w.opts.Kind, errs[0])
	}
	if len(temps) == 0 { // no rows: one empty part
		pw := newPartWriter(w.opts, w.tbl)
		if err := pw.finish(); err != nil {
			pw.abort()
			return Result{}, fmt.Errorf("publishing %s/%s: %w", w.opts.Entity, w.opts.Kind, err)
		}
		temps = pw.temps
	}
	files, err := commitParts(PartitionDir(w.opts.Dir, w.opts.Entity, w.opts.Kind, w.opts.Now), temps)
	w.segs = nil
	if err != nil {
		return Result{}, fmt.Errorf("publishing %s/%s: %w", w.opts.Entity, w.opts.Kind, err)
	}
	res.Files = files
	return res, nil
}

// Abort removes what the segments wrote.
func (w *Writer) Abort() {
	for _, s := range w.segs {
		if s != nil {
			s.close()
			s.pw.abort()
		}
	}
	w.segs = nil
}
