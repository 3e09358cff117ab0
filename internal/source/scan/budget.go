package scan

import (
	"context"
	"sync"
	"time"
)

// budget is a token bucket of read capacity units shared by all segments.
// A segment takes the page's expected cost before reading it and settles
// the difference with what DynamoDB reports it consumed, so the bucket may
// go into debt and later pages wait it off: over any minute the consumed
// RCU/s stays at the budget.
type budget struct {
	mu     sync.Mutex
	rate   float64 // RCU/s now (lowered while throttled)
	target float64 // RCU/s configured
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBudget(rate float64, now func() time.Time) *budget {
	return &budget{rate: rate, target: rate, tokens: 0, last: now(), now: now}
}

func (b *budget) refill() {
	t := b.now()
	b.tokens += t.Sub(b.last).Seconds() * b.rate
	if b.tokens > b.rate { // at most one second of burst
		b.tokens = b.rate
	}
	b.last = t
}

// take waits until cost units are available and takes them.
func (b *budget) take(ctx context.Context, cost float64) error {
	for {
		b.mu.Lock()
		b.refill()
		if b.tokens >= 0 {
			b.tokens -= cost
			b.mu.Unlock()
			return nil
		}
		wait := time.Duration(-b.tokens / b.rate * float64(time.Second))
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(wait, time.Millisecond)):
		}
	}
}

// settle corrects a page's expected cost with the consumed one.
func (b *budget) settle(expected, consumed float64) {
	b.mu.Lock()
	b.tokens += expected - consumed
	b.mu.Unlock()
}

// throttled lowers the rate by a fifth; recovered raises it back towards
// the budget.
func (b *budget) throttled() {
	b.mu.Lock()
	b.rate = max(b.rate*0.8, b.target*0.1)
	b.mu.Unlock()
}

func (b *budget) recovered() {
	b.mu.Lock()
	b.rate = min(b.rate*1.05, b.target)
	b.mu.Unlock()
}
