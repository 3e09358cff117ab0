// Package pipeline wires the configured sources, the materializer, the state
// store and the lake into tidemark's jobs: bootstrap, follow, publish, run.
// It is the one visible place where components are built from config.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/event"
	"github.com/tidemark-dev/tidemark/internal/source/s3fs"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// Pipeline holds the open store and the components built from config.
type Pipeline struct {
	cfg    config.Config
	base   string // the config file's folder: event file ids are relative to it
	Store  *state.Store
	mat    *apply.Materializer
	mapper *event.Mapper
	log    *slog.Logger
	// Progress reports long work; nil reports nothing.
	Progress Progress
	// Now is the wall clock (ingestion and publish times).
	Now func() time.Time
	// PublishOnLoad makes a first bootstrap of an entity write its current
	// table as it loads (loadpub.go).
	PublishOnLoad bool
	loadPub       PublishResult // what PublishOnLoad wrote
	s3            s3fs.API      // made on first use of an s3:// source
	scans         []ScanFigures
	absent        int64 // entities a complete re-sync found absent
	gauges        gauges
	// resetStreams names the entities whose DynamoDB streams are read from
	// their oldest records on this run (after a re-bootstrap).
	resetStreams map[string]bool
}

// Progress receives progress of long work.
type Progress interface {
	Start(label string, total int64, unit string)
	Add(n int64)
	Done()
}

// Open opens the state store and builds the components.
func Open(cfg config.Config, base string, log *slog.Logger) (*Pipeline, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	mapper, err := event.NewMapper(cfg.Entities)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.StateDir), 0o755); err != nil {
		return nil, fmt.Errorf("creating state folder: %w", err)
	}
	store, err := state.Open(cfg.StateDir, state.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	p := &Pipeline{cfg: cfg, base: base, Store: store, mapper: mapper, log: log, Now: time.Now}
	ents := map[string]apply.Entity{}
	for _, e := range cfg.Entities {
		ae := apply.Entity{HashAttr: e.HashKey.Name}
		if e.RangeKey != nil {
			ae.RangeAttr = e.RangeKey.Name
		}
		ents[e.Name] = ae
	}
	p.mat = apply.New(store, ents, apply.Options{ClockSkew: cfg.ClockSkew, Now: func() time.Time { return p.Now() }})
	return p, nil
}

// Close closes the store.
func (p *Pipeline) Close() error { return p.Store.Close() }

// Stats returns the materializer's counts so far.
func (p *Pipeline) Stats() apply.Stats { return p.mat.Stats }

func (p *Pipeline) progress() Progress {
	if p.Progress == nil {
		return nopProgress{}
	}
	return p.Progress
}

type nopProgress struct{}

func (nopProgress) Start(string, int64, string) {}
func (nopProgress) Add(int64)                   {}
func (nopProgress) Done()                       {}

// Summary is what a run did.
type Summary struct {
	Items           int64         `json:"items"`
	EventsApplied   int64         `json:"events_applied"`
	Reflected       int64         `json:"already_reflected_skipped"`
	Duplicates      int64         `json:"duplicates_skipped"`
	Redelivered     int64         `json:"redelivered_messages_skipped"`
	Stale           int64         `json:"stale_skipped"`
	Unchanged       int64         `json:"unchanged"`
	Orphans         int64         `json:"orphans"`
	Inconsistencies int64         `json:"inconsistencies"`
	DeadLetters     int64         `json:"dead_letters"`
	FilesWritten    int           `json:"files_written"`
	RowsPublished   int64         `json:"rows_published"`
	Leftovers       int64         `json:"leftovers"`
	Elapsed         time.Duration `json:"elapsed_ns"`
	// Scans has the figures of each table scan of this run.
	Scans []ScanFigures `json:"scans,omitempty"`
	// Re-syncs: complete and incomplete ones, and the entities the
	// complete ones found absent at the source.
	ResyncsComplete   int64    `json:"resyncs_complete"`
	ResyncsIncomplete int64    `json:"resyncs_incomplete"`
	AbsentAtSource    int64    `json:"absent_at_source"`
	Notes             []string `json:"notes,omitempty"`
	// Interrupted is set when a signal ended the live stream (gracefully).
	Interrupted bool `json:"interrupted,omitempty"`
}

// ScanFigures are a scan's metrics: what it read and the capacity it used
// against its budget.
type ScanFigures struct {
	Table        string  `json:"table"`
	Items        int64   `json:"items"`
	Pages        int64   `json:"pages"`
	Segments     int     `json:"segments"`
	SegmentsDone int     `json:"segments_done"`
	ItemsPerSec  float64 `json:"items_per_s"`
	RCUConsumed  float64 `json:"rcu_consumed"`
	RCUPerSec    float64 `json:"rcu_per_s"`
	BudgetRCU    float64 `json:"budget_rcu"`
	Throttles    int64   `json:"throttles"`
}

// Run bootstraps what is not bootstrapped yet, applies the events files,
// follows the live sources (until they are idle for opts.UntilIdle, or
// until ctx ends), and publishes what changed. When ctx ends while live
// sources are followed, what was applied is committed and published before
// Run returns; Summary.Interrupted says so.
func (p *Pipeline) Run(ctx context.Context, opts FollowOptions) (Summary, error) {
	start := time.Now()
	var sum Summary
	if err := p.Bootstrap(ctx); err != nil {
		return sum, err
	}
	interrupted := false
	if err := p.Follow(ctx, opts); err != nil {
		if !p.HasLive() || ctx.Err() == nil {
			return sum, err
		}
		// A signal ended the live stream: the applied events are
		// committed; publish them before stopping.
		interrupted = true
		p.log.Info("stopping: committed the events in flight; publishing before exit")
		ctx = context.WithoutCancel(ctx)
	}
	if err := p.Sweeps(ctx); err != nil {
		return sum, err
	}
	for _, n := range p.mat.Notes {
		p.log.Warn(n)
	}
	pub, err := p.Publish(ctx)
	if err != nil {
		return sum, err
	}
	sum = p.summary(start)
	sum.FilesWritten, sum.RowsPublished, sum.Leftovers = pub.Files, pub.Rows, pub.Leftovers
	sum.Interrupted = interrupted
	return sum, nil
}

// summary is what the materializer counted since start.
func (p *Pipeline) summary(start time.Time) Summary {
	st := p.mat.Stats
	return Summary{
		Items: st.SnapshotRows, EventsApplied: st.EventsApplied, Reflected: st.Reflected,
		Duplicates: st.Duplicates, Redelivered: st.Redelivered, Stale: st.Stale, Unchanged: st.Unchanged, Orphans: st.Orphans,
		Inconsistencies: st.Inconsistencies, DeadLetters: st.DeadLetters,
		Elapsed: time.Since(start), Scans: p.scans,
		ResyncsComplete: st.ResyncsComplete, ResyncsIncomplete: st.ResyncsIncomplete, AbsentAtSource: p.absent,
		Notes: p.mat.Notes,
	}
}

// FollowOnly applies events (files, then live sources) on a bootstrapped
// state, runs the re-sync sweeps, and returns what it did; it publishes
// only every opts.PublishEvery. A cancelled ctx ends it gracefully (what
// was applied is committed; Summary.Interrupted is set, the error nil).
func (p *Pipeline) FollowOnly(ctx context.Context, opts FollowOptions) (Summary, error) {
	start := time.Now()
	err := p.Follow(ctx, opts)
	interrupted := false
	if err != nil {
		if ctx.Err() == nil {
			return p.summary(start), err
		}
		interrupted = true
		ctx = context.WithoutCancel(ctx)
	}
	if err := p.Sweeps(ctx); err != nil {
		return p.summary(start), err
	}
	sum := p.summary(start)
	sum.Interrupted = interrupted
	return sum, nil
}

// Config returns the configuration the pipeline was built from.
func (p *Pipeline) Config() *config.Config { return &p.cfg }
