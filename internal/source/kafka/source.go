// Package kafka follows entity events on Kafka topics as one consumer
// group: Hackney JSON events (raw or SNS-wrapped, decoded exactly as the
// file source does) and Avro records in the Confluent wire format, whose
// schemas come from a schema registry.
//
// The offsets that count live in the state store: a record's Next position
// is "kafka:<topic>/<partition>" at its offset plus one, committed by the
// consumer with the changes. On every assignment a member seeks to the
// stored offsets (the earliest offset where none is stored); Kafka's own
// committed offsets are informational only.
//
// Each member polls with rebalancing blocked, yields the polled records
// (each with a Done callback), then a Flush record, waits until every Done
// ran (the batch is durable), and only then allows a rebalance and polls
// again. So no record is in flight when partitions move, and a new owner
// starts exactly after the last committed record: nothing is lost or
// applied twice, across rebalances and crashes alike. With Consumers > 1
// the members run in this process and feed one stream that Next reads.
//
// Limits: a member whose batch takes longer than the group's rebalance
// timeout to commit is expelled, and the new owner of its partitions may
// read some of its records again; they are then skipped by their ids (a
// Hackney event's id, an Avro record's kafka:<topic>/<partition>/<offset>,
// a dead letter's id), so the effect stays exactly once. Records removed
// by retention before they were read are gone: the member resumes at the
// earliest offset Kafka still has.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/event"
	"github.com/tidemark-dev/tidemark/internal/event/avro"
)

// PositionFunc returns the committed offset of a position id, as the state
// store's Position does.
type PositionFunc func(source string) (int64, bool, error)

// PositionID is the position id of a partition: "kafka:<topic>/<partition>".
func PositionID(topic string, partition int32) string {
	return fmt.Sprintf("kafka:%s/%d", topic, partition)
}

// MessageID names a record: "kafka:<topic>/<partition>/<offset>". It is the
// dead letter's id and an Avro change's event id.
func MessageID(topic string, partition int32, offset int64) string {
	return fmt.Sprintf("kafka:%s/%d/%d", topic, partition, offset)
}

// Source yields a change or a dead letter per Kafka record, and a Flush
// record after each poll's records.
type Source struct {
	opts     Options
	mapper   *event.Mapper
	position PositionFunc
	log      *slog.Logger
	avro     *avro.Decoder // nil without a registry
	registry *registry
	members  []*member
	lag      *lagTable

	ownMu sync.Mutex
	owned map[string]int // position id -> member that owns it

	ctx      context.Context
	cancel   context.CancelFunc
	out      chan change.Record
	assigned chan struct{} // closed at the first assignment
	assignMu sync.Once
	wg       sync.WaitGroup

	start     sync.Once
	eof       bool
	closed    atomic.Bool
	closeOnce sync.Once
}

var _ change.Source = (*Source)(nil)

// New connects a source with opts; JSON events become changes through
// mapper, and pos gives the stored offsets. The members join the group
// now; they poll from the first Next on.
func New(opts Options, mapper *event.Mapper, pos PositionFunc) (*Source, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if pos == nil || (mapper == nil && opts.Format != FormatAvro) {
		return nil, errors.New("kafka source: a position function and (unless the format is avro) an event mapper are required")
	}
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{opts: o, mapper: mapper, position: pos, log: o.Log, lag: newLagTable(), owned: map[string]int{},
		ctx: ctx, cancel: cancel, out: make(chan change.Record, 256), assigned: make(chan struct{})}
	if o.SchemaRegistry != "" && o.Format != FormatJSON {
		reg, err := newRegistry(o.SchemaRegistry, o.RegistryOpts)
		if err != nil {
			cancel()
			return nil, err
		}
		s.registry = reg
		s.avro = avro.NewDecoder(reg.schema, avro.Options{DateFields: o.Avro.DateFields})
	}
	for i := range o.Consumers {
		m, err := newMember(s, i)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("connecting Kafka consumer %d of group %s to %v: %w", i, o.Group, o.Brokers, err)
		}
		s.members = append(s.members, m)
	}
	return s, nil
}

func (s *Source) run() {
	for _, m := range s.members {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			m.run(s.ctx)
		}()
	}
	if s.opts.LagInterval > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.logLag(s.ctx)
		}()
	}
}

func (s *Source) markAssigned() {
	s.assignMu.Do(func() { close(s.assigned) })
}

// Next returns the next record of any member: a change, a dead letter, or
// a Flush after a poll's records.
func (s *Source) Next(ctx context.Context) (change.Record, error) {
	if err := ctx.Err(); err != nil {
		return change.Record{}, err
	}
	if s.closed.Load() {
		return change.Record{}, change.ErrClosed
	}
	if s.eof {
		return change.Record{}, io.EOF
	}
	s.start.Do(s.run)
	select {
	case r := <-s.out:
		return r, nil
	default:
	}
	// The idle clock runs from the call, or from the first assignment: a
	// group join takes a while, and counts as no idleness (up to
	// DefaultJoinWait).
	var idle <-chan time.Time
	var assigned <-chan struct{}
	if s.opts.IdleTimeout > 0 {
		wait := s.opts.IdleTimeout
		select {
		case <-s.assigned:
		default:
			wait = max(wait, DefaultJoinWait)
			assigned = s.assigned
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		idle = t.C
		for {
			select {
			case r := <-s.out:
				return r, nil
			case <-assigned:
				assigned = nil
				t.Reset(s.opts.IdleTimeout)
				continue
			case <-idle:
				s.eof = true
				return change.Record{}, io.EOF
			case <-ctx.Done():
				return change.Record{}, ctx.Err()
			case <-s.ctx.Done():
				return change.Record{}, change.ErrClosed
			}
		}
	}
	select {
	case r := <-s.out:
		return r, nil
	case <-ctx.Done():
		return change.Record{}, ctx.Err()
	case <-s.ctx.Done():
		return change.Record{}, change.ErrClosed
	}
}

// send hands rec to Next; false once the source is closing.
func (s *Source) send(ctx context.Context, rec change.Record) bool {
	select {
	case s.out <- rec:
		return true
	case <-ctx.Done():
		return false
	}
}

// Assigned returns the position ids of the partitions the source's
// members own now, sorted.
func (s *Source) Assigned() []string {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	return slices.Sorted(maps.Keys(s.owned))
}

func (s *Source) own(id string, member int, owned bool) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	if owned {
		s.owned[id] = member
	} else if s.owned[id] == member {
		delete(s.owned, id)
	}
}

// Lag returns each assigned partition's lag, by position id: the high
// watermark of its last fetch minus the next offset to read.
func (s *Source) Lag() map[string]int64 { return s.lag.snapshot() }

// Close stops every member, leaves the group and closes the clients. The
// records yielded but not committed are read again by the next owner of
// their partitions. Close is idempotent.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.start.Do(func() {}) // no member starts after this
		s.cancel()
		s.wg.Wait()
		var wg sync.WaitGroup
		for _, m := range s.members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.cl.CloseAllowingRebalance()
			}()
		}
		wg.Wait()
		if s.registry != nil {
			s.registry.close()
		}
	})
	return nil
}

// sleep waits d or until ctx ends; false if it ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errClosing reports a member stopping because the source closes.
var errClosing = errors.New("source closing")
