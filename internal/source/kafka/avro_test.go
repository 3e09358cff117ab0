package kafka_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/source/kafka"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files from the current output")

// TestAvroTopic: tenures in the council's 2022 Avro shape, with their
// schema in a registry, become full-image upserts: camelCase attributes,
// table date strings, NULL for int.MinValue dates; the stored image is the
// golden file.
func TestAvroTopic(t *testing.T) {
	c := kafkatest.NewCluster(t, 3, "tenure-avro")
	reg := kafkatest.NewRegistry(t)
	id := registerTenure(t, reg)
	at := time.Date(2022, 5, 17, 10, 30, 0, 0, time.UTC)
	recs := avroRecords(t, "tenure-avro", id, 0, 12)
	for _, r := range recs {
		r.Timestamp = at
	}
	kafkatest.Produce(t, c, recs...)

	o := baseOptions(c, "avro", "tenure-avro")
	o.SchemaRegistry = reg.URL()
	store := openStore(t)
	src := &tap{Source: newSource(t, o, store.Position)}
	mat := consume(t, store, src, 100)
	if mat.Stats.EventsApplied != 12 || mat.Stats.DeadLetters != 0 {
		t.Fatalf("stats %+v, want 12 events applied", mat.Stats)
	}
	for _, r := range src.recs {
		ch := r.Change
		if ch == nil {
			t.Fatalf("dead letter: %+v", r.Dead)
		}
		p, _ := parsePosition(r.Next.Source)
		if ch.Op != change.OpUpsert || ch.Origin != change.OriginEvent || ch.EventType != "AvroTenure" ||
			!ch.EventTime.Equal(at) || ch.Entity != "tenure" ||
			ch.EventID != kafka.MessageID("tenure-avro", p, r.Next.Offset-1) {
			t.Errorf("change %s %s %s %s %v %s", ch.Op, ch.Origin, ch.EventType, ch.EventID, ch.EventTime, ch.Entity)
		}
	}
	rec := stored(t, store, 3)
	if rec == nil {
		t.Fatal("tenure 3 not stored")
	}
	if v := rec.Image["successionDate"]; v.Kind != ddbjson.KindNULL {
		t.Errorf("successionDate = %+v, want NULL (int.MinValue)", v)
	}
	if v := rec.Image["tenuredAsset"].Map["fullAddress"]; v.Kind != ddbjson.KindS {
		t.Errorf("tenuredAsset.fullAddress = %+v", v)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, ddbjson.AppendMap(nil, rec.Image), "", "  "); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "avro_tenure_3.golden.json"), out.Bytes())
	if rec.EventType != "AvroTenure" || rec.Op != "create" {
		t.Errorf("stored record: event type %s, op %s", rec.EventType, rec.Op)
	}
}

// TestAvroAndJSONOnOneTopic: with Format auto the magic byte decides, so
// a topic may carry both.
func TestAvroAndJSONOnOneTopic(t *testing.T) {
	c := kafkatest.NewCluster(t, 1, "mixed")
	reg := kafkatest.NewRegistry(t)
	id := registerTenure(t, reg)
	recs := append(avroRecords(t, "mixed", id, 0, 3), jsonRecords("mixed", 2, 1)...)
	recs = append(recs, &kgo.Record{Topic: "mixed", Value: []byte(" \n" + string(kafkatest.TenureEvent(9, 0)))})
	kafkatest.Produce(t, c, recs...)
	o := baseOptions(c, "mixed", "mixed")
	o.SchemaRegistry = reg.URL()
	store := openStore(t)
	mat := consume(t, store, newSource(t, o, store.Position), 100)
	if mat.Stats.EventsApplied != 6 || mat.Stats.DeadLetters != 0 {
		t.Errorf("stats %+v, want 6 events applied", mat.Stats)
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\ngot:\n%s", path, got)
	}
}
