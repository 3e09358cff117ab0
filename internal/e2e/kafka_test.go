package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
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

// kafkaDataset generates a dataset and produces its event lines to a
// 3-partition topic keyed by entity id (the order per entity is kept, not
// across entities), and points a copy of its config at the topic.
func kafkaDataset(t *testing.T, tenures, events, seed int) (dir, fileDir, brokers string) {
	t.Helper()
	c := kafkatest.NewCluster(t, 3, "tenure")
	dir = generate(t, tenures, events, 0, seed)
	fileDir = copyDir(t, dir)
	var recs []*kgo.Record
	for _, l := range readJSONL2(t, filepath.Join(dir, "events", "tenure-events.jsonl")) {
		var ev struct {
			EntityID string `json:"entityId"`
			Message  string `json:"Message"` // an SNS notification wraps the event
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Message != "" {
			if err := json.Unmarshal([]byte(ev.Message), &ev); err != nil {
				t.Fatal(err)
			}
		}
		recs = append(recs, &kgo.Record{Topic: "tenure", Key: []byte(ev.EntityID), Value: []byte(l)})
	}
	kafkatest.Produce(t, c, recs...)
	brokers = strings.Join(c.ListenAddrs(), ",")
	cfgPath := filepath.Join(dir, "tidemark.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "    - path: events/*.jsonl",
		"    - kafka:\n        brokers: ["+brokers+"]\n        topics: [tenure]\n        consumers: 2\n        instance_id: e2e", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "events"))
	return dir, fileDir, brokers
}

// historyPerKey is the history without the store's sequence numbers, which
// depend on how the partitions interleave: per key, the rows in order.
func historyPerKey(d dump) map[string][]string {
	out := map[string][]string{}
	for _, h := range d.History {
		f := strings.SplitN(h, " ", 3)
		out[f[0]] = append(out[f[0]], f[2])
	}
	return out
}

// TestFollowKafkaKilledAndRebalanced: `tidemark follow` on a Kafka topic (two
// group members in the process), SIGKILLed twice, then run until idle,
// ends with the state of the generator's truth and, per key, the history of
// a run from the file: nothing lost, nothing applied twice.
func TestFollowKafkaKilledAndRebalanced(t *testing.T) {
	dir, fileDir, _ := kafkaDataset(t, 500, 20000, 51)
	cfg := filepath.Join(dir, "tidemark.yaml")
	tidemark(t, "snapshot", "--config", cfg)
	for _, delay := range []time.Duration{400 * time.Millisecond, 500 * time.Millisecond, 600 * time.Millisecond} {
		cmd := exec.Command(binary, "follow", "--config", cfg, "--no-progress")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
	}
	sum := summary(t, tidemark(t, "run", "--config", cfg, "--json", "--until-idle", "3s"))
	t.Logf("last run: %v", sum)
	if sum["events_applied"] == 0 {
		t.Log("every kill landed after the stream was applied (a fast machine): the test shows only the restart")
	}
	t.Logf("file run: %v", summary(t, tidemark(t, "run", "--config", filepath.Join(fileDir, "tidemark.yaml"), "--json")))
	got, want := readDump(t, stateDir(dir)), readDump(t, stateDir(fileDir))
	compareLines(t, "state vs expected.jsonl", sortedLines(got.Current), sortedLines(readJSONL(t, filepath.Join(dir, "expected.jsonl"))))
	gh, wh := historyPerKey(got), historyPerKey(want)
	if len(gh) != len(wh) {
		t.Fatalf("history of %d keys, want %d", len(gh), len(wh))
	}
	for k, w := range wh {
		compareLines(t, "history of "+k, gh[k], w)
	}
}

// TestRunKafkaAvro: Avro records in the Confluent wire format (the council's
// 2022 tenure shape), with the schema from a registry, become full images.
func TestRunKafkaAvro(t *testing.T) {
	c := kafkatest.NewCluster(t, 3, "tenure-avro")
	reg := kafkatest.NewRegistry(t)
	ss, _, err := reg.RegisterSchema("tenure-avro-value", sr.Schema{Schema: kafkatest.TenureSchema2022})
	if err != nil {
		t.Fatal(err)
	}
	schema := kafkatest.TenureSchema(t)
	var recs []*kgo.Record
	for i := range 50 {
		recs = append(recs, &kgo.Record{Topic: "tenure-avro", Key: []byte(kafkatest.TenureID(i)),
			Value: kafkatest.EncodeAvro(t, schema, ss, kafkatest.NewTenure2022(i))})
	}
	recs = append(recs, &kgo.Record{Topic: "tenure-avro", Key: []byte("x"), Value: []byte{0, 0, 0, 0, 99, 1, 2}})
	kafkatest.Produce(t, c, recs...)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tidemark.yaml")
	os.WriteFile(cfg, []byte(`state_dir: state
lake: {dir: lake}
entities:
  - name: tenure
    table: TenureInformation
    hash_key: {name: id, format: uuid}
    events: {TenureUpdatedEvent: patch}
sources:
  events:
    - kafka:
        brokers: [`+strings.Join(c.ListenAddrs(), ",")+`]
        topics: [tenure-avro]
        schema_registry: `+reg.URL()+`
        avro: {entity: tenure}
`), 0o644)
	sum := summary(t, tidemark(t, "run", "--config", cfg, "--json", "--until-idle", "2s"))
	if sum["events_applied"] != 50 || sum["dead_letters"] != 1 || sum["files_written"] < 1 {
		t.Fatalf("run: %v", sum)
	}
	var s shownCurrent
	if err := json.Unmarshal(tidemark(t, "show", "--config", cfg, "tenure", kafkatest.TenureID(3)), &s); err != nil {
		t.Fatal(err)
	}
	img := string(s.Current.Image)
	if !strings.Contains(img, `"paymentReference": "`) || strings.Contains(img, `"PaymentReference"`) || !strings.Contains(img, `"startOfTenureDate": "`) {
		t.Errorf("tenure 3 image is not in the table's shape: %s", img)
	}
	out := string(tidemark(t, "dlq", "list", "--config", cfg))
	if !strings.Contains(out, "schema") {
		t.Errorf("the record with an unknown schema id is not a dead letter naming the schema:\n%s", out)
	}
}
