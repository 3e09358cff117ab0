package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/sink/lake"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// PublishResult counts what a publish wrote.
type PublishResult struct {
	Files     int
	Rows      int64
	Leftovers int64
	Skipped   []string // entities with nothing new since their last publish today
}

// publishMark says what the last publish of an entity's table wrote: the
// state's generation, the day's partition and the lake folder.
type publishMark struct {
	Generation uint64 `json:"generation"`
	Date       string `json:"date"`
	Dir        string `json:"dir"`
}

func publishMarkKey(entity string, kind lake.Kind) string {
	return "pub/" + entity + "/" + string(kind)
}

// Publish writes the current state and the history of every entity that
// changed since its last publish, or whose last publish was on another day
// or to another lake folder, or whose files are gone; each table is judged
// on its own (a first bootstrap may have written the current one).
func (p *Pipeline) Publish(ctx context.Context) (PublishResult, error) {
	defer withGCPercent(publishGCPercent)()
	var res PublishResult
	now := p.Now().UTC()
	for _, e := range p.cfg.Entities {
		gen, err := p.Store.Generation(e.Name)
		if err != nil {
			return res, err
		}
		kinds := []lake.Kind{lake.Current}
		if p.cfg.Lake.PublishHistory() {
			kinds = append(kinds, lake.History)
		}
		mark := p.publishMark(gen, now)
		var todo []lake.Kind
		for _, k := range kinds {
			if !p.published(e.Name, k, mark, now) {
				todo = append(todo, k)
			}
		}
		if len(todo) == 0 {
			res.Skipped = append(res.Skipped, e.Name)
			continue
		}
		p.log.Info("phase publish", "entity", e.Name, "generation", gen)
		for _, k := range todo {
			r, err := p.publishOne(ctx, e.Name, k, now)
			if err != nil {
				return res, err
			}
			res.add(r)
			p.log.Info("published", "entity", e.Name, "table", k, "rows", r.Rows, "files", len(r.Files), "leftovers", r.Leftovers)
			if err := p.setPublished(e.Name, k, mark); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func (r *PublishResult) add(l lake.Result) {
	r.Files += len(l.Files)
	r.Rows += l.Rows
	r.Leftovers += l.Leftovers
}

func (p *Pipeline) publishMark(gen uint64, now time.Time) publishMark {
	return publishMark{Generation: gen, Date: now.Format("20060102"), Dir: p.cfg.Lake.Dir}
}

// setPublished records that the table's files hold the state at mark.
func (p *Pipeline) setPublished(entity string, kind lake.Kind, mark publishMark) error {
	b, _ := json.Marshal(mark)
	return p.Store.SetMeta(publishMarkKey(entity, kind), b)
}

// published reports whether the table's last publish already wrote what
// this one would: the same mark, and its part files still there.
func (p *Pipeline) published(entity string, kind lake.Kind, mark publishMark, now time.Time) bool {
	prev, ok, err := p.Store.Meta(publishMarkKey(entity, kind))
	if err != nil || !ok {
		return false
	}
	var old publishMark
	if json.Unmarshal(prev, &old) != nil || old != mark {
		return false
	}
	parts, err := filepath.Glob(filepath.Join(lake.PartitionDir(p.cfg.Lake.Dir, entity, kind, now), "part-*.parquet"))
	return err == nil && len(parts) > 0
}

func (p *Pipeline) lakeOptions(entity string, kind lake.Kind, now time.Time) lake.Options {
	return lake.Options{
		Dir: p.cfg.Lake.Dir, Entity: entity, Kind: kind, Now: now,
		RowGroupRows: p.cfg.Lake.RowGroupRows, FileRows: p.cfg.Lake.FileRows,
	}
}

func (p *Pipeline) publishOne(ctx context.Context, entity string, kind lake.Kind, now time.Time) (lake.Result, error) {
	opts := p.lakeOptions(entity, kind, now)
	scan := p.currentRows(entity)
	if kind == lake.History {
		scan = p.historyRows(entity)
	}
	r, err := lake.Publish(ctx, opts, p.withProgress(fmt.Sprintf("publish %s %s", entity, kind), scan))
	if err != nil {
		return r, fmt.Errorf("publishing %s %s: %w", entity, kind, err)
	}
	return r, nil
}

// withProgress reports the rows of each pass of a publish: the first pass
// infers the schema, the second writes (its total is known by then).
func (p *Pipeline) withProgress(label string, scan lake.Scanner) lake.Scanner {
	passes := []string{"schema", "write"}
	var total int64
	pass := 0
	return func(fn func(*lake.Row) error) error {
		pr := p.progress()
		name := passes[min(pass, len(passes)-1)]
		pass++
		pr.Start(label+" ("+name+")", total, "rows")
		defer pr.Done()
		var n int64
		err := scan(func(r *lake.Row) error {
			if n++; n%1024 == 0 {
				pr.Add(1024)
			}
			return fn(r)
		})
		pr.Add(n % 1024)
		total = n
		return err
	}
}

// currentRows scans the live records of an entity.
func (p *Pipeline) currentRows(entity string) lake.Scanner {
	return func(fn func(*lake.Row) error) error {
		var row lake.Row
		return p.Store.ScanRecordImages(entity, func(key []byte, r *state.Record, img []byte) error {
			if !r.Live {
				return nil
			}
			if err := fillRow(&row, key, r, img); err != nil {
				return err
			}
			return fn(&row)
		})
	}
}

// historyRows scans the history rows of an entity; each row's valid_to is
// the next row's valid_from for the same key.
func (p *Pipeline) historyRows(entity string) lake.Scanner {
	return func(fn func(*lake.Row) error) error {
		var prev *state.Record
		var prevKey, prevImg []byte
		var row lake.Row
		emit := func(validTo time.Time) error {
			if err := fillRow(&row, prevKey, prev, prevImg); err != nil {
				return err
			}
			row.ValidFrom, row.ValidTo = prev.Changed, validTo
			return fn(&row)
		}
		// The images stay in their stored binary form: the lake reads
		// them in place instead of decoding each into maps.
		err := p.Store.ScanHistoryImages(entity, func(key []byte, _ uint64, r *state.Record, img []byte) error {
			if prev != nil {
				var to time.Time
				if string(key) == string(prevKey) {
					to = r.Changed
				}
				if err := emit(to); err != nil {
					return err
				}
			}
			prev, prevKey, prevImg = r, append(prevKey[:0], key...), img
			return nil
		})
		if err != nil || prev == nil {
			return err
		}
		return emit(time.Time{})
	}
}

// fillRow sets row from a stored record whose image is img, in its
// binary form (nil for a tombstone).
func fillRow(row *lake.Row, key []byte, r *state.Record, img []byte) error {
	k, err := change.ParseKeyBytes(key)
	if err != nil {
		return fmt.Errorf("stored key %x: %w", key, err)
	}
	*row = lake.Row{
		Key: k.String(), Version: r.Version, Op: r.Op, EventID: r.EventID, EventType: r.EventType,
		Source: r.Source, IngestedAt: r.IngestedAt, ImageBin: img, EventTime: r.EventTime,
	}
	if !r.Live {
		row.ImageBin = nil
	}
	return nil
}
