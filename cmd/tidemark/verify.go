package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
)

// exitError carries a command's own exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errDrift is returned (exit 1) when verify found drift.
var errDrift = errors.New("drift found")

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	entity := fs.String("entity", "", "the entity to verify, e.g. tenure")
	against := fs.String("against", "", "the source of truth: export:DIR, s3://bucket/prefix/ (a DynamoDB export) or scan (under the configured budget)")
	repair := fs.Bool("repair", false, "apply the source's image to exactly the drifted keys (history rows say repair)")
	report := fs.String("report", "", "the report file, JSON lines (default verify-ENTITY.jsonl beside the config)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) to this file")
	if err := parseFlags(fs, args); err != nil {
		return &exitError{2, err}
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return &exitError{2, err}
		}
		defer stop()
	}
	if *entity == "" || *against == "" {
		return &exitError{2, fmt.Errorf("%w: --entity and --against are required, e.g. --entity tenure --against export:/data/export", errUsage)}
	}
	p, err := openPipeline(*cfgPath, stderr, false, true)
	if err != nil {
		return &exitError{2, err}
	}
	defer p.Close()
	p.Progress = newProgress(stderr)
	path := *report
	if path == "" {
		path = filepath.Join(filepath.Dir(*cfgPath), "verify-"+*entity+".jsonl")
	}
	f, err := os.Create(path)
	if err != nil {
		return &exitError{2, fmt.Errorf("creating the report: %w", err)}
	}
	res, err := p.Verify(ctx, *entity, *against, *repair, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the report: %w", cerr)
	}
	if err != nil {
		return &exitError{2, err}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, r := range []struct {
			k string
			v int64
		}{{"matching", res.Matching}, {"missing in the copy", res.MissingInCopy}, {"extra in the copy", res.ExtraInCopy},
			{"differing", res.Differing}, {"changed in the copy after the source (not compared)", res.Newer},
			{"unreadable source rows", res.UnreadableRows}, {"repaired", res.Repaired}} {
			fmt.Fprintf(w, "%s\t%d\n", r.k, r.v)
		}
		fmt.Fprintf(w, "report\t%s\n", path)
		w.Flush()
	}
	if res.Drift() > 0 {
		return &exitError{1, fmt.Errorf("%w: %d keys (report: %s)", errDrift, res.Drift(), path)}
	}
	return nil
}
