package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/source/export"
)

// Metadata keys of a bootstrap:
//   - boot/<entity>/<exportId>: the export is fully loaded;
//   - bootpath/<entity>/<path>: the export last fully loaded from a folder,
//     so that a run still works once the folder is cleaned away;
//   - booting/<entity>: a bootstrap started and has not finished; events of
//     the entity are not applied meanwhile (its snapshot time is set, and
//     events before it would be skipped as reflected).

// Bootstrap loads every configured export not loaded yet. An export counts
// as loaded once all its rows are committed; an interrupted one resumes
// after its last committed rows.
func (p *Pipeline) Bootstrap(ctx context.Context) error {
	for _, src := range p.cfg.Sources.Exports {
		if err := p.bootstrapOne(ctx, src); err != nil {
			return err
		}
	}
	for _, src := range p.cfg.Sources.Scans {
		if err := p.bootstrapScan(ctx, src); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pipeline) bootstrapOne(ctx context.Context, src config.ExportSource) (err error) {
	ent, _ := p.cfg.EntityByName(src.Entity)
	fsys, err := p.exportFS(ctx, src.Path)
	if err != nil {
		return fmt.Errorf("bootstrapping %s: %w", src.Entity, err)
	}
	dir, err := export.Find(fsys, ".")
	if err != nil {
		if _, statErr := fs.Stat(fsys, "."); errors.Is(statErr, fs.ErrNotExist) {
			if id, done, merr := p.Store.Meta("bootpath/" + src.Entity + "/" + src.Path); merr == nil && done {
				p.log.Warn("export folder is gone; the entity was bootstrapped from it already", "entity", src.Entity,
					"path", src.Path, "export", string(id))
				return nil
			}
		}
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
	t := export.Table{Entity: ent.Name, HashAttr: ent.HashKey.Name, VersionAttr: ent.Version}
	if ent.RangeKey != nil {
		t.RangeAttr = ent.RangeKey.Name
	}
	s := export.NewSource(fsys, m, t, p.cfg.Workers, p.Store.Position)
	defer s.Close()
	// Every data file still to read must match its md5 before the snapshot
	// time is recorded or a row is applied.
	if err := s.Check(ctx); err != nil {
		return fmt.Errorf("bootstrapping %s: %w", src.Entity, err)
	}
	txn := p.mat.Begin()
	if err := p.mat.SetSnapshotAsOf(txn, src.Entity, m.Summary.AsOf()); err != nil {
		txn.Discard()
		return err
	}
	if err := txn.SetMeta("booting/"+src.Entity, []byte(m.ID)); err != nil {
		txn.Discard()
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	var records change.Source = s
	var pub *loadPublisher
	if !m.Summary.Incremental() {
		// A first load need not look up keys it has not written.
		fresh, err := p.Store.BeginFreshLoad(src.Entity, m.Summary.ItemCount)
		if err != nil {
			return fmt.Errorf("bootstrapping %s: %w", src.Entity, err)
		}
		if fresh {
			defer func() {
				if eerr := p.Store.EndFreshLoad(src.Entity); eerr != nil {
					err = errors.Join(err, eerr)
				}
			}()
			if pub, records = p.startLoad(src.Entity, fresh, s); pub != nil {
				defer pub.abort() // a no-op once committed
			}
		}
	}
	pr := p.progress()
	pr.Start(fmt.Sprintf("bootstrap %s (export %s)", src.Entity, m.ID), m.Summary.ItemCount, "items")
	defer pr.Done()
	p.log.Info("phase bootstrap", "entity", src.Entity, "export", m.ID, "as_of", m.Summary.AsOf(), "incremental", m.Summary.Incremental(), "items", m.Summary.ItemCount)
	if err := p.mat.Consume(ctx, records, p.cfg.BatchSize, func(n int) { pr.Add(int64(n)) }); err != nil {
		return fmt.Errorf("bootstrapping %s from export %s: %w", src.Entity, m.ID, err)
	}
	// A fresh load's records are merged into the bottom level of the store
	// before the bootstrap is marked done (state/bulk.go), and its current
	// table written meanwhile when asked (loadpub.go).
	written, err := p.finishLoad(ctx, src.Entity, pub)
	if err != nil {
		return fmt.Errorf("bootstrapping %s from export %s: %w", src.Entity, m.ID, err)
	}
	txn = p.mat.Begin()
	for k, v := range map[string]string{doneKey: m.Summary.AsOf().String(), "bootpath/" + src.Entity + "/" + src.Path: m.ID} {
		if err := txn.SetMeta(k, []byte(v)); err != nil {
			txn.Discard()
			return err
		}
	}
	if err := txn.DeleteMeta("booting/" + src.Entity); err != nil {
		txn.Discard()
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	return written.commit(ctx)
}

// checkBootstrapped refuses to apply events to an entity whose bootstrap
// started and did not finish.
func (p *Pipeline) checkBootstrapped() error {
	for _, e := range p.cfg.Entities {
		id, running, err := p.Store.Meta("booting/" + e.Name)
		if err != nil {
			return err
		}
		if running {
			return fmt.Errorf("the bootstrap of %s from export %s did not finish: configure that export under "+
				"sources.exports and run again (it resumes where it stopped) before events are applied", e.Name, id)
		}
	}
	return nil
}
