// Package gen generates a realistic synthetic source for tidemark: a
// DynamoDB full export of Hackney's TenureInformation table, the file of
// tenure events around it, and the ground truth, for any size and seed.
//
// It simulates the table over four hours centred on the export time. Most
// tenures exist before the window; writes then create tenures, update 1-3
// fields, add or remove household members (each with its Hackney event), and
// now and then the tenure-listener changes a field without any event. The
// export is the table at the export time; the events file runs from 30
// minutes before it to the end, in publish order, with SNS-wrapped lines,
// duplicates and bad lines mixed in. truth.jsonl is the table at the end;
// expected.jsonl is what the export plus the events alone give, and
// inconsistencies.jsonl lists the events whose oldData such a copy cannot
// match.
//
// Output is a pure function of Options: every random choice comes from a
// PCG seeded by the seed and the index of the tenure, write or line. Memory
// stays at a few bytes per tenure and per write: tenures are regenerated
// from their index and replayed from their chain of writes when written.
package gen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Options says what to generate.
type Options struct {
	Dir        string    // output folder
	Tenures    int       // number of tenures in the table at the snapshot
	Events     int       // approximate number of valid events in the file (0 = none)
	Seed       int64     // same options and seed give byte-identical output
	Files      int       // export data files (default: one per 100,000 items, at least 2)
	ExportTime time.Time // snapshot as-of time (default 2026-11-01T02:00:00Z)
	BadLines   int       // bad lines mixed into the events file
	Truth      bool      // also write truth.jsonl, expected.jsonl and inconsistencies.jsonl
}

// DefaultExportTime is the snapshot time when Options.ExportTime is zero.
var DefaultExportTime = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)

// Summary counts what was written. Paths are relative to Options.Dir.
type Summary struct {
	Items             int    `json:"items"`             // items in the export
	Events            int    `json:"events"`            // distinct valid events in the events file
	BadLines          int    `json:"badLines"`          // lines that are not valid events
	Duplicates        int    `json:"duplicates"`        // repeated event lines (same event id)
	OverlapEvents     int    `json:"overlapEvents"`     // events in the file whose write is in the export
	SilentWrites      int    `json:"silentWrites"`      // writes with no event, before and after the snapshot
	MismatchedPatches int    `json:"mismatchedPatches"` // events after the snapshot whose oldData a copy cannot match
	ExportDir         string `json:"exportDir"`         // export/AWSDynamoDB/<exportId>
	EventsFile        string `json:"eventsFile"`
	TruthFile         string `json:"truthFile,omitempty"`
	ExpectedFile      string `json:"expectedFile,omitempty"`
	InconsistencyFile string `json:"inconsistencyFile,omitempty"`
	DataBytes         int64  `json:"dataBytes"` // uncompressed export data (DynamoDB JSON lines)
}

// The files written under Options.Dir.
const (
	EventsFile        = "events/tenure-events.jsonl"
	TruthFile         = "truth.jsonl"
	ExpectedFile      = "expected.jsonl"
	InconsistencyFile = "inconsistencies.jsonl"
	SummaryFile       = "summary.json"
)

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("gen: no output folder (Options.Dir)")
	}
	if o.Tenures < 0 || o.Events < 0 || o.BadLines < 0 || o.Files < 0 {
		return o, fmt.Errorf("gen: negative count in options %+v", o)
	}
	if o.ExportTime.IsZero() {
		o.ExportTime = DefaultExportTime
	}
	o.ExportTime = o.ExportTime.UTC().Truncate(tick)
	if o.Files == 0 {
		o.Files = max(2, (o.Tenures+99_999)/100_000)
		if o.Tenures < 2 {
			o.Files = 1
		}
	}
	return o, nil
}

// Generate writes the export, the events file, summary.json and, with
// Options.Truth, the ground truth files under opts.Dir.
func Generate(ctx context.Context, opts Options) (Summary, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	m, s := plan(uint64(opts.Seed), opts.Tenures, opts.Events, opts.ExportTime)
	silent, err := route(ctx, m, s)
	if err != nil {
		return Summary{}, err
	}
	sum, err := writeAll(ctx, m, s, opts)
	if err != nil {
		return Summary{}, err
	}
	sum.SilentWrites = silent
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := os.WriteFile(filepath.Join(opts.Dir, SummaryFile), append(b, '\n'), 0o644); err != nil {
		return sum, fmt.Errorf("writing summary: %w", err)
	}
	return sum, nil
}

// writeAll writes the events file and the export at once: both only read
// the routed schedule.
func writeAll(ctx context.Context, m *model, s *schedule, opts Options) (Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sum, xsum Summary
	var simErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if sum, simErr = simulate(ctx, m, s, opts); simErr != nil {
			cancel()
		}
	}()
	xerr := writeExport(ctx, m, s, opts, &xsum)
	if xerr != nil {
		cancel()
	}
	<-done
	if err := errors.Join(simErr, xerr); err != nil {
		return Summary{}, err
	}
	sum.Items, sum.ExportDir, sum.DataBytes = xsum.Items, xsum.ExportDir, xsum.DataBytes
	sum.TruthFile, sum.ExpectedFile = xsum.TruthFile, xsum.ExpectedFile
	return sum, nil
}

// simulate runs the writes and writes the events file and, with Truth,
// inconsistencies.jsonl.
func simulate(ctx context.Context, m *model, s *schedule, opts Options) (Summary, error) {
	sum := Summary{EventsFile: EventsFile}
	path := filepath.Join(opts.Dir, filepath.FromSlash(EventsFile))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return sum, fmt.Errorf("creating events folder: %w", err)
	}
	ev, err := createLineFile(path)
	if err != nil {
		return sum, err
	}
	defer ev.f.Close()
	var inc *lineFile
	var incW *bufio.Writer
	if opts.Truth {
		if inc, err = createLineFile(filepath.Join(opts.Dir, InconsistencyFile)); err != nil {
			return sum, err
		}
		defer inc.f.Close()
		incW = inc.w
		sum.InconsistencyFile = InconsistencyFile
	}
	out := &eventsOut{m: m, w: ev.w, fileStart: -overlap, bad: newBadLines(m, opts.BadLines, s.fileWrites)}
	g := newSim(m, s, out, incW)
	if err := g.run(ctx); err != nil {
		return sum, err
	}
	if err := ev.close(); err != nil {
		return sum, err
	}
	if err := inc.close(); err != nil {
		return sum, err
	}
	sum.Events, sum.Duplicates, sum.OverlapEvents = out.events, out.duplicates, out.overlap
	sum.BadLines = len(out.bad.positions)
	sum.MismatchedPatches = g.mismatched
	return sum, nil
}

// writeExport renders every tenure into the export and, with Truth, into
// truth.jsonl and expected.jsonl.
func writeExport(ctx context.Context, m *model, s *schedule, opts Options, sum *Summary) error {
	x, err := newExportWriter(filepath.Join(opts.Dir, "export"), m.seed, m.export)
	if err != nil {
		return err
	}
	if opts.Truth {
		if x.truth, err = createLineFile(filepath.Join(opts.Dir, TruthFile)); err != nil {
			return err
		}
		defer x.truth.f.Close()
		if x.expected, err = createLineFile(filepath.Join(opts.Dir, ExpectedFile)); err != nil {
			return err
		}
		defer x.expected.f.Close()
		sum.TruthFile, sum.ExpectedFile = TruthFile, ExpectedFile
	}
	if err := renderAll(ctx, m, s, opts.Truth, opts.Files, x.add); err != nil {
		if x.cur != nil {
			x.cur.f.Close()
		}
		return fmt.Errorf("writing export: %w", err)
	}
	if sum.Items, err = x.finish(); err != nil {
		return err
	}
	if opts.Truth {
		if err := x.truth.close(); err != nil {
			return err
		}
		if err := x.expected.close(); err != nil {
			return err
		}
	}
	sum.ExportDir = filepath.ToSlash(filepath.Join("export", "AWSDynamoDB", x.id))
	sum.DataBytes = x.data
	return nil
}
