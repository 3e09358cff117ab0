package kafka_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// TestJSONPartitions: Hackney JSON events on a topic of 3 partitions,
// keyed by entity id, are read once each, with positions
// kafka:<topic>/<partition> at offset+1, and applied in order per key.
func TestJSONPartitions(t *testing.T) {
	c := kafkatest.NewCluster(t, 3, "tenure")
	recs := jsonRecords("tenure", 40, 3)
	kafkatest.Produce(t, c, recs...)
	want := ends(recs)
	if len(want) != 3 {
		t.Fatalf("records landed on %d partitions, want 3", len(want))
	}

	store := openStore(t)
	src := &tap{Source: newSource(t, baseOptions(c, "json", "tenure"), store.Position)}
	mat := consume(t, store, src, 50)

	if len(src.recs) != len(recs) {
		t.Errorf("read %d records, want %d", len(src.recs), len(recs))
	}
	seen := map[string]bool{}
	last := map[string]int64{}
	for _, r := range src.recs {
		id := ident(r)
		if seen[id] {
			t.Errorf("record %s read twice", id)
		}
		seen[id] = true
		if r.Change == nil {
			t.Errorf("record %s is not a change: %+v", id, r.Dead)
			continue
		}
		if r.Change.Pos != r.Next || r.Done == nil {
			t.Errorf("record %s: change position %+v, Done %v", id, r.Change.Pos, r.Done != nil)
		}
		if r.Next.Offset <= last[r.Next.Source] {
			t.Errorf("record %s after offset %d of its partition", id, last[r.Next.Source])
		}
		last[r.Next.Source] = r.Next.Offset
	}
	if !maps.Equal(last, want) {
		t.Errorf("last positions %v, want %v", last, want)
	}
	for id, off := range want {
		got, ok, err := store.Position(id)
		if err != nil || !ok || got != off {
			t.Errorf("stored position %s = %d, %v, %v; want %d", id, got, ok, err, off)
		}
	}
	if mat.Stats.EventsApplied != int64(len(recs)) || mat.Stats.Duplicates != 0 || mat.Stats.DeadLetters != 0 {
		t.Errorf("stats %+v, want %d events applied", mat.Stats, len(recs))
	}
	for i := range 40 {
		r := stored(t, store, i)
		if r == nil {
			t.Fatalf("tenure %d not stored", i)
		}
		if got, want := r.Image["paymentReference"].Str, fmt.Sprintf("%010d", 1900000000+i+2); got != want {
			t.Errorf("tenure %d paymentReference %s, want %s (the last update)", i, got, want)
		}
		if r.EventType != "TenureUpdatedEvent" || r.Source != "TenureAPI" {
			t.Errorf("tenure %d last change %s from %s", i, r.EventType, r.Source)
		}
	}
	// The change model's own check of a record.
	for _, r := range src.recs[:1] {
		if err := r.Change.Key.Validate(); err != nil || r.Change.Op != change.OpUpsert && r.Change.Op != change.OpPatch {
			t.Errorf("first change %+v: %v", r.Change, err)
		}
	}
}
