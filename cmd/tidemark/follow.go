package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/tidemark-dev/tidemark/internal/pipeline"
)

// cmdFollow applies events on a bootstrapped state: the events files from
// their positions, then the live sources until SIGINT/SIGTERM (graceful:
// the batch in flight is committed, exit 0) or --until-idle.
func cmdFollow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("follow", stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	verbose := fs.Bool("v", false, "log each step")
	noProgress := fs.Bool("no-progress", false, "no progress bars even on a terminal")
	untilIdle := fs.Duration("until-idle", 0, "stop once no live source had a message for this long; 0: follow until SIGINT/SIGTERM")
	publishEvery := fs.Duration("publish-every", 0, "publish what changed at this interval while following (0: never; run 'tidemark publish')")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) to this file")
	resetStream := fs.String("reset-stream", "", "comma-separated entities whose DynamoDB streams are read from their oldest records, forgetting stored positions (after a re-bootstrap)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this address's /metrics, e.g. :9464 (counts, last commit, live sources' lag)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: follow takes no arguments, got %q (flags go before them?)", errUsage, fs.Args())
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
	p, err := openPipeline(*cfgPath, stderr, *verbose, true)
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
	sum, err := p.FollowOnly(ctx, pipeline.FollowOptions{UntilIdle: *untilIdle, PublishEvery: *publishEvery})
	if err != nil {
		return err
	}
	return printSummary(stdout, sum, *asJSON)
}
