package pipeline

import (
	"context"
	"fmt"
	"os"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/config"

	"github.com/tidemark-dev/tidemark/internal/source/export"
	filesrc "github.com/tidemark-dev/tidemark/internal/source/file"
)

// Bootstrap loads every configured export not loaded yet. An export counts
// as loaded once all its rows are committed; an interrupted one resumes
// after its last committed rows.
func (p *Pipeline) Bootstrap(ctx context.Context) error {
	for _, src := range p.cfg.Sources.Exports {
		if err := p.bootstrapOne(ctx, src); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pipeline) bootstrapOne(ctx context.Context, src config.ExportSource) error {
	ent, _ := p.cfg.EntityByName(src.Entity)
	fsys := os.DirFS(src.Path)
	dir, err := export.Find(fsys, ".")
	if err != nil {
		return fmt.Errorf("bootstrapping %s from %s: %w", src.Entity, src.Path, err)
	}
	m, err := export.ReadManifest(fsys, dir)
	if err != nil {
		return fmt.Errorf("bootstrapping %s: %w", src.Entity, err)
	}
	doneKey := "boot/" + src.Entity + "/" + m.ID
	if _, done, err := p.Store.Meta(doneKey); err != nil || done {
		return err
	}
	txn := p.mat.Begin()
	if err := p.mat.SetSnapshotAsOf(txn, src.Entity, m.Summary.ExportTime); err != nil {
		txn.Discard()
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	t := export.Table{Entity: ent.Name, HashAttr: ent.HashKey.Name, VersionAttr: ent.Version}
	if ent.RangeKey != nil {
		t.RangeAttr = ent.RangeKey.Name
	}
	s := export.NewSource(fsys, m, t, p.cfg.Workers, p.Store.Position)
	defer s.Close()
	pr := p.progress()
	pr.Start(fmt.Sprintf("bootstrap %s (export %s)", src.Entity, m.ID), m.Summary.ItemCount, "items")
	defer pr.Done()
	p.log.Info("phase bootstrap", "entity", src.Entity, "export", m.ID, "export_time", m.Summary.ExportTime, "items", m.Summary.ItemCount)
	if err := p.mat.Consume(ctx, s, p.cfg.BatchSize, func(n int) { pr.Add(int64(n)) }); err != nil {
		return fmt.Errorf("bootstrapping %s from export %s: %w", src.Entity, m.ID, err)
	}
	return p.Store.SetMeta(doneKey, []byte(m.Summary.ExportTime.String()))
}

// Follow applies the configured events files from their committed positions.
func (p *Pipeline) Follow(ctx context.Context) error {
	for _, src := range p.cfg.Sources.Events {
		files, err := filesrc.Glob(src.Path, p.base)
		if err != nil {
			return err
		}
		var total int64
		for _, f := range files {
			if fi, err := os.Stat(f.Path); err == nil {
				off, _, _ := p.Store.Position(f.ID)
				total += fi.Size() - off
			}
		}
		fs := filesrc.NewSource(files, p.mapper, p.cfg.MaxMessageBytes, p.Store.Position)
		p.log.Info("phase follow", "path", src.Path, "files", len(files), "bytes_left", total)
		pr := p.progress()
		pr.Start("events "+src.Path, total, "bytes")
		fs.Progress = pr.Add
		// Decoding runs a chunk ahead on another core.
		s := change.ReadAhead(fs, 64)
		err = p.mat.Consume(ctx, s, p.cfg.BatchSize, nil)
		pr.Done()
		s.Close()
		if err != nil {
			return fmt.Errorf("applying events from %s: %w", src.Path, err)
		}
	}
	return nil
}
