// Package verify compares the state with a source of truth (an export, later
// a scan), key by key in memory that does not grow with the table, reports
// every drifted key with the fields that differ and a likely cause, and
// repairs exactly those keys as changes whose origin is "repair".
package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// Options say what to compare and what to do about drift.
type Options struct {
	Entity    string
	HashAttr  string
	RangeAttr string
	// Ignore lists top-level attributes that may differ (a version counter
	// that events never carry).
	Ignore []string
	// Report is where the JSON-lines report goes.
	Report io.Writer
	// Repair applies the source's image to every drifted key.
	Repair bool
	// ScratchDir holds the temporary set of source keys.
	ScratchDir string
	// BatchSize is the number of repairs per durable commit.
	BatchSize int
	// SourceAsOf is the source's own time (an export's time, a scan's
	// start): keys the copy changed after it are not judged extra.
	SourceAsOf time.Time
}

// Result counts what verify found.
type Result struct {
	Matching      int64 `json:"matching"`
	MissingInCopy int64 `json:"missing_in_copy"`
	ExtraInCopy   int64 `json:"extra_in_copy"`
	Differing     int64 `json:"differing"`
	// Newer counts keys the copy changed after the source's as-of time: not
	// compared (the source is older than the copy there).
	Newer          int64 `json:"newer_in_copy"`
	UnreadableRows int64 `json:"unreadable_source_rows"`
	Repaired       int64 `json:"repaired"`
}

// Drift is the number of drifted keys.
func (r Result) Drift() int64 { return r.MissingInCopy + r.ExtraInCopy + r.Differing }

// Entry is one line of the report.
type Entry struct {
	Key    string      `json:"key"`
	Status string      `json:"status"` // missing_in_copy | extra_in_copy | differs
	Fields []FieldDiff `json:"fields,omitempty"`
	Causes []string    `json:"likely_causes"`
}

// FieldDiff is one attribute that differs, with both values as plain JSON
// (null when absent).
type FieldDiff struct {
	Field  string          `json:"field"`
	Source json.RawMessage `json:"source"`
	Copy   json.RawMessage `json:"copy"`
}

// Verifier compares one entity.
type Verifier struct {
	store  *state.Store
	mat    *apply.Materializer
	opts   Options
	ignore map[string]bool
	causes *causes
	report *bufio.Writer
	txn    *state.Txn
	n      int
	res    Result
}

// New returns a verifier over the state store; mat applies repairs.
func New(store *state.Store, mat *apply.Materializer, opts Options) *Verifier {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	ig := map[string]bool{}
	for _, f := range opts.Ignore {
		ig[f] = true
	}
	return &Verifier{store: store, mat: mat, opts: opts, ignore: ig}
}

// Run reads every row of src (snapshot changes of the entity) and compares.
func (v *Verifier) Run(ctx context.Context, src change.Source) (Result, error) {
	var err error
	if v.causes, err = loadCauses(v.store, v.opts.Entity); err != nil {
		return v.res, err
	}
	w := v.opts.Report
	if w == nil {
		w = io.Discard
	}
	v.report = bufio.NewWriter(w)
	seen, err := state.NewKeySet(v.opts.ScratchDir)
	if err != nil {
		return v.res, err
	}
	defer seen.Close()
	var asOf timeMin
	if err := v.compareAll(ctx, src, seen, &asOf); err != nil {
		return v.res, err
	}
	cutoff := asOf.t
	if !v.opts.SourceAsOf.IsZero() && (cutoff.IsZero() || v.opts.SourceAsOf.Before(cutoff)) {
		cutoff = v.opts.SourceAsOf
	}
	if cutoff.IsZero() {
		return v.res, errors.New("the source has no rows and no time of its own: nothing to judge the copy's keys by")
	}
	if err := v.extras(seen, cutoff); err != nil {
		return v.res, err
	}
	if err := v.commit(); err != nil {
		return v.res, err
	}
	if err := v.report.Flush(); err != nil {
		return v.res, fmt.Errorf("writing the report: %w", err)
	}
	return v.res, nil
}

// finding is what comparing one source row found; entry is nil for a
// matching or newer key.
type finding struct {
	c      *change.Change
	entry  *Entry
	newer  bool
	status string
}

// compareAll reads the source in this goroutine (recording its keys) and
// compares rows on every core: reading the copy and decoding it cost more
// than decoding the source. Findings are reported and repaired in one place.
func (v *Verifier) compareAll(ctx context.Context, src change.Source, seen *state.KeySet, asOf *timeMin) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(runtime.GOMAXPROCS(0), 1)
	rows := make(chan *change.Change, 256)
	found := make(chan finding, 256)
	var errMu sync.Mutex
	var firstErr error
	fail := func(err error) { // the first error wins and stops everything
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		cancel()
	}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range rows {
				f, err := v.compare(c)
				if err != nil {
					fail(err)
					continue // keep draining rows so that the reader ends
				}
				select {
				case found <- f:
				case <-ctx.Done():
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // the reader: it alone writes to the key set
		defer wg.Done()
		defer close(rows)
		for {
			rec, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if ctx.Err() == nil {
					fail(fmt.Errorf("reading the source: %w", err))
				}
				return
			}
			var f *finding
			switch {
			case rec.Dead != nil:
				f = &finding{status: "unreadable"}
			case rec.Change != nil:
				asOf.add(rec.Change.AsOf)
				if err := seen.Add(rec.Change.Key.Bytes()); err != nil {
					fail(err)
					return
				}
				select {
				case rows <- rec.Change:
				case <-ctx.Done():
					return
				}
			}
			if f != nil {
				select {
				case found <- *f:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() { wg.Wait(); close(found) }()
	for f := range found {
		if ctx.Err() != nil {
			continue // drain so that every goroutine ends
		}
		switch {
		case f.status == "unreadable":
			v.res.UnreadableRows++
		case f.newer:
			v.res.Newer++
		case f.entry == nil:
			v.res.Matching++
		default:
			if f.entry.Status == "missing_in_copy" {
				v.res.MissingInCopy++
			} else {
				v.res.Differing++
			}
			if err := v.drift(f.c, *f.entry); err != nil {
				fail(err)
			}
		}
	}
	errMu.Lock()
	defer errMu.Unlock()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err() // the caller's context ended
	}
	return firstErr
}

// compare checks one source row against the copy. Most rows match: their
// binary form equals the stored image's bytes, and the stored image is then
// never decoded.
func (v *Verifier) compare(c *change.Change) (finding, error) {
	rec, stored, err := v.store.GetHeader(v.opts.Entity, c.Key.Bytes())
	if err != nil {
		return finding{}, err
	}
	switch {
	case rec != nil && rec.Changed.After(c.AsOf):
		return finding{newer: true}, nil
	case rec == nil || !rec.Live:
		return finding{c: c, entry: &Entry{Key: c.Key.String(), Status: "missing_in_copy", Causes: v.causes.missing(c.Key.String())}}, nil
	}
	bin := c.ImageBin
	if c.Image != nil || bin == nil {
		bin = ddbjson.AppendBinary(nil, c.Image)
	}
	if bytes.Equal(bin, stored) {
		return finding{}, nil
	}
	img, _, err := ddbjson.DecodeBinary(stored)
	if err != nil {
		return finding{}, fmt.Errorf("stored image of %s: %w", c.Key, err)
	}
	src, err := c.FullImage()
	if err != nil {
		return finding{}, err
	}
	diffs := v.diff(src, img)
	if len(diffs) == 0 {
		return finding{}, nil
	}
	rec.Image = img
	return finding{c: c, entry: &Entry{Key: c.Key.String(), Status: "differs", Fields: diffs, Causes: v.causes.differs(c.Key.String(), rec)}}, nil
}

// diff lists the attributes whose values differ, in name order.
func (v *Verifier) diff(src, cp ddbjson.Map) []FieldDiff {
	var out []FieldDiff
	names := map[string]bool{}
	for f := range src {
		names[f] = true
	}
	for f := range cp {
		names[f] = true
	}
	keys := make([]string, 0, len(names))
	for f := range names {
		keys = append(keys, f)
	}
	sort.Strings(keys)
	for _, f := range keys {
		if v.ignore[f] || ddbjson.Equal(src[f], cp[f]) {
			continue
		}
		out = append(out, FieldDiff{Field: f, Source: plain(src[f]), Copy: plain(cp[f])})
	}
	return out
}

func plain(v ddbjson.Value) json.RawMessage { return ddbjson.AppendPlain(nil, v) }

// extras walks the copy's live keys beside the source's keys: a key the
// source does not hold was deleted there, unless the copy changed it after
// the source's earliest row was read (a scan reads over time: a key created
// after its segment passed is not in it).
func (v *Verifier) extras(seen *state.KeySet, asOf time.Time) error {
	it, err := seen.Iter()
	if err != nil {
		return err
	}
	defer it.Close()
	return v.store.ScanRecordHeaders(v.opts.Entity, func(key []byte, r *state.Record) error {
		for it.Key() != nil && bytes.Compare(it.Key(), key) < 0 {
			it.Next()
		}
		if it.Key() != nil && bytes.Equal(it.Key(), key) || !r.Live {
			return nil
		}
		if r.Changed.After(asOf) {
			v.res.Newer++ // created after the source's as-of time
			return nil
		}
		k, err := change.ParseKeyBytes(key)
		if err != nil {
			return err
		}
		v.res.ExtraInCopy++
		e := Entry{Key: k.String(), Status: "extra_in_copy", Causes: v.causes.extra(k.String(), r)}
		if v.res.UnreadableRows > 0 {
			// An unreadable source row may be this key: report, never delete.
			e.Causes = append(e.Causes, "not repaired: the source had unreadable rows, one of which may be this key")
			return v.report1(e)
		}
		c := &change.Change{Entity: v.opts.Entity, Key: k, Op: change.OpDelete, AsOf: asOf, EventTime: asOf}
		return v.drift(c, e)
	})
}

// report1 writes one entry of the report.
func (v *Verifier) report1(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := v.report.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// drift reports an entry and, with Repair, applies the source's side.
func (v *Verifier) drift(c *change.Change, e Entry) error {
	if err := v.report1(e); err != nil {
		return err
	}
	if !v.opts.Repair {
		return nil
	}
	rc := *c
	rc.Origin, rc.EventID, rc.EventType, rc.SourceSystem = change.OriginRepair, "", "", "repair"
	if v.txn == nil {
		v.txn = v.mat.Begin()
	}
	o, err := v.mat.Apply(v.txn, &rc)
	if err != nil {
		return err
	}
	if o == apply.Applied {
		v.res.Repaired++
	}
	if v.n++; v.n >= v.opts.BatchSize {
		return v.commit()
	}
	return nil
}

func (v *Verifier) commit() error {
	if v.txn == nil {
		return nil
	}
	err := v.txn.Commit()
	v.txn, v.n = nil, 0
	return err
}
