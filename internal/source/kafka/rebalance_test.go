package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/source/kafka"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// ledger is a state store as far as positions go: it applies a batch
// and stores its positions on Flush, as apply.Consume commits, then runs
// the records' Done. It counts how often each record was applied.
type ledger struct {
	mu      sync.Mutex
	pos     map[string]int64
	applied map[string]int
	by      map[string]int // records applied per consumer name
	dropped int            // records read but never committed (a crash)
	holding map[string]int // records read and not yet committed, per consumer
	errs    []string
}

func newLedger() *ledger {
	return &ledger{pos: map[string]int64{}, applied: map[string]int{}, by: map[string]int{}, holding: map[string]int{}}
}

func (l *ledger) position(id string) (int64, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	off, ok := l.pos[id]
	return off, ok, nil
}

func (l *ledger) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.applied)
}

// run consumes src as the process name would until ctx ends; the batch
// read since the last Flush is lost then, as in a crash. Each commit takes
// slow: rebalances then meet batches in flight.
func (l *ledger) run(ctx context.Context, name string, src change.Source, slow time.Duration) error {
	var batch []change.Record
	for {
		r, err := src.Next(ctx)
		if err == nil && r.Flush && slow > 0 {
			select { // the commit takes a while; a crash may come first
			case <-time.After(slow):
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err != nil {
			l.mu.Lock()
			l.dropped += len(batch)
			l.mu.Unlock()
			return err
		}
		if !r.Flush {
			batch = append(batch, r)
			l.mu.Lock()
			l.holding[name] = len(batch)
			l.mu.Unlock()
			continue
		}
		l.mu.Lock()
		l.holding[name] = 0
		for _, b := range batch {
			id := ident(b)
			l.applied[id]++
			l.by[name]++
			if prev, ok := l.pos[b.Next.Source]; ok && b.Next.Offset <= prev {
				l.errs = append(l.errs, fmt.Sprintf("%s: position of %s goes back from %d to %d", name, b.Next.Source, prev, b.Next.Offset))
			}
			l.pos[b.Next.Source] = b.Next.Offset
		}
		l.mu.Unlock()
		for _, b := range batch {
			b.Done()
		}
		batch = batch[:0]
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRebalanceExactlyOnce: one process consumes part of a topic, a second
// (two members) joins the group mid-stream, more records arrive, then the
// first stops abruptly (its open batch uncommitted) and the second takes
// its partitions over. Every record is applied exactly once overall, and
// no partition's position ever goes back.
func TestRebalanceExactlyOnce(t *testing.T) {
	c := kafkatest.NewCluster(t, 6, "tenure")
	const tenures = 60
	var all []*kgo.Record
	produce := func(seqs ...int) {
		var recs []*kgo.Record
		for _, seq := range seqs {
			for i := range tenures {
				recs = append(recs, &kgo.Record{Topic: "tenure", Key: []byte(kafkatest.TenureID(i)), Value: kafkatest.TenureEvent(i, seq)})
			}
		}
		kafkatest.Produce(t, c, recs...)
		all = append(all, recs...)
	}
	produce(0, 1, 2)
	l := newLedger()
	o := baseOptions(c, "rebalance", "tenure")
	o.IdleTimeout = 0
	o.MaxPollRecords = 15

	a := newSource(t, o, l.position)
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	go func() { doneA <- l.run(ctxA, "a", a, 100*time.Millisecond) }()
	waitFor(t, "the first process to apply 60 records", func() bool { return l.total() >= 60 })

	o.Consumers = 2
	b := newSource(t, o, l.position)
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneB := make(chan error, 1)
	go func() { doneB <- l.run(ctxB, "b", b, 0) }()
	waitFor(t, "the second process to be assigned partitions", func() bool { return len(b.Assigned()) > 0 })
	t.Logf("first process owns %v, second %v", a.Assigned(), b.Assigned())
	produce(3, 4)
	waitFor(t, "the second process to apply records while the first holds a batch", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.by["b"] > 0 && l.holding["a"] > 0
	})

	stopA() // a crash: the batch it holds is never committed
	if err := <-doneA; !errors.Is(err, context.Canceled) {
		t.Fatalf("first process: %v", err)
	}
	a.Close()
	produce(5)
	waitFor(t, "every record to be applied", func() bool { return l.total() >= len(all) })
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
	stopB()
	if err := <-doneB; !errors.Is(err, context.Canceled) {
		t.Fatalf("second process: %v", err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.errs {
		t.Error(e)
	}
	for id, n := range l.applied {
		if n != 1 {
			t.Errorf("record %s applied %d times", id, n)
		}
	}
	want := ends(all)
	for _, r := range all {
		id := fmt.Sprintf("%s@%d", kafka.PositionID(r.Topic, r.Partition), r.Offset+1)
		if l.applied[id] == 0 {
			t.Errorf("record %s never applied", id)
		}
	}
	if l.dropped == 0 {
		t.Error("the stopped process held no uncommitted batch: the test did not test a crash")
	}
	for id, off := range want {
		if l.pos[id] != off {
			t.Errorf("position %s = %d, want %d", id, l.pos[id], off)
		}
	}
	t.Logf("applied %d records: %v by process; %d read by the stopped process and never committed", len(l.applied), l.by, l.dropped)
}
