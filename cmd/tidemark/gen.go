package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tidemark-dev/tidemark/internal/gen"
)

func cmdGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen", stderr)
	out := fs.String("out", "", "output folder (created)")
	tenures := fs.Int("tenures", 2000, "tenures in the table at the snapshot")
	events := fs.Int("events", 5000, "valid events, about")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same bytes")
	files := fs.Int("files", 0, "export data files (0: about one per 100,000 items)")
	bad := fs.Int("bad-lines", 0, "bad lines mixed into the events file")
	truth := fs.Bool("truth", true, "also write truth.jsonl, expected.jsonl and inconsistencies.jsonl")
	exportTime := fs.String("export-time", "2026-11-01T02:00:00Z", "the snapshot's as-of time (RFC 3339)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	et, err := time.Parse(time.RFC3339, *exportTime)
	if err != nil {
		return fmt.Errorf("%w: --export-time: %v", errUsage, err)
	}
	start := time.Now()
	sum, err := gen.Generate(ctx, gen.Options{
		Dir: *out, Tenures: *tenures, Events: *events, Seed: *seed, Files: *files,
		ExportTime: et, BadLines: *bad, Truth: *truth,
	})
	if err != nil {
		return fmt.Errorf("generating: %w", err)
	}
	if err := writeExampleConfig(filepath.Join(*out, "tidemark.yaml")); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "generated in %s\n", time.Since(start).Round(time.Millisecond))
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}

// exampleConfig maps the generated tenure export and events.
const exampleConfig = `# tidemark config for a generated tenure export and events (tidemark gen).
state_dir: .tidemark/state
lake:
  dir: lake
clock_skew: 2s
entities:
  - name: tenure
    table: TenureInformation
    hash_key: {name: id, format: uuid}
    version: versionNumber
    events:
      TenureCreatedEvent: create
      TenureUpdatedEvent: patch
      PersonAddedToTenureEvent: patch
      PersonRemovedFromTenureEvent: patch
sources:
  exports:
    - entity: tenure
      path: export
  events:
    - path: events/*.jsonl
`

func writeExampleConfig(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil // keep a config the user edited
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.WriteFile(path, []byte(exampleConfig), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
