package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidemark-dev/tidemark/internal/pipeline"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	verbose := fs.Bool("v", false, "log each step")
	noProgress := fs.Bool("no-progress", false, "no progress bars even on a terminal")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) to this file")
	resetStream := fs.String("reset-stream", "", "comma-separated entities whose DynamoDB streams are read from their oldest records, forgetting stored positions (after a re-bootstrap)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this address's /metrics, e.g. :9464 (counts, last commit, live sources' lag)")
	untilIdle := fs.Duration("until-idle", 0, "stop following live sources (SQS, Kafka, DynamoDB streams) once none had a message for this long, then publish; 0: follow until SIGINT/SIGTERM")
	publishEvery := fs.Duration("publish-every", 5*time.Minute, "while following live sources, publish what changed at this interval (0: only at the end)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: run takes no arguments, got %q (flags go before them?)", errUsage, fs.Args())
	}
	if *untilIdle < 0 || *publishEvery < 0 {
		return fmt.Errorf("%w: --until-idle and --publish-every take positive durations such as 30s", errUsage)
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
	if !*noProgress {
		p.Progress = newProgress(stderr)
	}
	if *resetStream != "" {
		if err := p.ResetStreams(strings.Split(*resetStream, ",")); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if *metricsAddr != "" {
		mctx, stop := context.WithCancel(context.Background())
		defer stop()
		addr, err := p.ServeMetrics(mctx, *metricsAddr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "metrics on http://%s/metrics\n", addr)
	}
	sum, err := p.Run(ctx, pipeline.FollowOptions{UntilIdle: *untilIdle, PublishEvery: *publishEvery})
	if err != nil {
		return err
	}
	return printSummary(stdout, sum, *asJSON)
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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := openPipeline(*cfgPath, stderr, *verbose, false)
	if err != nil {
		return err
	}
	defer p.Close()
	p.Progress = newProgress(stderr)
	if step == "snapshot" {
		if err := p.Bootstrap(ctx); err != nil {
			return err
		}
		st := p.Stats()
		fmt.Fprintf(stdout, "items loaded from exports\t%d\ndead letters\t%d\n", st.SnapshotRows, st.DeadLetters)
		return nil
	}
	res, err := p.Publish(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "files written\t%d\nrows published\t%d\nvalues kept in _leftovers\t%d\n", res.Files, res.Rows, res.Leftovers)
	return nil
}
