package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/event"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// ReplayResult counts what a replay of the dead letters did.
type ReplayResult struct {
	Replayed int64 `json:"replayed"`   // decoded now, applied (or already reflected) and removed
	Stale    int64 `json:"kept_stale"` // decoded now, but older than the entity's last change: kept
	StillBad int64 `json:"still_bad"`  // still not an applicable event: kept
}

// ReplayDeadLetters decodes again every dead letter whose reason contains
// filter (all when empty), typically after the config maps an event type it
// did not. A letter that now becomes a change is applied under the usual
// rules and removed in the same batch. An event older than the last change
// of its entity is kept: applied now, it would undo newer changes (Hackney
// events carry no version); verify --repair settles such an entity.
func (p *Pipeline) ReplayDeadLetters(ctx context.Context, filter string) (ReplayResult, error) {
	var res ReplayResult
	var letters []*state.DeadLetter
	err := p.Store.DeadLetters(func(d *state.DeadLetter) error {
		if strings.Contains(d.Reason, filter) {
			letters = append(letters, d)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	txn := p.mat.Begin()
	n := 0
	for _, d := range letters {
		if err := ctx.Err(); err != nil {
			txn.Discard()
			return res, err
		}
		c, ok := p.decodeAgain(d)
		if !ok {
			res.StillBad++
			continue
		}
		rec, err := txn.Get(c.Entity, c.Key.Bytes())
		if err != nil {
			txn.Discard()
			return res, err
		}
		if rec != nil && !c.EventTime.After(rec.Changed) {
			res.Stale++
			continue
		}
		if _, err := p.mat.Apply(txn, c); err != nil {
			txn.Discard()
			return res, fmt.Errorf("replaying dead letter %d: %w", d.Seq, err)
		}
		if err := txn.DeleteDeadLetter(d.Seq); err != nil {
			txn.Discard()
			return res, err
		}
		res.Replayed++
		if n++; n >= p.cfg.BatchSize {
			if err := txn.Commit(); err != nil {
				return res, err
			}
			txn, n = p.mat.Begin(), 0
		}
	}
	return res, txn.Commit()
}

// decodeAgain turns a dead letter's bytes into a change with today's config.
func (p *Pipeline) decodeAgain(d *state.DeadLetter) (*change.Change, bool) {
	env, err := event.Decode(d.Raw, p.cfg.MaxMessageBytes)
	if err != nil {
		return nil, false
	}
	c, err := p.mapper.Change(env, change.Position{Source: d.Source, Offset: d.Offset})
	return c, err == nil
}
