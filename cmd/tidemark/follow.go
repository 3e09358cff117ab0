package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tidemark-dev/tidemark/internal/pipeline"
)

// cmdFollow applies events on a bootstrapped state: the events files from
// their positions, then the live sources until SIGINT/SIGTERM (graceful:
// the batch in flight is committed, exit 0) or --until-idle.
func cmdFollow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("follow", stderr)
	lf := addFollowFlags(fs, 0, "stop once no live source had a message for this long; 0: follow until SIGINT/SIGTERM",
		"publish what changed at this interval while following (0: never; run 'tidemark publish')")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, stop, err := lf.open(fs, "follow", stderr, true)
	if err != nil {
		return err
	}
	defer stop()
	sum, err := p.FollowOnly(ctx, lf.options())
	if err != nil {
		return err
	}
	return printSummary(stdout, sum, *lf.asJSON)
}

// followFlags are the flags run and follow share.
type followFlags struct {
	cfgPath, cpuProfile, resetStream, metricsAddr *string
	asJSON, verbose, noProgress                   *bool
	untilIdle, publishEvery                       *time.Duration
}

func addFollowFlags(fs *flag.FlagSet, publishEvery time.Duration, untilIdleHelp, publishHelp string) *followFlags {
	return &followFlags{
		cfgPath:      fs.String("config", "", "path of the tidemark YAML config"),
		asJSON:       fs.Bool("json", false, "print the summary as JSON"),
		verbose:      fs.Bool("v", false, "log each step"),
		noProgress:   fs.Bool("no-progress", false, "no progress bars even on a terminal"),
		cpuProfile:   fs.String("cpuprofile", "", "write a CPU profile (pprof) to this file"),
		untilIdle:    fs.Duration("until-idle", 0, untilIdleHelp),
		publishEvery: fs.Duration("publish-every", publishEvery, publishHelp),
		resetStream: fs.String("reset-stream", "", "comma-separated entities whose DynamoDB streams are read from their oldest "+
			"records, forgetting stored positions (after a re-bootstrap)"),
		metricsAddr: fs.String("metrics-addr", "", "serve Prometheus metrics on this address's /metrics, e.g. :9464 "+
			"(counts, last commit, live sources' lag)"),
	}
}

func (f *followFlags) options() pipeline.FollowOptions {
	return pipeline.FollowOptions{UntilIdle: *f.untilIdle, PublishEvery: *f.publishEvery}
}

// open checks the flags, starts the CPU profile, opens the pipeline and
// applies --reset-stream and --metrics-addr. stop undoes it all.
func (f *followFlags) open(fs *flag.FlagSet, cmd string, stderr io.Writer, existing bool) (p *pipeline.Pipeline, stop func(), err error) {
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("%w: %s takes no arguments, got %q (flags go before them?)", errUsage, cmd, fs.Args())
	}
	if *f.untilIdle < 0 || *f.publishEvery < 0 {
		return nil, nil, fmt.Errorf("%w: --until-idle and --publish-every take positive durations such as 30s", errUsage)
	}
	var stops []func()
	undo := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			undo()
		}
	}()
	if *f.cpuProfile != "" {
		s, err := startCPUProfile(*f.cpuProfile)
		if err != nil {
			return nil, nil, err
		}
		stops = append(stops, s)
	}
	p, err = openPipeline(*f.cfgPath, stderr, *f.verbose, existing)
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, func() { p.Close() })
	if !*f.noProgress {
		p.Progress = newProgress(stderr)
	}
	if *f.resetStream != "" {
		if err := p.ResetStreams(strings.Split(*f.resetStream, ",")); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if *f.metricsAddr != "" {
		mctx, cancel := context.WithCancel(context.Background())
		stops = append(stops, cancel)
		addr, err := p.ServeMetrics(mctx, *f.metricsAddr)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stderr, "metrics on http://%s/metrics\n", addr)
	}
	return p, undo, nil
}
