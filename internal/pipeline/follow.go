package pipeline

import (
	"context"
	"fmt"
	"os"

	"github.com/tidemark-dev/tidemark/internal/change"
	filesrc "github.com/tidemark-dev/tidemark/internal/source/file"
)

// Follow applies the configured events files from their committed positions.
func (p *Pipeline) Follow(ctx context.Context) error {
	if err := p.checkBootstrapped(); err != nil {
		return err
	}
	for _, src := range p.cfg.Sources.Events {
		files, err := filesrc.Glob(src.Path, p.base)
		if err != nil {
			p.log.Warn("no events to read", "path", src.Path, "reason", err)
			continue
		}
		var total int64
		for _, f := range files {
			fi, err := os.Stat(f.Path)
			if err != nil {
				return fmt.Errorf("events file: %w", err)
			}
			off, _, err := p.Store.Position(f.ID)
			if err != nil {
				return fmt.Errorf("reading position of %s: %w", f.Path, err)
			}
			total += max(fi.Size()-off, 0)
		}
		fs := filesrc.NewSource(files, p.mapper, p.cfg.MaxMessageBytes, p.Store.Position)
		p.log.Info("phase follow", "path", src.Path, "files", len(files), "bytes_left", total)
		pr := p.progress()
		pr.Start("events "+src.Path, total, "bytes")
		fs.Progress = pr.Add
		fs.Warn = func(msg string, args ...any) { p.log.Warn(msg, args...) }
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
