package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// TestRestartAfterAbruptStop: a run that dies mid-batch (apply.Consume
// fails, nothing of the open batch is committed) and is restarted from
// the stored positions applies exactly the records not committed: the
// second run applies the rest, no duplicate, and the state is whole.
func TestRestartAfterAbruptStop(t *testing.T) {
	c := kafkatest.NewCluster(t, 3, "tenure")
	recs := jsonRecords("tenure", 30, 4)
	kafkatest.Produce(t, c, recs...)
	store := openStore(t)
	o := baseOptions(c, "restart", "tenure")
	o.Consumers = 2
	o.MaxPollRecords = 9

	const readFirst = 50
	first := newSource(t, o, store.Position)
	mat := newMat(store)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := mat.Consume(ctx, &errAfter{Source: first, n: readFirst}, 1000, nil); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	first.Close()
	var committed int64
	for id := range ends(recs) {
		off, _, err := store.Position(id)
		if err != nil {
			t.Fatal(err)
		}
		committed += off
	}
	if committed == 0 || committed >= readFirst {
		t.Fatalf("%d records committed by the first run; want some, and fewer than the %d it read", committed, readFirst)
	}

	second := &tap{Source: newSource(t, o, store.Position)}
	mat2 := consume(t, store, second, 1000)
	if got, want := int64(len(second.recs)), int64(len(recs))-committed; got != want {
		t.Errorf("the restarted run read %d records, want the %d not committed", got, want)
	}
	if mat2.Stats.Duplicates != 0 || mat2.Stats.EventsApplied != int64(len(recs))-committed {
		t.Errorf("restarted run: %+v; want %d applied, no duplicate", mat2.Stats, int64(len(recs))-committed)
	}
	for id, off := range ends(recs) {
		if got, _, _ := store.Position(id); got != off {
			t.Errorf("position %s = %d, want %d", id, got, off)
		}
	}
	for i := range 30 {
		if r := stored(t, store, i); r == nil || r.Image["paymentReference"].Str != kafkatestRef(i, 3) {
			t.Errorf("tenure %d: %+v", i, r)
		}
	}
}
