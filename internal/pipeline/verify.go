package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tidemark-dev/tidemark/internal/source/export"
	"github.com/tidemark-dev/tidemark/internal/verify"
)

// Verify compares the state of an entity with a source of truth, writes the
// report, and with repair applies the source's image to the drifted keys.
// against is export:DIR (a DynamoDB export folder).
func (p *Pipeline) Verify(ctx context.Context, entity, against string, repair bool, report io.Writer) (verify.Result, error) {
	ent, ok := p.cfg.EntityByName(entity)
	if !ok {
		return verify.Result{}, fmt.Errorf("unknown entity %q (see entities[].name in the config)", entity)
	}
	dirPath, ok := strings.CutPrefix(against, "export:")
	if !ok && strings.HasPrefix(against, "s3://") {
		dirPath, ok = against, true
	}
	if !ok {
		return verify.Result{}, fmt.Errorf("--against %q: want export:DIR or s3://bucket/prefix/ (scan comes with the live-AWS scan source)", against)
	}
	fsys, err := p.exportFS(ctx, dirPath)
	if err != nil {
		return verify.Result{}, err
	}
	dir, err := export.Find(fsys, ".")
	if err != nil {
		return verify.Result{}, fmt.Errorf("verifying against %s: %w", dirPath, err)
	}
	m, err := export.ReadManifest(fsys, dir)
	if err != nil {
		return verify.Result{}, fmt.Errorf("verifying against %s: %w", dirPath, err)
	}
	if m.Summary.Incremental() {
		return verify.Result{}, fmt.Errorf("verifying against %s: an incremental export holds only the changed items; verify against a full export", dirPath)
	}
	t := export.Table{Entity: ent.Name, HashAttr: ent.HashKey.Name, VersionAttr: ent.Version}
	opts := verify.Options{Entity: ent.Name, HashAttr: ent.HashKey.Name, Report: report, Repair: repair,
		ScratchDir: filepath.Dir(p.cfg.StateDir), BatchSize: p.cfg.BatchSize}
	if ent.RangeKey != nil {
		t.RangeAttr, opts.RangeAttr = ent.RangeKey.Name, ent.RangeKey.Name
	}
	opts.Ignore = append(opts.Ignore, ent.IgnoreFields...)
	if ent.Version != "" {
		opts.Ignore = append(opts.Ignore, ent.Version)
	}
	// The export is read whole: no position of the state applies to it.
	src := export.NewSource(fsys, m, t, p.cfg.Workers, func(string) (int64, bool, error) { return 0, false, nil })
	defer src.Close()
	pr := p.progress()
	pr.Start(fmt.Sprintf("verify %s against export %s", entity, m.ID), m.Summary.ItemCount, "items")
	defer pr.Done()
	p.log.Info("phase verify", "entity", entity, "export", m.ID, "as_of", m.Summary.AsOf(), "repair", repair)
	res, err := verify.New(p.Store, p.mat, opts).Run(ctx, src)
	if err != nil {
		return res, fmt.Errorf("verifying %s against export %s: %w", entity, m.ID, err)
	}
	return res, nil
}
