package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/sink/lake"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// A first bootstrap of an entity (a fresh load, state/fresh.go) can write
// the entity's current table as it goes, instead of a publish reading the
// whole store twice afterwards: the statistics of the schema are gathered
// from the export's rows as they are applied, and the merge that ends the
// load writes the table's rows in key order on every core, beside the
// store's bottom-level tables (state.RecordVisitor). The table is committed
// to the lake once the bootstrap is done, with its publish mark, so that
// the next publish skips it while nothing changes. Pipeline.PublishOnLoad
// turns it on (`tidemark snapshot --publish`). The statistics count every
// row applied, so they are the publish's own unless a key comes twice in
// the load: the schema may then also fit the image the second one replaced
// (a column more, or a wider type), and no value is lost either way.

// loadPublisher gathers the statistics of a fresh load's rows, then writes
// its current table while the store merges the load.
type loadPublisher struct {
	p      *Pipeline
	entity string
	now    time.Time
	stats  *lake.Stats
	row    lake.Row // the statistics' scratch row
	err    error    // a row the statistics could not read: no table
	w      *lake.Writer
	mu     sync.Mutex
	parts  []*loadPart // by merge part
}

type loadPart struct {
	seg *lake.Segment
	row lake.Row
}

func (p *Pipeline) newLoadPublisher(entity string) *loadPublisher {
	return &loadPublisher{p: p, entity: entity, now: p.Now().UTC(), stats: lake.NewStats(lake.Current)}
}

// source passes the records of s on, gathering the statistics of their
// images.
func (l *loadPublisher) source(s change.Source) change.Source { return &statsSource{Source: s, l: l} }

type statsSource struct {
	change.Source
	l *loadPublisher
}

func (s *statsSource) Next(ctx context.Context) (change.Record, error) {
	rec, err := s.Source.Next(ctx)
	if l := s.l; err == nil && rec.Change != nil && l.err == nil {
		c := rec.Change
		l.row = lake.Row{Version: c.Version, EventTime: c.EventTime, Image: c.Image, ImageBin: c.ImageBin}
		if c.Op != change.OpDelete {
			l.err = l.stats.Add(&l.row)
		}
	}
	return rec, err
}

// visitor returns the merge's visitor, writing the table, or nil when the
// table cannot be written this way (the publish that follows writes it).
func (l *loadPublisher) visitor() state.RecordVisitor {
	if l.err != nil {
		l.p.log.Warn("the current table is left to the next publish", "entity", l.entity, "reason", l.err)
		return nil
	}
	w, err := lake.NewWriter(l.p.lakeOptions(l.entity, lake.Current, l.now), l.stats)
	if err != nil {
		l.p.log.Warn("the current table is left to the next publish", "entity", l.entity, "reason", err)
		return nil
	}
	l.w = w
	return l
}

// Record writes a live record of a merge part to that part's segment.
func (l *loadPublisher) Record(part int, key []byte, r *state.Record, img []byte) error {
	if !r.Live {
		return nil
	}
	lp, err := l.part(part)
	if err != nil {
		return err
	}
	if err := fillRow(&lp.row, key, r, img); err != nil {
		return err
	}
	return lp.seg.Write(&lp.row)
}

func (l *loadPublisher) part(i int) (*loadPart, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.parts) <= i {
		l.parts = append(l.parts, nil)
	}
	if l.parts[i] == nil {
		seg, err := l.w.Segment(i)
		if err != nil {
			return nil, err
		}
		l.parts[i] = &loadPart{seg: seg}
	}
	return l.parts[i], nil
}

// abort drops what was written.
func (l *loadPublisher) abort() {
	if l.w != nil {
		l.w.Abort()
		l.w = nil
	}
}

// commit puts the table in the lake and marks it published at the state's
// generation; on a nil publisher (no table written) it does nothing.
func (l *loadPublisher) commit(ctx context.Context) error {
	if l == nil {
		return nil
	}
	res, err := l.w.Commit(ctx)
	l.w = nil
	if err != nil {
		return fmt.Errorf("publishing the current table of %s: %w", l.entity, err)
	}
	gen, err := l.p.Store.Generation(l.entity)
	if err != nil {
		return err
	}
	if err := l.p.setPublished(l.entity, lake.Current, l.p.publishMark(gen, l.now)); err != nil {
		return fmt.Errorf("marking the current table of %s published: %w", l.entity, err)
	}
	l.p.log.Info("published", "entity", l.entity, "table", lake.Current, "rows", res.Rows, "files", len(res.Files),
		"leftovers", res.Leftovers, "while", "loading")
	l.p.loadPub.add(res)
	return nil
}

// LoadPublished says what the bootstraps of this pipeline published as they
// loaded (PublishOnLoad).
func (p *Pipeline) LoadPublished() PublishResult { return p.loadPub }

// startLoad returns the records a fresh load of entity applies from s and,
// with PublishOnLoad, the publisher gathering their statistics (nil when
// the load is not fresh or the table is not written as it loads).
func (p *Pipeline) startLoad(entity string, fresh bool, s change.Source) (*loadPublisher, change.Source) {
	if !fresh || !p.PublishOnLoad {
		return nil, s
	}
	pub := p.newLoadPublisher(entity)
	return pub, pub.source(s)
}

// finishLoad ends a completed fresh load, merging the store; with a
// publisher, the merge writes the current table, and finishLoad returns
// the publisher when it did (its commit then puts the table in the lake),
// else nil.
func (p *Pipeline) finishLoad(ctx context.Context, entity string, pub *loadPublisher) (*loadPublisher, error) {
	var visit state.RecordVisitor
	if pub != nil {
		visit = pub.visitor()
		// The merge then holds a Parquet writer per core beside the
		// store's iterators and the block cache: at 5M tenures its live
		// heap is about 125 MiB, and at the default target the peak RSS
		// passed 300 MiB.
		defer withGCPercent(loadPublishGCPercent)()
	}
	wrote, err := p.Store.FinishFreshLoadVisit(ctx, entity, visit)
	if err != nil || !wrote {
		return nil, err
	}
	return pub, nil
}
