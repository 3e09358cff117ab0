package ddbstream

import (
	"context"
	"io"
	"sync"
	"time"
)

// wait takes the next batch of the readers into s.cur, or ends the source
// (with the readers' error, or io.EOF after IdleTimeout without records);
// it returns only ctx's error.
func (s *Source) wait(ctx context.Context) error {
	var idle <-chan time.Time
	if s.opts.IdleTimeout > 0 {
		left := time.Until(s.last.Add(s.opts.IdleTimeout))
		if left <= 0 {
			if s.act.quietSince(s.last) {
				s.stop(io.EOF)
				return nil
			}
			left = 10 * time.Millisecond // a reader has not polled since
		}
		t := time.NewTimer(left)
		defer t.Stop()
		idle = t.C
	}
	select {
	case b := <-s.out:
		if b.err != nil {
			s.stop(b.err)
			return nil
		}
		if len(b.recs) > 1 || !isFlush(b.recs[0]) {
			s.last = time.Now()
		}
		s.cur = b.recs
	case <-idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// activity tells Next's idle timeout whether every reader has found its
// shard empty since the last record: on a busy machine a reader may not
// have polled at all for a while, which is no sign of a quiet stream.
type activity struct {
	mu      sync.Mutex
	started bool                 // the coordinator has started its first readers
	running map[string]time.Time // reader → time of its last empty poll
}

func (a *activity) begin(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running == nil {
		a.running = map[string]time.Time{}
	}
	a.running[id] = time.Time{}
}

// quiet records an empty poll of reader id.
func (a *activity) quiet(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.running[id]; ok {
		a.running[id] = time.Now()
	}
}

// end forgets a finished reader (once the readers after it are started).
func (a *activity) end(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.running, id)
}

func (a *activity) setStarted() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.started = true
}

// quietSince says whether every reader has found nothing after t.
func (a *activity) quietSince(t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.started {
		return false
	}
	for _, q := range a.running {
		if !q.After(t) {
			return false
		}
	}
	return true
}
