package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestResyncEmitToKafka: `resync emit --to kafka://` produces the whole
// re-sync to a real Kafka protocol broker (kfake), on one partition.
func TestResyncEmitToKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "resync"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := generate(t, 150, 10, 0, 35)
	out := string(tidemark(t, "resync", "emit", "--config", filepath.Join(dir, "tidemark.yaml"), "--entity", "tenure",
		"--from", "export:"+filepath.Join(dir, "export"), "--to", "kafka://"+strings.Join(c.ListenAddrs(), ",")+"/resync"))
	if !strings.Contains(out, "re-sync of 150 tenure entities produced") {
		t.Fatalf("emit: %q", out)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("resync"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var vals []string
	parts := map[int32]bool{}
	for len(vals) < 152 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { vals = append(vals, string(r.Value)); parts[r.Partition] = true })
	}
	if len(vals) != 152 || len(parts) != 1 || !strings.Contains(vals[0], `"ResyncStarted"`) || !strings.Contains(vals[151], `"ResyncCompleted"`) {
		t.Fatalf("%d records on %d partitions; first %.60s last %.60s", len(vals), len(parts), vals[0], vals[len(vals)-1])
	}
}
