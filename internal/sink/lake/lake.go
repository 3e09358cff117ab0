package lake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Kind of table.
type Kind string

// The kinds of table.
const (
	Current Kind = "current" // one row per live entity
	History Kind = "history" // one row per applied change (SCD2)
)

// Row is one row to publish.
type Row struct {
	Key        string      // _key: the entity key as text
	Version    string      // _version: exact decimal string, "" = NULL
	Op         string      // _op: snapshot|create|update|delete|repair|resync
	EventID    string      // _event_id ("" = NULL)
	EventType  string      // _event_type ("" = NULL)
	EventTime  time.Time   // _event_time (zero = NULL)
	Source     string      // _source: the source system (e.g. TenureAPI) or origin ("export")
	IngestedAt time.Time   // _ingested_at (zero = NULL)
	ValidFrom  time.Time   // history only: valid_from (zero = NULL)
	ValidTo    time.Time   // history only: valid_to (zero = NULL, i.e. still current)
	Image      ddbjson.Map // the entity's attributes (state after the change); nil for a delete row in history
	// ImageBin, when not nil, is the image in its binary form
	// (ddbjson.AppendBinary, as the state store keeps it) and is read
	// instead of Image, without decoding it into maps.
	ImageBin []byte
}

// Scanner calls fn for every row, in a stable order. Publish calls it twice
// (schema pass, write pass). fn must not keep row after returning (the
// caller reuses it). An error from fn must be returned by the Scanner.
type Scanner func(fn func(*Row) error) error

// Options say what to publish and where.
type Options struct {
	Dir          string    // lake root
	Entity       string    // entity name, the first folder under Dir
	Kind         Kind      // Current or History
	Now          time.Time // publish time: gives import_* partition values and columns
	RowGroupRows int       // max rows per row group (default 100000)
	FileRows     int       // max rows per file (default 1000000)
}

// Defaults for the zero Options fields.
const (
	DefaultRowGroupRows = 100_000
	DefaultFileRows     = 1_000_000
)

// Column is one top-level column of a published table.
type Column struct {
	Name string // column name in the files
	Type string // type text: "string", "int64", "decimal(18,2)", "timestamp", "list<struct<a:string>>", ...
}

// Result says what Publish wrote.
type Result struct {
	Files     []string // final paths written
	Rows      int64
	Leftovers int64    // count of values that did not fit their typed column and went to the _leftovers JSON column
	Columns   []Column // the inferred schema, for logs/docs
}

// checkEvery is how many rows pass between two looks at the context.
const checkEvery = 1024

// Publish writes the rows of scan as the table opts names and returns the
// files written, in part order.
func Publish(ctx context.Context, opts Options, scan Scanner) (Result, error) {
	if err := opts.normalize(); err != nil {
		return Result{}, err
	}
	st, err := inferPass(ctx, opts.Kind, scan)
	if err != nil {
		return Result{}, fmt.Errorf("publishing %s/%s: schema pass: %w", opts.Entity, opts.Kind, err)
	}
	tbl := buildTable(st, opts.Kind)
	res, err := writePass(ctx, opts, tbl, scan)
	res.Columns = tbl.columns()
	if err != nil {
		return res, fmt.Errorf("publishing %s/%s: %w", opts.Entity, opts.Kind, err)
	}
	return res, nil
}

func (o *Options) normalize() error {
	switch {
	case o.Dir == "":
		return errors.New("lake: Options.Dir is empty")
	case o.Entity == "" || !validSegment(o.Entity):
		return fmt.Errorf("lake: Options.Entity %q is not a valid folder name", o.Entity)
	case o.Kind != Current && o.Kind != History:
		return fmt.Errorf("lake: Options.Kind %q is not %q or %q", o.Kind, Current, History)
	case o.Now.IsZero():
		return errors.New("lake: Options.Now is zero")
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.FileRows <= 0 {
		o.FileRows = DefaultFileRows
	}
	o.Now = o.Now.UTC()
	return nil
}

func validSegment(s string) bool {
	if s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == '\\' || s[i] == 0 {
			return false
		}
	}
	return true
}

// writePass reads every row again and writes them to temp files, then
// commits the files. A row the schema pass did not see (an unstable
// Scanner) is still written: what does not fit goes to _leftovers.
func writePass(ctx context.Context, opts Options, tbl *table, scan Scanner) (Result, error) {
	if err := preparePartition(opts); err != nil {
		return Result{}, err
	}
	pw := newPartWriter(opts, tbl)
	sh := newShredder(tbl, opts.Now)
	pipe := newRowPipe(pw, tbl.numLeaves, opts.RowGroupRows)
	var n int64
	// Three goroutines: reading the store, shredding, encoding.
	err := spool(ctx, scan, func(r *Row) error {
		n++
		b, err := pipe.next()
		if err != nil {
			return err
		}
		if err := sh.shred(r, b); err != nil {
			return err
		}
		return pipe.added()
	})
	if werr := pipe.close(); err == nil {
		err = werr
	}
	if err != nil {
		pw.abort()
		return Result{}, fmt.Errorf("write pass: %w", err)
	}
	files, err := pw.commit()
	return Result{Files: files, Rows: n, Leftovers: sh.leftovers}, err
}
