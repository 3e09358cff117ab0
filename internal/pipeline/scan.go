package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tidemark-dev/tidemark/internal/awsexport"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/source/scan"
)

// bootstrapScan loads an entity with a parallel Scan of its table. The
// scan's start time is the entity's snapshot time (kept across restarts):
// each row's own as-of time is the moment its page was read.
func (p *Pipeline) bootstrapScan(ctx context.Context, src config.ScanSource) (err error) {
	ent, _ := p.cfg.EntityByName(src.Entity)
	doneKey := "bootscan/" + ent.Name + "/" + ent.Table
	if _, done, err := p.Store.Meta(doneKey); err != nil || done {
		return err
	}
	api, err := awsexport.NewClient(ctx, p.cfg.AWS.Region, p.cfg.AWS.DynamoDBEndpoint)
	if err != nil {
		return err
	}
	opts := scan.Options{Table: ent.Table, Entity: ent.Name, HashAttr: ent.HashKey.Name, VersionAttr: ent.Version,
		Segments: src.Segments, Consistent: src.Consistent, BudgetRCU: src.BudgetRCU, BudgetFraction: src.BudgetFraction,
		Limit: src.PageLimit}
	// A resumed scan keeps the segment count it started with (the default
	// follows the table's size, which DynamoDB refreshes every few hours).
	segKey := "scansegments/" + ent.Name + "/" + ent.Table
	if v, ok, err := p.Store.Meta(segKey); err != nil {
		return err
	} else if ok {
		if n, err := strconv.Atoi(string(v)); err == nil && n > 0 {
			opts.Segments = n
		}
	}
	if ent.RangeKey != nil {
		opts.RangeAttr = ent.RangeKey.Name
	}
	s, err := scan.New(ctx, api, opts, p.Store.PositionToken)
	if err != nil {
		return fmt.Errorf("bootstrapping %s: %w", ent.Name, err)
	}
	defer s.Close()
	startKey := "scanstart/" + ent.Name + "/" + ent.Table
	started := p.Now().UTC()
	if v, ok, err := p.Store.Meta(startKey); err != nil {
		return err
	} else if ok {
		if err := started.UnmarshalText(v); err != nil {
			return fmt.Errorf("reading %s: %w", startKey, err)
		}
	}
	txn := p.mat.Begin()
	b, _ := started.MarshalText()
	for _, err := range []error{p.mat.SetSnapshotAsOf(txn, ent.Name, started), txn.SetMeta(startKey, b),
		txn.SetMeta(segKey, []byte(strconv.Itoa(s.Stats().Segments))),
		txn.SetMeta("booting/"+ent.Name, []byte("scan of "+ent.Table))} {
		if err != nil {
			txn.Discard()
			return err
		}
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	// A scan returns items in hash order, as an export lists them: a first
	// one is a fresh load in bulk mode (state/bulk.go).
	fresh, err := p.Store.BeginFreshLoad(ent.Name, max(s.ItemCount(), 1))
	if err != nil {
		return fmt.Errorf("bootstrapping %s: %w", ent.Name, err)
	}
	if fresh {
		defer func() {
			s.Close() // the segments read positions from the store: they stop before it is reopened
			if eerr := p.Store.EndFreshLoad(ent.Name); eerr != nil {
				err = errors.Join(err, eerr)
			}
		}()
	}
	pub, records := p.startLoad(ent.Name, fresh, s)
	if pub != nil {
		defer pub.abort() // a no-op once committed
	}
	pr := p.progress()
	pr.Start(fmt.Sprintf("scan %s (%d segments)", ent.Table, s.Stats().Segments), 0, "items")
	p.log.Info("phase bootstrap", "entity", ent.Name, "scan", ent.Table, "segments", s.Stats().Segments, "budget_rcu", s.Stats().Budget)
	t0 := time.Now()
	figures := func() ScanFigures {
		st := s.Stats()
		el := max(time.Since(t0).Seconds(), 1e-9)
		return ScanFigures{Table: ent.Table, Items: st.Items, Pages: st.Pages, Segments: st.Segments,
			SegmentsDone: st.SegmentsDone, ItemsPerSec: float64(st.Items) / el, RCUConsumed: st.Consumed,
			RCUPerSec: st.Consumed / el, BudgetRCU: st.Budget, Throttles: st.Throttles}
	}
	stop := make(chan struct{})
	go func() { // progress in the log every 10 s
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				f := figures()
				p.log.Info("scan progress", "table", f.Table, "segments_done", f.SegmentsDone, "segments", f.Segments,
					"items", f.Items, "items_per_s", int(f.ItemsPerSec), "rcu_per_s", int(f.RCUPerSec), "budget_rcu", f.BudgetRCU,
					"throttles", f.Throttles)
			}
		}
	}()
	err = p.mat.Consume(ctx, records, p.cfg.BatchSize, func(n int) { pr.Add(int64(n)); p.committed() })
	close(stop)
	pr.Done()
	f := figures()
	p.scans = append(p.scans, f)
	p.log.Info("scan", "table", f.Table, "items", f.Items, "pages", f.Pages, "segments_done", f.SegmentsDone,
		"segments", f.Segments, "items_per_s", int(f.ItemsPerSec), "rcu_per_s", int(f.RCUPerSec), "budget_rcu", f.BudgetRCU,
		"throttles", f.Throttles)
	if err != nil {
		return fmt.Errorf("bootstrapping %s from a scan of %s: %w", ent.Name, ent.Table, err)
	}
	written, err := p.finishLoad(ctx, ent.Name, pub)
	if err != nil {
		return fmt.Errorf("bootstrapping %s from a scan of %s: %w", ent.Name, ent.Table, err)
	}
	txn = p.mat.Begin()
	if err := txn.SetMeta(doneKey, b); err != nil {
		txn.Discard()
		return err
	}
	if err := txn.DeleteMeta("booting/" + ent.Name); err != nil {
		txn.Discard()
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	return written.commit(ctx)
}
