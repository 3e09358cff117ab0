package apply

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

var snapT = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)

func row(key, version string, asOf time.Time, kv ...string) *change.Change {
	img := ddbjson.Map{"id": ddbjson.S(key)}
	for i := 0; i+1 < len(kv); i += 2 {
		img[kv[i]] = ddbjson.S(kv[i+1])
	}
	if version != "" {
		img["versionNumber"] = ddbjson.N(version)
	}
	return &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(key)}, Op: change.OpUpsert, Image: img,
		Version: version, AsOf: asOf, EventTime: asOf, Origin: change.OriginSnapshot}
}

func ev(id, key string, op change.Op, at time.Time, old, new ddbjson.Map) *change.Change {
	return &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(key)}, Op: op, Image: new, Old: old,
		EventTime: at, Origin: change.OriginEvent, EventID: id, EventType: "E"}
}

func kv(pairs ...string) ddbjson.Map {
	m := ddbjson.Map{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = ddbjson.S(pairs[i+1])
	}
	return m
}

type step struct {
	c    *change.Change
	want Outcome
}

func TestRules(t *testing.T) {
	sec := time.Second
	tests := []struct {
		name   string
		asOf   time.Time // the entity's snapshot time (zero: no snapshot)
		steps  []step
		key    string
		live   bool
		image  ddbjson.Map // wanted image (nil: not checked)
		incons int
	}{
		{name: "event after the snapshot applies", asOf: snapT, key: "k",
			steps: []step{{row("k", "3", snapT, "a", "1"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(10*sec), kv("a", "1"), kv("a", "2")), Applied}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("2"), "versionNumber": ddbjson.N("3")}},
		{name: "a stream record before the snapshot still applies (the log holds every later change too)", asOf: snapT, key: "k",
			steps: []step{{row("k", "3", snapT, "a", "2"), Applied},
				{stream(ev("s1", "k", change.OpUpsert, snapT.Add(-50*sec), nil, kv("id", "k", "a", "9"))), Applied}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("9")}},
		{name: "a stream record of a lower version is stale", asOf: snapT, key: "k",
			steps: []step{{row("k", "3", snapT, "a", "2"), Applied},
				{stream(withVersion(ev("s1", "k", change.OpUpsert, snapT.Add(-50*sec), nil, kv("id", "k", "a", "1")), "2")), Stale}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("2"), "versionNumber": ddbjson.N("3")}},
		{name: "a stream delete then re-create of the same version (a new incarnation) ends live", asOf: snapT, key: "k",
			steps: []step{{row("k", "1", snapT, "a", "new"), Applied},
				{stream(withVersion(ev("s1", "k", change.OpUpsert, snapT.Add(-50*sec), nil, kv("id", "k", "a", "old")), "1")), Stale},
				{stream(ev("s2", "k", change.OpDelete, snapT.Add(-40*sec), nil, nil)), Applied},
				{stream(withVersion(ev("s3", "k", change.OpUpsert, snapT.Add(-30*sec), nil, kv("id", "k", "a", "new")), "1")), Applied}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("new")}},
		{name: "event well before the snapshot is reflected", asOf: snapT, key: "k",
			steps: []step{{row("k", "3", snapT, "a", "2"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(-10*sec), kv("a", "0"), kv("a", "1")), Reflected}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("2"), "versionNumber": ddbjson.N("3")}},
		{name: "event in the window whose effect the snapshot shows is reflected", asOf: snapT, key: "k", live: true,
			steps: []step{{row("k", "3", snapT, "a", "2"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(sec), kv("a", "1"), kv("a", "2")), Reflected}}},
		{name: "event in the window that the snapshot lacks applies", asOf: snapT, key: "k",
			steps: []step{{row("k", "3", snapT, "a", "1"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(-sec), kv("a", "1"), kv("a", "2")), Applied}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("2"), "versionNumber": ddbjson.N("3")}},
		{name: "duplicate event id is skipped", asOf: snapT, key: "k",
			steps: []step{{row("k", "3", snapT, "a", "1"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(10*sec), kv("a", "1"), kv("a", "2")), Applied},
				{ev("e2", "k", change.OpPatch, snapT.Add(11*sec), kv("a", "2"), kv("a", "3")), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(10*sec), kv("a", "1"), kv("a", "2")), Duplicate}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("3"), "versionNumber": ddbjson.N("3")}},
		{name: "mismatched oldData applies and is recorded", asOf: snapT, key: "k", incons: 1,
			steps: []step{{row("k", "3", snapT, "a", "silent"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(10*sec), kv("a", "1"), kv("a", "2")), Applied}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("2"), "versionNumber": ddbjson.N("3")}},
		{name: "older snapshot row never overwrites a newer one", key: "k",
			steps: []step{{row("k", "5", snapT, "a", "new"), Applied}, {row("k", "4", snapT.Add(sec), "a", "old"), Stale}},
			live:  true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("new"), "versionNumber": ddbjson.N("5")}},
		{name: "same key and version is idempotent", key: "k", live: true,
			steps: []step{{row("k", "5", snapT, "a", "x"), Applied}, {row("k", "5", snapT, "a", "x"), Unchanged}}},
		{name: "snapshot row never overwrites a newer event", asOf: snapT, key: "k",
			steps: []step{{row("k", "5", snapT, "a", "x"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(time.Hour), nil, kv("a", "y")), Applied},
				{row("k", "6", snapT.Add(time.Minute), "a", "z"), Stale}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("y"), "versionNumber": ddbjson.N("5")}},
		{name: "a newer export overwrites an event-built state", asOf: snapT, key: "k",
			steps: []step{{row("k", "5", snapT, "a", "x"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(time.Minute), nil, kv("a", "y")), Applied},
				{row("k", "9", snapT.Add(time.Hour), "a", "z"), Applied}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("z"), "versionNumber": ddbjson.N("9")}},
		{name: "deleted entity is not resurrected by a stale row", asOf: snapT, key: "k",
			steps: []step{{row("k", "5", snapT, "a", "x"), Applied},
				{ev("e1", "k", change.OpDelete, snapT.Add(time.Minute), nil, nil), Applied},
				{row("k", "5", snapT, "a", "x"), Stale}},
			live: false},
		{name: "a delete of an unknown key leaves a tombstone", asOf: snapT, key: "k",
			steps: []step{{ev("e1", "k", change.OpDelete, snapT.Add(time.Minute), nil, nil), Unchanged},
				{row("k", "5", snapT, "a", "x"), Stale}},
			live: false},
		{name: "patch for a deleted entity is recorded, not applied", asOf: snapT, key: "k", incons: 1,
			steps: []step{{row("k", "5", snapT, "a", "x"), Applied},
				{ev("e1", "k", change.OpDelete, snapT.Add(time.Minute), nil, nil), Applied},
				{ev("e2", "k", change.OpPatch, snapT.Add(2*time.Minute), nil, kv("a", "y")), Orphan}},
			live: false},
		{name: "patch for an unknown entity creates it and is recorded", asOf: snapT, key: "k", incons: 1,
			steps: []step{{ev("e1", "k", change.OpPatch, snapT.Add(time.Minute), nil, kv("a", "y")), Applied}},
			live:  true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("y")}},
		{name: "create before the snapshot for a key it lacks is reflected", asOf: snapT, key: "k",
			steps: []step{{ev("e1", "k", change.OpUpsert, snapT.Add(-time.Minute), nil, kv("id", "k")), Reflected}}},
		{name: "create after the snapshot applies", asOf: snapT, key: "k",
			steps: []step{{ev("e1", "k", change.OpUpsert, snapT.Add(time.Minute), nil, kv("id", "k", "a", "1")), Applied}},
			live:  true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("1")}},
		{name: "patch that changes nothing adds no history", asOf: snapT, key: "k", live: true,
			steps: []step{{row("k", "5", snapT, "a", "x"), Applied},
				{ev("e1", "k", change.OpPatch, snapT.Add(time.Minute), kv("a", "w"), kv("a", "x")), Unchanged}}},
		{name: "versioned events win by version", key: "k",
			steps: []step{{row("k", "5", snapT, "a", "x"), Applied},
				{withVersion(ev("e1", "k", change.OpUpsert, snapT.Add(-time.Hour), nil, kv("id", "k", "a", "v6")), "6"), Applied},
				{withVersion(ev("e2", "k", change.OpUpsert, snapT.Add(time.Hour), nil, kv("id", "k", "a", "v4")), "4"), Stale}},
			live: true, image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("v6")}},
	}
	for _, tt := range tests {
		// Every case runs twice: all steps in one transaction (each step
		// sees the previous one's record as written, images as maps), and
		// each step in its own committed transaction (each step reads the
		// stored record: its image in the binary form, patched in place).
		// Both must give the same outcomes, state and inconsistencies.
		var incons [2][]state.Inconsistency
		for mode, perStep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/step_txns=%v", tt.name, perStep), func(t *testing.T) {
				store := openStore(t, t.TempDir())
				defer store.Close()
				incons[mode] = checkRulesCase(t, store, tt.asOf, tt.steps, perStep, tt.incons, tt.key, tt.live, tt.image)
			})
		}
		if !reflect.DeepEqual(incons[0], incons[1]) {
			t.Errorf("%s: inconsistencies differ between one transaction and one per step:\n%+v\n%+v", tt.name, incons[0], incons[1])
		}
	}
}

// checkRulesCase applies steps, committing after each one if perStep, and
// checks their outcomes, the number of inconsistencies and the key's final
// state (live, and image unless nil); it returns the inconsistencies.
func checkRulesCase(t *testing.T, store *state.Store, asOf time.Time, steps []step, perStep bool, wantIncons int,
	key string, live bool, image ddbjson.Map) []state.Inconsistency {
	t.Helper()
	mat := newMat(store)
	txn := mat.Begin()
	if !asOf.IsZero() {
		if err := mat.SetSnapshotAsOf(txn, "t", asOf); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range steps {
		got, err := mat.Apply(txn, s.c)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Fatalf("step %d (%s %s): got %s, want %s", i, s.c.Label(), s.c.EventID, got, s.want)
		}
		if perStep {
			if err := txn.Commit(); err != nil {
				t.Fatal(err)
			}
			txn = mat.Begin()
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	var incons []state.Inconsistency
	if err := store.Inconsistencies(func(in *state.Inconsistency) error {
		incons = append(incons, *in)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if int(mat.Stats.Inconsistencies) != wantIncons {
		t.Fatalf("inconsistencies: got %d, want %d", mat.Stats.Inconsistencies, wantIncons)
	}
	rec, err := store.Get("t", change.Key{Hash: ddbjson.S(key)}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if image == nil && !live {
		if rec != nil && rec.Live {
			t.Fatalf("key is live: %s", ddbjson.AppendPlainMap(nil, rec.Image))
		}
		return incons
	}
	if rec == nil || rec.Live != live {
		t.Fatalf("record %+v, want live=%v", rec, live)
	}
	if image != nil && !ddbjson.EqualMaps(rec.Image, image) {
		t.Fatalf("image %s, want %s", ddbjson.AppendPlainMap(nil, rec.Image), ddbjson.AppendPlainMap(nil, image))
	}
	return incons
}

func stream(c *change.Change) *change.Change {
	c.Origin = change.OriginStream
	return c
}

func withVersion(c *change.Change, v string) *change.Change {
	c.Version = v
	return c
}

func TestHistoryRowsFollowChanges(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	mat := newMat(store)
	txn := mat.Begin()
	if err := mat.SetSnapshotAsOf(txn, "t", snapT); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*change.Change{
		row("k", "1", snapT, "a", "1"),
		ev("e1", "k", change.OpPatch, snapT.Add(time.Minute), kv("a", "1"), kv("a", "2")),
		ev("e1", "k", change.OpPatch, snapT.Add(time.Minute), kv("a", "1"), kv("a", "2")),
		ev("e2", "k", change.OpDelete, snapT.Add(2*time.Minute), nil, nil),
	} {
		if _, err := mat.Apply(txn, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := store.History("t", change.Key{Hash: ddbjson.S("k")}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for i, r := range rows {
		ops = append(ops, r.Op)
		if r.Seq != uint64(i+1) {
			t.Fatalf("row %d has seq %d", i, r.Seq)
		}
	}
	if got := ops; len(got) != 3 || got[0] != "snapshot" || got[1] != "update" || got[2] != "delete" {
		t.Fatalf("ops %v", got)
	}
	if rows[1].Image["a"].Str != "2" || rows[2].Live || !rows[1].Changed.Equal(snapT.Add(time.Minute)) {
		t.Fatalf("rows %+v", rows)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"1", "2", -1}, {"10", "9", 1}, {"5", "5.0", 0}, {"123456789012345678901234567890", "123456789012345678901234567891", -1}, {"1.5", "1.25", 1}} {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestPatchComparesByValue: a patch's oldData and newData are compared with
// the state by value, whether the state is read from the store (its image
// binary, patched in place) or was written in the same transaction: 1.50
// equals 1.5, NULL equals an absent attribute, and only a real difference
// is an inconsistency, with the expected and found values.
func TestPatchComparesByValue(t *testing.T) {
	snap := row("k", "3", snapT, "a", "1")
	snap.Image["n"] = ddbjson.N("1.5")
	after := snapT.Add(time.Minute)
	old := ddbjson.Map{"a": ddbjson.S("1"), "n": ddbjson.N("1.50"), "z": ddbjson.Null(), "q": ddbjson.S("x")}
	steps := []step{
		{snap, Applied},
		{ev("e1", "k", change.OpPatch, after, old, kv("a", "2")), Applied},
		{ev("e2", "k", change.OpPatch, after.Add(time.Second), nil, ddbjson.Map{"zz": ddbjson.Null()}), Unchanged},
		{ev("e3", "k", change.OpPatch, after.Add(2*time.Second), nil, ddbjson.Map{"n": ddbjson.N("1.50")}), Unchanged},
	}
	want := ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("2"), "n": ddbjson.N("1.5"), "versionNumber": ddbjson.N("3")}
	for _, perStep := range []bool{false, true} {
		t.Run(fmt.Sprintf("step_txns=%v", perStep), func(t *testing.T) {
			store := openStore(t, t.TempDir())
			defer store.Close()
			incons := checkRulesCase(t, store, snapT, steps, perStep, 1, "k", true, want)
			in := incons[0]
			if in.Field != "q" || string(in.Expected) != `"x"` || string(in.Found) != "null" || in.EventID != "e1" {
				t.Fatalf("inconsistency %+v, want field q, expected \"x\", found null, event e1", in)
			}
		})
	}
}
