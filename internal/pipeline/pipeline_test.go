package pipeline

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/gen"
)

// dataset generates a small export and events and returns their config.
func dataset(t *testing.T) (config.Config, string) {
	t.Helper()
	return datasetOf(t, 150, 300)
}

// datasetOf generates an export of tenures and about events events, with 3
// bad lines, and returns their config.
func datasetOf(t *testing.T, tenures, events int) (config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := gen.Generate(context.Background(), gen.Options{Dir: dir, Tenures: tenures, Events: events, Seed: 4, BadLines: 3}); err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultConfig()
	cfg.Entities = []config.Entity{{Name: "tenure", Table: "TenureInformation", HashKey: config.KeyAttr{Name: "id", Format: "uuid"},
		Version: "versionNumber", Events: map[string]string{"TenureCreatedEvent": "create", "TenureUpdatedEvent": "patch",
			"PersonAddedToTenureEvent": "patch", "PersonRemovedFromTenureEvent": "patch"}}}
	cfg.Sources.Exports = []config.ExportSource{{Entity: "tenure", Path: "export"}}
	cfg.Sources.Events = []config.EventsSource{{Path: "events/*.jsonl"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Resolve(dir)
	return cfg, dir
}

func open(t *testing.T, cfg config.Config, dir string, now time.Time) *Pipeline {
	t.Helper()
	p, err := Open(cfg, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p.Now = func() time.Time { return now }
	t.Cleanup(func() { p.Close() })
	return p
}

func TestRunThenNothingNew(t *testing.T) {
	cfg, dir := dataset(t)
	day := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	p := open(t, cfg, dir, day)
	sum, err := p.Run(context.Background(), FollowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Items != 150 || sum.EventsApplied == 0 || sum.DeadLetters != 3 || sum.FilesWritten != 2 || sum.RowsPublished == 0 {
		t.Fatalf("first run: %+v", sum)
	}
	p.Close()

	p = open(t, cfg, dir, day.Add(time.Hour))
	sum, err = p.Run(context.Background(), FollowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Items != 0 || sum.EventsApplied != 0 || sum.DeadLetters != 0 || sum.FilesWritten != 0 {
		t.Fatalf("second run the same day: %+v, want nothing", sum)
	}
	p.Close()

	// The next day publishes the day's partition again, with no change.
	p = open(t, cfg, dir, day.Add(24*time.Hour))
	res, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 2 || len(res.Skipped) != 0 {
		t.Fatalf("next day: %+v, want both tables published", res)
	}
	for _, d := range []string{"20261125", "20261126"} {
		parts, _ := filepath.Glob(filepath.Join(cfg.Lake.Dir, "tenure", "current", "*", "*", "*", "import_date="+d, "part-*.parquet"))
		if len(parts) != 1 {
			t.Errorf("day %s: %d current parts, want 1", d, len(parts))
		}
	}
}

func TestPublishFollowsSettings(t *testing.T) {
	cfg, dir := dataset(t)
	day := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	p := open(t, cfg, dir, day)
	if _, err := p.Run(context.Background(), FollowOptions{}); err != nil {
		t.Fatal(err)
	}
	p.Close()

	// History switched off: each table is judged on its own, and the
	// current one is already published.
	off := false
	cfg.Lake.History = &off
	p = open(t, cfg, dir, day)
	res, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 0 || len(res.Skipped) != 1 {
		t.Fatalf("history off: %+v, want nothing written (the current table is as published)", res)
	}
	p.Close()

	// Another lake folder: published there.
	cfg.Lake.Dir = filepath.Join(dir, "lake2")
	p = open(t, cfg, dir, day)
	if res, err = p.Publish(context.Background()); err != nil || res.Files != 1 {
		t.Fatalf("new lake folder: %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Lake.Dir, "tenure", "current")); err != nil {
		t.Fatal(err)
	}
	if res, err = p.Publish(context.Background()); err != nil || res.Files != 0 || len(res.Skipped) != 1 {
		t.Fatalf("again: %+v, %v; want skipped", res, err)
	}
}

// TestBootstrapCompactsFreshLoad: a first bootstrap ends by merging its
// records into the bottom level of the store (state/bulk.go), leaving none
// in level 0, and a second one (nothing new) compacts nothing.
func TestBootstrapCompactsFreshLoad(t *testing.T) {
	cfg, dir := datasetOf(t, 2000, 0)
	var logs bytes.Buffer
	p, err := Open(cfg, dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	levels := p.Store.LevelTables()
	if levels[0] != 0 || levels[len(levels)-1] == 0 {
		t.Fatalf("after a first bootstrap the store's levels hold %v tables; want none in level 0, some in the bottom one", levels)
	}
	if n := strings.Count(logs.String(), "state store compacted"); n != 1 {
		t.Fatalf("a first bootstrap compacted the store %d times, want once; log:\n%s", n, logs.String())
	}
	logs.Reset()
	if err := p.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "state store compacted") {
		t.Fatalf("a bootstrap with nothing to load compacted the store; log:\n%s", logs.String())
	}
}
