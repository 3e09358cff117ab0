package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tidemark-dev/tidemark/internal/state"
)

func cmdDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "replay" {
		return cmdDLQReplay(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("%w: want 'tidemark dlq list --config FILE' or 'tidemark dlq replay --config FILE [--reason TEXT]'", errUsage)
	}
	fs := newFlags("dlq list", stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	asJSON := fs.Bool("json", false, "one JSON object per dead letter, with the raw bytes in base64")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	p, err := openPipeline(*cfgPath, stderr, false, true)
	if err != nil {
		return err
	}
	defer p.Close()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return p.Store.DeadLetters(func(d *state.DeadLetter) error { return enc.Encode(d) })
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tTIME\tSOURCE\tOFFSET\tBYTES\tREASON\tRAW")
	n := 0
	err = p.Store.DeadLetters(func(d *state.DeadLetter) error {
		n++
		_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", d.Seq, d.Time.Format(time.RFC3339), d.Source, d.Offset,
			len(d.Raw), d.Reason, preview(d.Raw))
		return err
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d dead letters\n", n)
	return nil
}

// preview shows the start of raw bytes, quoted so that control bytes and
// invalid UTF-8 are visible.
func preview(raw []byte) string {
	if len(raw) > 60 {
		return strconv.Quote(string(raw[:60])) + "..."
	}
	return strconv.Quote(string(raw))
}

func cmdDLQReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq replay", stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	reason := fs.String("reason", "", "replay only dead letters whose reason contains this text, e.g. 'unknown event type'")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := openPipeline(*cfgPath, stderr, false, true)
	if err != nil {
		return err
	}
	defer p.Close()
	res, err := p.ReplayDeadLetters(ctx, *reason)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
