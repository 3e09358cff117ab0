package kafka

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lagTable keeps, per assigned partition, the high watermark of its last
// fetch and the next offset to read.
type lagTable struct {
	mu    sync.Mutex
	parts map[string]*partLag
}

type partLag struct {
	hwm, next       int64
	hasHWM, hasNext bool
}

func newLagTable() *lagTable { return &lagTable{parts: map[string]*partLag{}} }

func (l *lagTable) part(id string) *partLag {
	p := l.parts[id]
	if p == nil {
		p = &partLag{}
		l.parts[id] = p
	}
	return p
}

// observe takes the high watermarks (and, for partitions not read yet, the
// log start offsets) of a poll's fetches.
func (l *lagTable) observe(fs kgo.Fetches) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if p.Err != nil || p.HighWatermark < 0 {
			return
		}
		pl := l.part(PositionID(p.Topic, p.Partition))
		pl.hwm, pl.hasHWM = p.HighWatermark, true
		if !pl.hasNext && p.LogStartOffset >= 0 {
			pl.next, pl.hasNext = p.LogStartOffset, true
		}
	})
}

// advance records the next offset to read of a partition.
func (l *lagTable) advance(id string, next int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pl := l.part(id)
	pl.next, pl.hasNext = next, true
}

// forget drops a partition that was revoked or lost.
func (l *lagTable) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.parts, id)
}

func (l *lagTable) snapshot() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.parts))
	for id, p := range l.parts {
		if p.hasHWM && p.hasNext {
			out[id] = max(0, p.hwm-p.next)
		}
	}
	return out
}

// logLag logs the lag every LagInterval until ctx ends.
func (s *Source) logLag(ctx context.Context) {
	t := time.NewTicker(s.opts.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lag := s.Lag()
		if len(lag) == 0 {
			continue
		}
		var total int64
		for v := range maps.Values(lag) {
			total += v
		}
		s.log.Info("kafka consumer lag", "group", s.opts.Group, "total", total, "partitions", lag)
	}
}
