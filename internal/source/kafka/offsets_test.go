package kafka_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// TestKafkaOffsetsInformational: the offsets that count are the stored
// positions. Kafka's committed offsets follow each durable batch (a plain
// group consumer then finds nothing left), but a fresh state store reads
// the topic again from the start whatever Kafka says.
func TestKafkaOffsetsInformational(t *testing.T) {
	c := kafkatest.NewCluster(t, 2, "tenure")
	recs := jsonRecords("tenure", 10, 1)
	kafkatest.Produce(t, c, recs...)
	o := baseOptions(c, "informational", "tenure")
	store := openStore(t)
	first := newSource(t, o, store.Position)
	if mat := consume(t, store, first, 100); mat.Stats.EventsApplied != 10 {
		t.Fatalf("first store: %+v", mat.Stats)
	}
	first.Close() // leaves the group

	var owned atomic.Int32
	plain, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup("informational"),
		kgo.ConsumeTopics("tenure"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			owned.Add(int32(len(m["tenure"])))
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	n := 0
	for ctx.Err() == nil {
		n += plain.PollFetches(ctx).NumRecords()
	}
	cancel()
	plain.CloseAllowingRebalance()
	if owned.Load() != 2 {
		t.Fatalf("the plain consumer was assigned %d partitions, want 2", owned.Load())
	}
	if n != 0 {
		t.Errorf("a plain consumer of the group read %d records: Kafka's offsets were not committed", n)
	}

	fresh := openStore(t)
	if mat := consume(t, fresh, newSource(t, o, fresh.Position), 100); mat.Stats.EventsApplied != 10 {
		t.Errorf("a fresh store applied %d events, want all 10 (Kafka's offsets are informational)", mat.Stats.EventsApplied)
	}
}

// TestRegistryOutage: while the schema registry fails, an Avro record is
// retried, not dead-lettered.
func TestRegistryOutage(t *testing.T) {
	c := kafkatest.NewCluster(t, 1, "tenure")
	reg := kafkatest.NewRegistry(t)
	id := registerTenure(t, reg)
	var failures atomic.Int32
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/schemas/ids/") && failures.Add(1) <= 2 {
			http.Error(w, `{"error_code":50001,"message":"store unavailable"}`, http.StatusInternalServerError)
			return true
		}
		return false
	})
	kafkatest.Produce(t, c, avroRecords(t, "tenure", id, 0, 2)...)
	var logs syncBuffer
	o := baseOptions(c, "outage", "tenure")
	o.SchemaRegistry = reg.URL()
	o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	store := openStore(t)
	mat := consume(t, store, newSource(t, o, store.Position), 100)
	if mat.Stats.EventsApplied != 2 || mat.Stats.DeadLetters != 0 {
		t.Errorf("stats %+v, want 2 events applied and no dead letter", mat.Stats)
	}
	if !strings.Contains(logs.String(), "schema registry unreachable; retrying") {
		t.Errorf("no retry logged:\n%s", logs.String())
	}
}
