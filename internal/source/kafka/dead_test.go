package kafka_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/tidemark-dev/tidemark/internal/event/avro"
	"github.com/tidemark-dev/tidemark/internal/state"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// TestDeadLetters: every kind of bad record becomes a dead letter with its
// raw bytes, its position and a clear reason, and the stream goes on.
func TestDeadLetters(t *testing.T) {
	c := kafkatest.NewCluster(t, 1, "bad", "bad-noreg")
	reg := kafkatest.NewRegistry(t)
	tenureID := registerTenure(t, reg)
	jsonID, _, err := reg.RegisterSchema("other-value", sr.Schema{Schema: `{"type":"object"}`, Type: sr.TypeJSON})
	if err != nil {
		t.Fatal(err)
	}
	noKeyID, _, err := reg.RegisterSchema("nokey-value", sr.Schema{Schema: `{"type":"record","name":"NoKey","fields":[{"name":"Name","type":"string"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	schema := kafkatest.TenureSchema(t)
	goodAvro := kafkatest.EncodeAvro(t, schema, tenureID, kafkatest.NewTenure2022(7))
	unknown := bytes.Replace(kafkatest.TenureEvent(1, 1), []byte("TenureUpdatedEvent"), []byte("TenureExplodedEvent"), 1)
	sns := []byte(`{"Type":"Notification","MessageId":"m-1","TopicArn":"arn:aws:sns:eu-west-2:1:tenure.fifo","Message":` +
		strings.ReplaceAll(string(mustJSONString(kafkatest.TenureEvent(2, 0))), "\n", "") + `}`)
	cases := []struct {
		value  []byte
		reason string // "" for a good record
	}{
		{kafkatest.TenureEvent(1, 0), ""},
		{[]byte(`{"id": "broken`), "not valid JSON"},
		{[]byte(`{"id":"x","dateTime":"2024-01-01T00:00:00Z","eventData":{}}`), "eventType is missing"},
		{unknown, `unknown event type "TenureExplodedEvent"`},
		{sns, ""},
		{avro.AppendWire(nil, 999, goodAvro[5:]), "schema id 999 is not in the schema registry"},
		{goodAvro[:len(goodAvro)/2], "schema id " + itoa(tenureID) + " does not decode the message: the message ends inside"},
		{goodAvro, ""},
		{append([]byte{1}, goodAvro[1:]...), "wrong magic byte 0x01: neither JSON nor the Confluent wire format"},
		{nil, "empty record value"},
		{append(append([]byte{}, kafkatest.TenureEvent(3, 0)...), bytes.Repeat([]byte(" "), 5000)...), "message of 5" /* ...bytes is over the limit */},
		{avro.AppendWire(nil, jsonID, []byte{2, 'x'}), "schema id " + itoa(jsonID) + ": schema is JSON, not Avro"},
		{avro.AppendWire(nil, noKeyID, []byte{2, 'x'}), "key field Id is missing or null"},
		{append(avro.AppendWire(nil, tenureID, goodAvro[5:]), 0), "bytes are left after the record"},
		{kafkatest.TenureEvent(1, 1), ""},
	}
	var recs []*kgo.Record
	for _, cs := range cases {
		recs = append(recs, &kgo.Record{Topic: "bad", Value: cs.value})
	}
	kafkatest.Produce(t, c, recs...)
	o := baseOptions(c, "dead", "bad")
	o.SchemaRegistry = reg.URL()
	o.MaxMessageBytes = 4096
	store := openStore(t)
	mat := consume(t, store, newSource(t, o, store.Position), 100)

	var dead []*state.DeadLetter
	if err := store.DeadLetters(func(d *state.DeadLetter) error { dead = append(dead, d); return nil }); err != nil {
		t.Fatal(err)
	}
	byOffset := map[int64]*state.DeadLetter{}
	for _, d := range dead {
		t.Logf("dead letter at %s:%d: %s", d.Source, d.Offset, d.Reason)
		byOffset[d.Offset] = d
	}
	good := 0
	for i, cs := range cases {
		d := byOffset[int64(i)]
		if cs.reason == "" {
			good++
			if d != nil {
				t.Errorf("record %d is a dead letter: %s", i, d.Reason)
			}
			continue
		}
		if d == nil {
			t.Errorf("record %d (want %q) is no dead letter", i, cs.reason)
			continue
		}
		if !strings.Contains(d.Reason, cs.reason) || d.Source != "kafka:bad/0" || !bytes.Equal(d.Raw, cs.value) {
			t.Errorf("record %d: dead letter %q at %s:%d (%d raw bytes), want reason %q", i, d.Reason, d.Source, d.Offset, len(d.Raw), cs.reason)
		}
	}
	if len(dead) != len(cases)-good || mat.Stats.EventsApplied != int64(good) {
		t.Errorf("%d dead letters, %d events applied; want %d and %d", len(dead), mat.Stats.EventsApplied, len(cases)-good, good)
	}
	if off, _, _ := store.Position("kafka:bad/0"); off != int64(len(cases)) {
		t.Errorf("position %d, want %d: the stream goes on past bad records", off, len(cases))
	}

	// Without a registry an Avro record is a dead letter that says so.
	kafkatest.Produce(t, c, &kgo.Record{Topic: "bad-noreg", Value: goodAvro})
	store2 := openStore(t)
	consume(t, store2, newSource(t, baseOptions(c, "noreg", "bad-noreg"), store2.Position), 10)
	var reasons []string
	store2.DeadLetters(func(d *state.DeadLetter) error { reasons = append(reasons, d.Reason); return nil })
	if len(reasons) != 1 || !strings.Contains(reasons[0], "no schema registry is configured") {
		t.Errorf("dead letters without a registry: %q", reasons)
	}
}
