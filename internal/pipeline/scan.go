package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/tidemark-dev/tidemark/internal/awsexport"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/source/scan"
)

// bootstrapScan loads an entity with a parallel Scan of its table. The
// scan's start time is the entity's snapshot time (kept across restarts):
// each row's own as-of time is the moment its page was read.
func (p *Pipeline) bootstrapScan(ctx context.Context, src config.ScanSource) error {
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
		txn.SetMeta("booting/"+ent.Name, []byte("scan of "+ent.Table))} {
		if err != nil {
			txn.Discard()
			return err
		}
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	pr := p.progress()
	pr.Start(fmt.Sprintf("scan %s (%d segments)", ent.Table, s.Stats().Segments), 0, "items")
	p.log.Info("phase bootstrap", "entity", ent.Name, "scan", ent.Table, "segments", s.Stats().Segments, "budget_rcu", s.Stats().Budget)
	t0 := time.Now()
	err = p.mat.Consume(ctx, s, p.cfg.BatchSize, func(n int) { pr.Add(int64(n)) })
	pr.Done()
	st := s.Stats()
	el := time.Since(t0).Seconds()
	p.log.Info("scan", "table", ent.Table, "items", st.Items, "pages", st.Pages, "segments_done", st.SegmentsDone,
		"segments", st.Segments, "items_per_s", float64(st.Items)/el, "rcu_per_s", st.Consumed/el, "budget_rcu", st.Budget,
		"throttles", st.Throttles)
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
	return txn.Commit()
}
