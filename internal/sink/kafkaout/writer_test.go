package kafkaout_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/sink/kafkaout"
	"github.com/tidemark-dev/tidemark/resync"
)

// TestResyncToKafka: a re-sync produced to a real Kafka protocol broker
// (franz-go's kfake) arrives whole and in order on one partition.
func TestResyncToKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "tenure-resync"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	url := "kafka://" + strings.Join(c.ListenAddrs(), ",") + "/tenure-resync"
	brokers, topic, err := kafkaout.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := resync.New(nil, resync.Options{Entity: "tenure", SourceDomain: "Tenure", SourceSystem: "tidemark"})
	w, err := kafkaout.NewLineWriter(ctx, brokers, topic, e.ID())
	if err != nil {
		t.Fatal(err)
	}
	e = resync.New(w, resync.Options{Entity: "tenure", SourceDomain: "Tenure", SourceSystem: "tidemark", ResyncID: e.ID()})
	const n = 1200
	if err := e.Start(n); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := e.Send("k"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), "",
			json.RawMessage(`{"id":"x"}`), time.Now(), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Records() != n+2 {
		t.Fatalf("produced %d records, want %d", w.Records(), n+2)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	deadline, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for len(got) < n+2 {
		fs := cl.PollFetches(deadline)
		if err := deadline.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), n+2, err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	for i, r := range got {
		if r.Partition != got[0].Partition || string(r.Key) != e.ID() {
			t.Fatalf("record %d on partition %d with key %q: want one partition, key the re-sync id", i, r.Partition, r.Key)
		}
		var ev struct {
			EventType string `json:"eventType"`
		}
		json.Unmarshal(r.Value, &ev)
		want := resync.TypeCurrentState
		switch i {
		case 0:
			want = resync.TypeStarted
		case n + 1:
			want = resync.TypeCompleted
		}
		if ev.EventType != want {
			t.Fatalf("record %d is %s, want %s", i, ev.EventType, want)
		}
	}
}
