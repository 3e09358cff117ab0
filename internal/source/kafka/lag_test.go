package kafka_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLag: the lag of a partition is its high watermark minus the next
// offset to read; it is logged at Info every LagInterval.
func TestLag(t *testing.T) {
	c := kafkatest.NewCluster(t, 1, "tenure")
	recs := jsonRecords("tenure", 20, 1)
	kafkatest.Produce(t, c, recs...)
	var logs syncBuffer
	o := baseOptions(c, "lag", "tenure")
	o.MaxPollRecords = 5
	o.LagInterval = 20 * time.Millisecond
	o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	pos := changetest.Positions{}
	src := newSource(t, o, pos.Func())
	ctx := context.Background()
	for range 5 {
		r, err := src.Next(ctx)
		if err != nil || r.Change == nil {
			t.Fatalf("Next: %+v, %v", r, err)
		}
		defer r.Done()
	}
	if lag := src.Lag(); lag["kafka:tenure/0"] != 15 || len(lag) != 1 {
		t.Errorf("lag after 5 of 20 records: %v, want kafka:tenure/0: 15", lag)
	}
	if got := src.Assigned(); len(got) != 1 || got[0] != "kafka:tenure/0" {
		t.Errorf("assigned %v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="kafka consumer lag" group=lag total=15 partitions=map[kafka:tenure/0:15]`) {
		if time.Now().After(deadline) {
			t.Fatalf("no lag logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
