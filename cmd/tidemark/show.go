package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

type shownRecord struct {
	Live       bool            `json:"live"`
	Version    string          `json:"version,omitempty"`
	Op         string          `json:"op"`
	EventID    string          `json:"event_id,omitempty"`
	EventType  string          `json:"event_type,omitempty"`
	Source     string          `json:"source"`
	ValidFrom  time.Time       `json:"valid_from"`
	ValidTo    *time.Time      `json:"valid_to,omitempty"`
	IngestedAt time.Time       `json:"ingested_at"`
	Image      json.RawMessage `json:"image"`
}

func cmdShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("show", stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	history := fs.Bool("history", false, "also print every history row of the entity")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, a := range fs.Args() {
		if strings.HasPrefix(a, "-") {
			return fmt.Errorf("%w: flag %s after ENTITY KEY: flags go first (tidemark show --config c.yaml --history tenure <id>)", errUsage, a)
		}
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want ENTITY KEY (a hash key, or HASH|RANGE), e.g. tidemark show --config c.yaml tenure <id>", errUsage)
	}
	p, err := openPipeline(*cfgPath, stderr, false, true)
	if err != nil {
		return err
	}
	defer p.Close()
	entity, keyText := fs.Arg(0), fs.Arg(1)
	cfg, ok := p.Config().EntityByName(entity)
	if !ok {
		return fmt.Errorf("%w: unknown entity %q", errUsage, entity)
	}
	rangeKind := ddbjson.KindInvalid
	if cfg.RangeKey != nil {
		rangeKind = cfg.RangeKey.Kind()
	}
	key, err := change.ParseKey(keyText, cfg.HashKey.Kind(), rangeKind)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	rec, err := p.Store.Get(entity, key.Bytes())
	if err != nil {
		return err
	}
	if rec == nil {
		return fmt.Errorf("%s %s: not in the state", entity, key)
	}
	out := struct {
		Entity  string        `json:"entity"`
		Key     string        `json:"key"`
		Current shownRecord   `json:"current"`
		History []shownRecord `json:"history,omitempty"`
	}{Entity: entity, Key: key.String(), Current: shown(rec)}
	if *history {
		rows, err := p.Store.History(entity, key.Bytes())
		if err != nil {
			return err
		}
		for i, r := range rows {
			s := shown(r)
			if i+1 < len(rows) {
				to := rows[i+1].Changed
				s.ValidTo = &to
			}
			out.History = append(out.History, s)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func shown(r *state.Record) shownRecord {
	img := []byte("null")
	if r.Live {
		img = ddbjson.AppendPlainMap(nil, r.Image)
	}
	return shownRecord{Live: r.Live, Version: r.Version, Op: r.Op, EventID: r.EventID, EventType: r.EventType,
		Source: r.Source, ValidFrom: r.Changed, IngestedAt: r.IngestedAt, Image: img}
}
