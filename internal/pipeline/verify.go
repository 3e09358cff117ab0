package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tidemark-dev/tidemark/internal/awsexport"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/source/export"
	"github.com/tidemark-dev/tidemark/internal/source/scan"
	"github.com/tidemark-dev/tidemark/internal/verify"
)

// Verify compares the state of an entity with a source of truth, writes the
// report, and with repair applies the source's image to the drifted keys.
// against is export:DIR, s3://bucket/prefix/ (a DynamoDB export) or scan (a
// parallel Scan of the table under the configured read budget).
func (p *Pipeline) Verify(ctx context.Context, entity, against string, repair bool, report io.Writer) (verify.Result, error) {
	ent, ok := p.cfg.EntityByName(entity)
	if !ok {
		return verify.Result{}, fmt.Errorf("unknown entity %q (see entities[].name in the config)", entity)
	}
	opts := verify.Options{Entity: ent.Name, HashAttr: ent.HashKey.Name, Report: report, Repair: repair,
		ScratchDir: filepath.Dir(p.cfg.StateDir), BatchSize: p.cfg.BatchSize}
	if ent.RangeKey != nil {
		opts.RangeAttr = ent.RangeKey.Name
	}
	opts.Ignore = append(opts.Ignore, ent.IgnoreFields...)
	if ent.Version != "" {
		opts.Ignore = append(opts.Ignore, ent.Version)
	}
	var src change.Source
	var label string
	var total int64
	if against == "scan" {
		opts.SourceAsOf = p.Now().UTC() // every page is read after this
		s, err := p.scanWhole(ctx, ent)
		if err != nil {
			return verify.Result{}, err
		}
		src, label = s, "a scan of "+ent.Table
	} else {
		s, m, err := p.readExportWhole(ctx, ent, against)
		if err != nil {
			return verify.Result{}, err
		}
		src, label, total = s, "export "+m.ID, m.Summary.ItemCount
		opts.SourceAsOf = m.Summary.AsOf()
	}
	defer src.Close()
	pr := p.progress()
	pr.Start(fmt.Sprintf("verify %s against %s", entity, label), total, "items")
	defer pr.Done()
	p.log.Info("phase verify", "entity", entity, "against", label, "repair", repair)
	res, err := verify.New(p.Store, p.mat, opts).Run(ctx, src)
	if err != nil {
		return res, fmt.Errorf("verifying %s against %s: %w", entity, label, err)
	}
	return res, nil
}

// readExportWhole reads an export (export:DIR or s3://...) whole.
func (p *Pipeline) readExportWhole(ctx context.Context, ent *config.Entity, against string) (change.Source, *export.Manifest, error) {
	dirPath, ok := strings.CutPrefix(against, "export:")
	if !ok && strings.HasPrefix(against, "s3://") {
		dirPath, ok = against, true
	}
	if !ok {
		return nil, nil, fmt.Errorf("--against %q: want export:DIR, s3://bucket/prefix/ or scan", against)
	}
	fsys, err := p.exportFS(ctx, dirPath)
	if err != nil {
		return nil, nil, err
	}
	dir, err := export.Find(fsys, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("verifying against %s: %w", dirPath, err)
	}
	m, err := export.ReadManifest(fsys, dir)
	if err != nil {
		return nil, nil, fmt.Errorf("verifying against %s: %w", dirPath, err)
	}
	if m.Summary.Incremental() {
		return nil, nil, fmt.Errorf("verifying against %s: an incremental export holds only the changed items; verify against a full export", dirPath)
	}
	t := export.Table{Entity: ent.Name, HashAttr: ent.HashKey.Name, VersionAttr: ent.Version}
	if ent.RangeKey != nil {
		t.RangeAttr = ent.RangeKey.Name
	}
	// The export is read whole: no position of the state applies to it.
	return export.NewSource(fsys, m, t, p.cfg.Workers, func(string) (int64, bool, error) { return 0, false, nil }), m, nil
}

// scanWhole scans the entity's table whole under the budget of its
// configured scan source.
func (p *Pipeline) scanWhole(ctx context.Context, ent *config.Entity) (change.Source, error) {
	var sc *config.ScanSource
	for i := range p.cfg.Sources.Scans {
		if p.cfg.Sources.Scans[i].Entity == ent.Name {
			sc = &p.cfg.Sources.Scans[i]
		}
	}
	if sc == nil {
		return nil, fmt.Errorf("--against scan: configure sources.scans for %s (its read budget) first", ent.Name)
	}
	api, err := awsexport.NewClient(ctx, p.cfg.AWS.Region, p.cfg.AWS.DynamoDBEndpoint)
	if err != nil {
		return nil, err
	}
	opts := scan.Options{Table: ent.Table, Entity: ent.Name, HashAttr: ent.HashKey.Name, VersionAttr: ent.Version,
		Segments: sc.Segments, Consistent: sc.Consistent, BudgetRCU: sc.BudgetRCU, BudgetFraction: sc.BudgetFraction, Limit: sc.PageLimit}
	if ent.RangeKey != nil {
		opts.RangeAttr = ent.RangeKey.Name
	}
	return scan.New(ctx, api, opts, func(string) (int64, []byte, bool, error) { return 0, nil, false, nil })
}
