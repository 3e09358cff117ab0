package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/change"
)

// pollErrorPause is the wait after a poll that returned only errors.
const pollErrorPause = 500 * time.Millisecond

// member is one group member: a franz-go client and its poll loop.
type member struct {
	s   *Source
	id  int
	cl  *kgo.Client
	log *rateLog
}

func newMember(s *Source, id int) (*member, error) {
	m := &member{s: s, id: id, log: newRateLog(s.log, time.Minute)}
	o := s.opts
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID("tidemark"),
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeTopics(o.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.AdjustFetchOffsetsFn(m.adjust),
		kgo.OnPartitionsRevoked(m.revoked),
		kgo.OnPartitionsLost(m.revoked),
		kgo.WithLogger(kgoLogger{s.log.With("consumer", id)}),
	}
	if o.InstanceID != "" {
		// Static membership: a restarted process takes its partitions
		// back at once instead of waiting for its dead members' session
		// timeout.
		opts = append(opts, kgo.InstanceID(fmt.Sprintf("%s-%d", o.InstanceID, id)))
	}
	cl, err := kgo.NewClient(append(opts, o.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	m.cl = cl
	return m, nil
}

// adjust replaces the offsets Kafka has for newly assigned partitions with
// the stored positions: the earliest offset where none is stored.
func (m *member) adjust(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	for topic, parts := range offsets {
		for p := range parts {
			id := PositionID(topic, p)
			off, ok, err := m.s.position(id)
			if err != nil {
				return nil, fmt.Errorf("reading the stored position of %s: %w", id, err)
			}
			if ok {
				parts[p] = kgo.NewOffset().At(off).WithEpoch(-1)
				m.s.lag.advance(id, off)
			} else {
				parts[p] = kgo.NewOffset().AtStart()
			}
			m.s.own(id, m.id, true)
			m.s.log.Debug("kafka partition assigned", "consumer", m.id, "position", id, "offset", off, "stored", ok)
		}
	}
	m.s.markAssigned()
	return offsets, nil
}

func (m *member) revoked(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	for topic, ps := range parts {
		for _, p := range ps {
			id := PositionID(topic, p)
			m.s.lag.forget(id)
			m.s.own(id, m.id, false)
		}
	}
}

// batch counts the records of one poll whose Done has not run yet.
type batch struct {
	left atomic.Int64
	all  chan struct{}
}

func newBatch(n int) *batch {
	b := &batch{all: make(chan struct{})}
	b.left.Store(int64(n))
	return b
}

func (b *batch) done() {
	if b.left.Add(-1) == 0 {
		close(b.all)
	}
}

// run polls until ctx ends: each poll's records, then a Flush, then a
// wait for every record's Done before the next rebalance point.
func (m *member) run(ctx context.Context) {
	for {
		fs := m.cl.PollRecords(ctx, m.s.opts.MaxPollRecords)
		if ctx.Err() != nil || fs.IsClientClosed() {
			m.cl.AllowRebalance()
			return
		}
		failed := false
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				failed = true
				m.log.Warn("kafka fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		m.s.lag.observe(fs)
		if failed && fs.NumRecords() == 0 {
			// A missing topic or a refused group returns at once, poll
			// after poll: do not spin.
			m.cl.AllowRebalance()
			if !sleep(ctx, pollErrorPause) {
				return
			}
			continue
		}
		if err := m.yield(ctx, fs); err != nil {
			m.cl.AllowRebalance()
			return
		}
		m.cl.AllowRebalance()
	}
}

// yield hands the poll's records to Next, then a Flush, and waits until
// they are durable; then it commits their offsets to Kafka for the lag
// tools.
func (m *member) yield(ctx context.Context, fs kgo.Fetches) error {
	n := fs.NumRecords()
	if n == 0 {
		return nil
	}
	b := newBatch(n)
	for it := fs.RecordIter(); !it.Done(); {
		r := it.Next()
		rec, err := m.s.record(ctx, r)
		if err != nil {
			return err
		}
		rec.Done = b.done
		if !m.s.send(ctx, rec) {
			return errClosing
		}
		m.s.lag.advance(PositionID(r.Topic, r.Partition), r.Offset+1)
	}
	if !m.s.send(ctx, change.Record{Flush: true}) {
		return errClosing
	}
	select {
	case <-b.all:
	case <-ctx.Done():
		return errClosing
	}
	if !m.s.opts.SkipKafkaCommit {
		if err := m.cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("committing offsets to Kafka (informational; the state store holds the positions)", "err", err)
		}
	}
	return nil
}
