package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"text/tabwriter"
	"time"

	"github.com/tidemark-dev/tidemark/internal/pipeline"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	lf := addFollowFlags(fs, 5*time.Minute,
		"stop following live sources (SQS, Kafka, DynamoDB streams) once none had a message for this long, then publish; 0: follow until SIGINT/SIGTERM",
		"while following live sources, publish what changed at this interval (0: only at the end)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, stop, err := lf.open(fs, "run", stderr, false)
	if err != nil {
		return err
	}
	defer stop()
	sum, err := p.Run(ctx, lf.options())
	if err != nil {
		return err
	}
	return printSummary(stdout, sum, *lf.asJSON)
}

// printSummary prints what a run or a follow did, as a table or as JSON.
func printSummary(stdout io.Writer, sum pipeline.Summary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	rows := []struct {
		k string
		v any
	}{
		{"items loaded from exports", sum.Items},
		{"events applied", sum.EventsApplied},
		{"already-reflected events skipped", sum.Reflected},
		{"duplicate events skipped", sum.Duplicates},
		{"redelivered messages skipped", sum.Redelivered},
		{"stale changes skipped", sum.Stale},
		{"changes that changed nothing", sum.Unchanged},
		{"inconsistencies recorded", sum.Inconsistencies},
		{"patches for deleted entities (recorded, not applied)", sum.Orphans},
		{"dead letters", sum.DeadLetters},
		{"files written", sum.FilesWritten},
		{"rows published", sum.RowsPublished},
		{"values kept in _leftovers", sum.Leftovers},
		{"re-syncs complete / incomplete", fmt.Sprintf("%d / %d", sum.ResyncsComplete, sum.ResyncsIncomplete)},
		{"entities absent at the source (re-sync)", sum.AbsentAtSource},
		{"elapsed", sum.Elapsed.Round(time.Millisecond)},
	}
	if sum.Interrupted {
		rows = append(rows, struct {
			k string
			v any
		}{"stopped by a signal", "the events in flight were committed"})
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%v\n", r.k, r.v)
	}
	for _, sc := range sum.Scans {
		fmt.Fprintf(w, "scan of %s\t%d items, %d/%d segments, %.0f items/s, %.0f RCU/s of a %.0f RCU/s budget, %d throttles\n",
			sc.Table, sc.Items, sc.SegmentsDone, sc.Segments, sc.ItemsPerSec, sc.RCUPerSec, sc.BudgetRCU, sc.Throttles)
	}
	return w.Flush()
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// cmdStep runs one step of run: snapshot (the exports) or publish.
func cmdStep(ctx context.Context, step string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(step, stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	verbose := fs.Bool("v", false, "log each step")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) to this file")
	var publish *bool
	if step == "snapshot" {
		publish = fs.Bool("publish", false, "then publish; a first load of an entity writes its current table while it loads")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	p, err := openPipeline(*cfgPath, stderr, *verbose, false)
	if err != nil {
		return err
	}
	defer p.Close()
	p.Progress = newProgress(stderr)
	var res pipeline.PublishResult
	if step == "snapshot" {
		p.PublishOnLoad = *publish
		if err := p.Bootstrap(ctx); err != nil {
			return err
		}
		st := p.Stats()
		fmt.Fprintf(stdout, "items loaded from exports\t%d\ndead letters\t%d\n", st.SnapshotRows, st.DeadLetters)
		if !*publish {
			return nil
		}
		res = p.LoadPublished()
	}
	more, err := p.Publish(ctx)
	if err != nil {
		return err
	}
	res.Files, res.Rows, res.Leftovers = res.Files+more.Files, res.Rows+more.Rows, res.Leftovers+more.Leftovers
	fmt.Fprintf(stdout, "files written\t%d\nrows published\t%d\nvalues kept in _leftovers\t%d\n", res.Files, res.Rows, res.Leftovers)
	return nil
}
