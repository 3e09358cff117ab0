package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/event/avro"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// committing adapts a live source to the conformance suite, which commits
// each record as soon as Next returns it: it runs each record's Done at
// once (the suite's commit follows) and drops the Flush records (they have
// no position; the suite counts records that have one).
type committing struct{ change.Source }

func (c committing) Next(ctx context.Context) (change.Record, error) {
	for {
		r, err := c.Source.Next(ctx)
		if err != nil {
			return r, err
		}
		if r.Done != nil {
			r.Done()
		}
		if r.Flush && r.Change == nil && r.Dead == nil {
			continue
		}
		return r, nil
	}
}

// TestConformance runs the change.Source suite. With IdleTimeout a Kafka
// source is finite: it ends with io.EOF once it has caught up. Every
// sub-test applies; the adapter above stands in for the consumer's commit.
func TestConformance(t *testing.T) {
	c := kafkatest.NewCluster(t, 3, "tenure")
	reg := kafkatest.NewRegistry(t)
	id := registerTenure(t, reg)
	recs := jsonRecords("tenure", 5, 2)
	recs = append(recs, avroRecords(t, "tenure", id, 0, 3)...)
	recs = append(recs,
		&kgo.Record{Topic: "tenure", Key: []byte("x"), Value: []byte(`not json`)},
		&kgo.Record{Topic: "tenure", Key: []byte("y"), Value: avro.AppendWire(nil, 4242, []byte{2, 'x'})},
		&kgo.Record{Topic: "tenure", Key: []byte("z"), Value: kafkatest.TenureEvent(77, 1)}) // a patch of an unknown key: still a change
	kafkatest.Produce(t, c, recs...)
	o := baseOptions(c, "conformance", "tenure")
	o.SchemaRegistry = reg.URL()
	o.IdleTimeout = 800 * time.Millisecond
	changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
		return committing{newSource(t, o, pos)}
	}, len(recs))
}
