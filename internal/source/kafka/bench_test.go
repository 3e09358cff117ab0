package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// BenchmarkKafkaJSON measures JSON events applied per second from kfake
// (3 partitions) through apply.Consume into a state store on disk: decode,
// map, apply, and a durable commit per poll or per 1000 records.
func BenchmarkKafkaJSON(b *testing.B) {
	benchKafka(b, func(n int) []*kgo.Record {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			k := i / 4 // a create and three updates per tenure, in order on its partition
			recs[i] = &kgo.Record{Topic: "tenure", Key: []byte(kafkatest.TenureID(k)), Value: kafkatest.TenureEvent(k, i%4)}
		}
		return recs
	}, false)
}

// BenchmarkKafkaAvro is BenchmarkKafkaJSON for 2022-shape Avro tenures
// (full images) with their schema from the in-process registry.
func BenchmarkKafkaAvro(b *testing.B) {
	benchKafka(b, nil, true)
}

func benchKafka(b *testing.B, gen func(n int) []*kgo.Record, useAvro bool) {
	c := kafkatest.NewCluster(b, 3, "tenure")
	o := baseOptions(c, "bench", "tenure")
	o.IdleTimeout = 0
	o.MaxPollRecords = 5000
	o.LagInterval = -1
	var recs []*kgo.Record
	if useAvro {
		reg := kafkatest.NewRegistry(b)
		o.SchemaRegistry = reg.URL()
		recs = avroRecords(b, "tenure", registerTenure(b, reg), 0, b.N)
	} else {
		recs = gen(b.N)
	}
	for i := 0; i < len(recs); i += 10000 {
		kafkatest.Produce(b, c, recs[i:min(i+10000, len(recs))]...)
	}
	store := openStore(b)
	src := newSource(b, o, store.Position)
	mat := newMat(store)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	if err := mat.Consume(ctx, &stopAfter{Source: src, n: b.N}, 1000, nil); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := mat.Stats.EventsApplied + mat.Stats.DeadLetters; got != int64(b.N) || mat.Stats.DeadLetters != 0 {
		b.Fatalf("stats %+v, want %d events applied", mat.Stats, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
