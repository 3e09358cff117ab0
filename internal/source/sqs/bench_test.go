package sqs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/source/sqs"
	"github.com/tidemark-dev/tidemark/internal/testutil/fauxqs"
)

// BenchmarkFollowSQS measures events applied durably per second from the
// SQS-compatible test server (fauxqs on node, on the same machine): each
// iteration sends b.N tenure events, then times the source and apply.Consume
// draining the queue (the idle wait at the end is not counted).
//
//	go test -run '^$' -bench FollowSQS -benchtime 5000x ./internal/source/sqs/
func BenchmarkFollowSQS(b *testing.B) {
	for _, q := range []struct {
		name      string
		queue     string
		receivers int
	}{{"standard", "bench-standard", 4}, {"fifo-one-group", "bench.fifo", 2}} {
		b.Run(q.name, func(b *testing.B) {
			srv := fauxqs.Start(b)
			url := srv.CreateQueue(b, q.queue, nil)
			bodies := make([]string, b.N)
			for i := range bodies {
				bodies[i] = created(i, i, i, fmt.Sprintf("ref-%d", i))
			}
			send(b, srv.SQS(), url, bodies...)
			r := newRig(b)
			ctx := context.Background()
			src, err := sqs.New(ctx, srv.SQS(), testMapper(b), sqs.Options{QueueURL: url, Receivers: q.receivers,
				Wait: time.Second, MaxMessageBytes: 256 << 10, IdleTimeout: time.Second, ReorderWindow: 50 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			b.ResetTimer()
			start := time.Now()
			var last time.Time
			if err := r.mat.Consume(ctx, src, 1000, func(int) { last = time.Now() }); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if r.mat.Stats.EventsApplied != int64(b.N) {
				b.Fatalf("applied %d of %d", r.mat.Stats.EventsApplied, b.N)
			}
			b.ReportMetric(float64(b.N)/last.Sub(start).Seconds(), "events/s")
		})
	}
}
