package apply

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
	"github.com/tidemark-dev/tidemark/resync"
)

func marker(kind change.ResyncKind, id string, started time.Time, count int64, digest string) *change.Change {
	return &change.Change{Entity: "t", Origin: change.OriginResync, EventID: id + kindName(kind) + digest,
		Resync: &change.Resync{Kind: kind, ID: id, StartedAt: started, ExpectedCount: -1, Count: count, Digest: digest}}
}

func kindName(k change.ResyncKind) string { return []string{"", "start", "item", "done"}[k] }

func item(eventID, id, key string, asOf time.Time, kv ...string) *change.Change {
	c := row(key, "", asOf, kv...)
	c.Origin, c.EventID = change.OriginResync, eventID
	c.Resync = &change.Resync{Kind: change.ResyncItem, ID: id}
	return c
}

func TestResyncRules(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	mat := newMat(store)
	start := snapT.Add(time.Hour)
	txn := mat.Begin()
	steps := []struct {
		c    *change.Change
		want Outcome
	}{
		{row("a", "1", snapT, "f", "old"), Applied},
		{row("b", "1", snapT, "f", "old"), Applied},
		{ev("e1", "b", change.OpPatch, start.Add(time.Hour), nil, kv("f", "newer")), Applied},
		{marker(change.ResyncStarted, "r1", start, 0, ""), Unchanged},
		{item("i1", "r1", "a", start, "f", "resynced"), Applied},
		{item("i1", "r1", "a", start, "f", "resynced"), Duplicate}, // a redelivery counts once
		{item("i2", "r1", "b", start, "f", "resync-older"), Stale}, // never over a newer change
	}
	for i, s := range steps {
		got, err := mat.Apply(txn, s.c)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Fatalf("step %d: %s, want %s", i, got, s.want)
		}
	}
	digest := resync.Digest(resync.KeyHash("a") + resync.KeyHash("b"))
	if _, err := mat.Apply(txn, marker(change.ResyncCompleted, "r1", start, 2, digest)); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if mat.Stats.ResyncsComplete != 1 {
		t.Fatalf("complete re-syncs %d, notes %v", mat.Stats.ResyncsComplete, mat.Notes)
	}
	v, ok, _ := store.Meta(SweepKey("t"))
	var sw Sweep
	if !ok || json.Unmarshal(v, &sw) != nil || sw.ID != "r1" || !sw.StartedAt.Equal(start) {
		t.Fatalf("sweep %s", v)
	}
	rec, _ := store.Get("t", change.Key{Hash: ddbjson.S("b")}.Bytes())
	if rec.Image["f"].Str != "newer" {
		t.Fatalf("b = %v: a re-sync image overwrote a newer change", rec.Image)
	}

	// A re-sync superseded before it completes sweeps nothing.
	txn = mat.Begin()
	for _, c := range []*change.Change{
		marker(change.ResyncStarted, "r2", start, 0, ""),
		item("i3", "r2", "a", start, "f", "x"),
		marker(change.ResyncStarted, "r3", start, 0, ""),
		marker(change.ResyncCompleted, "r2", start, 1, resync.Digest(resync.KeyHash("a"))),
	} {
		if _, err := mat.Apply(txn, c); err != nil {
			t.Fatal(err)
		}
	}
	txn.Commit()
	if mat.Stats.ResyncsIncomplete != 1 || !strings.Contains(strings.Join(mat.Notes, ";"), "r2 of t is incomplete") {
		t.Fatalf("superseded re-sync: %d incomplete, notes %v", mat.Stats.ResyncsIncomplete, mat.Notes)
	}
}

// TestEmptyResyncNeverSweeps: an empty re-sync would sweep the whole type.
func TestEmptyResyncNeverSweeps(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	mat := newMat(store)
	txn := mat.Begin()
	for _, c := range []*change.Change{
		row("a", "1", snapT, "f", "x"),
		marker(change.ResyncStarted, "r0", snapT.Add(time.Hour), 0, ""),
		marker(change.ResyncCompleted, "r0", snapT.Add(time.Hour), 0, resync.Digest(0)),
	} {
		if _, err := mat.Apply(txn, c); err != nil {
			t.Fatal(err)
		}
	}
	txn.Commit()
	if _, ok, _ := store.Meta(SweepKey("t")); ok || !strings.Contains(strings.Join(mat.Notes, ";"), "sent no entity") {
		t.Fatalf("an empty re-sync left a sweep (notes %v)", mat.Notes)
	}
}

// TestDeadLetterIDsStoreOnce: a dead letter with an id is stored once,
// however often its record is read again.
func TestDeadLetterIDsStoreOnce(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	mat := newMat(store)
	for i := 0; i < 3; i++ {
		txn := mat.Begin()
		if err := mat.DeadLetter(txn, &change.DeadLetter{ID: "scan:t/T/0/4/1//0", Reason: "bad key"}); err != nil {
			t.Fatal(err)
		}
		if err := mat.DeadLetter(txn, &change.DeadLetter{Reason: "no id: stored each time"}); err != nil {
			t.Fatal(err)
		}
		txn.Commit()
	}
	n := map[string]int{}
	store.DeadLetters(func(d *state.DeadLetter) error { n[d.Reason]++; return nil })
	if n["bad key"] != 1 || n["no id: stored each time"] != 3 {
		t.Fatalf("dead letters %v", n)
	}
}
