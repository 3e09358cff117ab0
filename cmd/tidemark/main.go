// Command tidemark keeps an analytics copy of DynamoDB-backed entities
// correct and current: bootstrap from an export, apply entity events, and
// publish Parquet to the lake. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/pipeline"
)

const usage = `tidemark keeps an analytics copy of DynamoDB entities correct and current.

Usage:
  tidemark run      --config FILE [--until-idle D] [--publish-every D]
                    bootstrap if needed, apply events, follow live sources, publish
  tidemark follow   --config FILE [--until-idle D]   apply events on a bootstrapped state;
                    live sources until SIGINT/SIGTERM (commits, exits 0) or idle for D
  tidemark snapshot --config FILE [--publish]   only load the configured exports not loaded yet;
                    --publish: then publish (a first load writes its current table as it loads)
  tidemark publish  --config FILE        only publish what changed
  tidemark show     --config FILE [--history] ENTITY KEY
  tidemark dlq list --config FILE [--json]
  tidemark dlq replay --config FILE [--reason TEXT]   decode again (after a config fix) and apply
  tidemark verify   --config FILE --entity E --against export:DIR|s3://B/P/|scan [--repair] [--report FILE]
                    exit 0: no drift, 1: drift found (or repaired), 2: error
  tidemark export start --table T --s3 s3://bucket/prefix/ [--at TIME | --from T1 --to T2]
  tidemark resync emit --config FILE --entity E --from export:DIR|s3://B/P/|scan
                    --to file:PATH|kafka://BROKERS/TOPIC|sqs://HOST/ACCOUNT/QUEUE
  tidemark gen      --out DIR [--tenures N] [--events N] [--seed N] [--bad-lines N]

Run 'tidemark COMMAND -h' for the flags of a command.
`

func main() {
	tuneMemory()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks errors whose hint is the command's usage.
var errUsage = errors.New("usage")

// errFlags marks a bad flag, already reported by the flag package.
var errFlags = fmt.Errorf("%w: bad flag", errUsage)

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signalContext()
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "follow":
		err = cmdFollow(ctx, args[1:], stdout, stderr)
	case "show":
		err = cmdShow(ctx, args[1:], stdout, stderr)
	case "dlq":
		err = cmdDLQ(ctx, args[1:], stdout, stderr)
	case "gen":
		err = cmdGen(ctx, args[1:], stdout, stderr)
	case "verify":
		err = cmdVerify(ctx, args[1:], stdout, stderr)
	case "export":
		err = cmdExport(ctx, args[1:], stdout, stderr)
	case "resync":
		err = cmdResync(ctx, args[1:], stdout, stderr)
	case "snapshot", "publish":
		err = cmdStep(ctx, args[0], args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "error: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var exit *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit) && errors.Is(err, errFlags):
		return exit.code
	case errors.As(err, &exit) && errors.Is(err, errDrift):
		fmt.Fprintln(stderr, err) // a finding, not an error
		return exit.code
	case errors.As(err, &exit):
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exit.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFlags):
		return 2 // the flag package has printed the error and the flags
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "interrupted: committed work is kept; run the same command again to continue")
		return 130
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	return 1
}

// signalContext is cancelled by the first SIGINT or SIGTERM; a second one
// exits at once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// openPipeline loads the config and opens the pipeline. Commands that only
// read (existing) refuse to create an empty state store.
func openPipeline(path string, stderr io.Writer, verbose, existing bool) (*pipeline.Pipeline, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: --config is required (e.g. --config examples/tenure/tidemark.yaml)", errUsage)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if existing {
		if _, err := os.Stat(cfg.StateDir); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no state store at %s (state_dir of %s): run 'tidemark run --config %s' first", cfg.StateDir, path, path)
		}
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return pipeline.Open(cfg, base, log)
}

// parseFlags parses a command's flags; -h is flag.ErrHelp, any other problem
// errFlags (exit 2), and arguments left over where the command takes none
// are an error too.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errFlags
	}
	return nil
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tidemark "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
