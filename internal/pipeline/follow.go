package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/source/ddbstream"
	filesrc "github.com/tidemark-dev/tidemark/internal/source/file"
)

// FollowOptions say how long to follow the live sources.
type FollowOptions struct {
	// UntilIdle ends following once no message arrived on any live source
	// for this long (0: follow until the context ends).
	UntilIdle time.Duration
	// PublishEvery publishes what changed at this interval while following
	// live sources (0: never while following).
	PublishEvery time.Duration
}

// Follow applies the configured events files from their committed
// positions, then follows the live sources (SQS, Kafka, DynamoDB streams)
// together until they are idle for opts.UntilIdle or ctx ends. A cancelled
// context ends gracefully: what was applied is committed and ctx's error is
// returned.
func (p *Pipeline) Follow(ctx context.Context, opts FollowOptions) error {
	if err := p.checkBootstrapped(); err != nil {
		return err
	}
	defer withGCPercent(applyGCPercent)()
	for _, src := range p.cfg.Sources.Events {
		if src.Live() {
			continue
		}
		if err := p.followFiles(ctx, src.Path); err != nil {
			return err
		}
	}
	return p.followLive(ctx, opts)
}

// HasLive reports whether the config has live event sources.
func (p *Pipeline) HasLive() bool {
	for _, s := range p.cfg.Sources.Events {
		if s.Live() {
			return true
		}
	}
	return false
}

func (p *Pipeline) followFiles(ctx context.Context, path string) error {
	files, err := filesrc.Glob(path, p.base)
	if err != nil {
		p.log.Warn("no events to read", "path", path, "reason", err)
		return nil
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
	p.log.Info("phase follow", "path", path, "files", len(files), "bytes_left", total)
	pr := p.progress()
	pr.Start("events "+path, total, "bytes")
	fs.Progress = pr.Add
	fs.Warn = func(msg string, args ...any) { p.log.Warn(msg, args...) }
	// Decoding runs a chunk ahead on another core, and the reads of the
	// state the events need on a goroutine of their own.
	s := change.ReadAhead(fs, 64, p.mat.Prefetch)
	err = p.mat.Consume(ctx, s, p.cfg.BatchSize, func(int) { p.committed() })
	pr.Done()
	s.Close()
	if err != nil {
		return fmt.Errorf("applying events from %s: %w", path, err)
	}
	return nil
}

// followLive follows every live source at once, publishing every
// opts.PublishEvery. When a DynamoDB stream whose on_lost is repair can no
// longer be resumed, the copy of its entity is verified against a scan of
// the table and repaired, and the stream is read again from its oldest
// record (the rules skip what the repair already holds).
func (p *Pipeline) followLive(ctx context.Context, opts FollowOptions) error {
	if !p.HasLive() {
		return nil
	}
	for repairs := 0; ; repairs++ {
		err := p.followLiveOnce(ctx, opts)
		var lost *streamLost
		if !errors.As(err, &lost) || lost.onLost != "repair" || repairs >= 3 {
			return err
		}
		if err := p.repairLostStream(ctx, lost); err != nil {
			return err
		}
	}
}

// repairLostStream verifies the entity against a scan, repairs it, and
// makes the next open read its stream from the oldest record.
func (p *Pipeline) repairLostStream(ctx context.Context, lost *streamLost) error {
	report := filepath.Join(filepath.Dir(p.cfg.StateDir), fmt.Sprintf("stream-repair-%s-%s.jsonl", lost.entity, p.Now().UTC().Format("20060102T150405Z")))
	p.log.Warn("stream can no longer be resumed; repairing the copy from a scan of the table, then reading the stream from its oldest record",
		"entity", lost.entity, "reason", lost.err, "report", report)
	f, err := os.Create(report)
	if err != nil {
		return fmt.Errorf("creating the repair report: %w", err)
	}
	res, err := p.Verify(ctx, lost.entity, "scan", true, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("repairing %s after its stream was lost: %w", lost.entity, err)
	}
	p.log.Warn("repaired the copy after the stream was lost", "entity", lost.entity, "repaired", res.Repaired, "report", report)
	if p.resetStreams == nil {
		p.resetStreams = map[string]bool{}
	}
	p.resetStreams[lost.entity] = true
	return nil
}

// streamLost is a DynamoDB stream error after which the stream cannot be
// resumed (ddbstream.ErrTrimmed or ErrStreamChanged).
type streamLost struct {
	entity, onLost string
	err            error
}

func (e *streamLost) Error() string {
	return fmt.Sprintf("%v\nto recover: load a new snapshot of %s (tidemark export start, then tidemark snapshot; or a scan), "+
		"then follow once with --reset-stream %s; or set on_lost: repair on its dynamodb_stream source", e.err, e.entity, e.entity)
}

func (e *streamLost) Unwrap() error { return e.err }

// lostErrors tags a stream source's unresumable errors with its entity.
type lostErrors struct {
	change.Source
	entity, onLost string
}

func (l lostErrors) Next(ctx context.Context) (change.Record, error) {
	r, err := l.Source.Next(ctx)
	if errors.Is(err, ddbstream.ErrTrimmed) || errors.Is(err, ddbstream.ErrStreamChanged) {
		err = &streamLost{entity: l.entity, onLost: l.onLost, err: err}
	}
	return r, err
}

func (p *Pipeline) followLiveOnce(ctx context.Context, opts FollowOptions) error {
	var srcs []change.Source
	closeAll := func() {
		for _, s := range srcs {
			s.Close()
		}
	}
	for i, src := range p.cfg.Sources.Events {
		if !src.Live() {
			continue
		}
		s, err := p.openLive(ctx, i, opts.UntilIdle)
		if err != nil {
			closeAll()
			var lost *streamLost
			if errors.As(err, &lost) {
				return err
			}
			return fmt.Errorf("sources.events[%d] (%s): %w", i, src.Describe(), err)
		}
		p.log.Info("phase follow", "source", src.Describe(), "until_idle", opts.UntilIdle)
		if l, ok := s.(Lagger); ok {
			p.addLagger(l)
		}
		srcs = append(srcs, s)
	}
	// The state the events need is read ahead, as for events files; a
	// poll's records end with a flush hint, so none waits for a full chunk.
	merged := change.ReadAhead(change.Merge(srcs...), 64, p.mat.Prefetch)
	defer merged.Close()
	pr := p.progress()
	pr.Start("live events", 0, "events")
	defer pr.Done()
	onCommit := func(n int) { pr.Add(int64(n)); p.committed() }
	for {
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if opts.PublishEvery > 0 {
			cctx, cancel = context.WithTimeout(ctx, opts.PublishEvery)
		}
		err := p.mat.Consume(cctx, merged, p.cfg.BatchSize, onCommit)
		cancel()
		var lost *streamLost
		switch {
		case err == nil:
			return nil // every live source has been idle for UntilIdle
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && opts.PublishEvery > 0:
			if _, err := p.Publish(ctx); err != nil {
				return err
			}
		case errors.As(err, &lost):
			return err
		default:
			return fmt.Errorf("following live events: %w", err)
		}
	}
}
