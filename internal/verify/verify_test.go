package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

var (
	snap   = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	export = snap.Add(2 * time.Hour)
)

// rows is a change.Source over a slice.
type rows struct{ recs []change.Record }

func (r *rows) Next(context.Context) (change.Record, error) {
	if len(r.recs) == 0 {
		return change.Record{}, io.EOF
	}
	rec := r.recs[0]
	r.recs = r.recs[1:]
	return rec, nil
}
func (r *rows) Close() error { return nil }

func img(id string, kv ...string) ddbjson.Map {
	m := ddbjson.Map{"id": ddbjson.S(id)}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = ddbjson.S(kv[i+1])
	}
	return m
}

func row(m ddbjson.Map, at time.Time, version string) *change.Change {
	if version != "" {
		m["versionNumber"] = ddbjson.N(version)
	}
	return &change.Change{Entity: "t", Key: change.Key{Hash: m["id"]}, Op: change.OpUpsert, Image: m, Version: version,
		AsOf: at, EventTime: at, Origin: change.OriginSnapshot}
}

func event(id, key string, at time.Time, old, new ddbjson.Map) *change.Change {
	return &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(key)}, Op: change.OpPatch, Image: new, Old: old,
		EventTime: at, Origin: change.OriginEvent, EventID: id, EventType: "TenureUpdatedEvent"}
}

func setup(t *testing.T) (*state.Store, *apply.Materializer) {
	t.Helper()
	s, err := state.Open(t.TempDir(), state.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mat := apply.New(s, map[string]apply.Entity{"t": {HashAttr: "id"}}, apply.Options{ClockSkew: time.Second})
	txn := mat.Begin()
	if err := mat.SetSnapshotAsOf(txn, "t", snap); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*change.Change{
		row(img("same", "a", "1"), snap, "1"),
		row(img("silent", "a", "1", "b", "x"), snap, "1"),
		row(img("patched", "a", "1"), snap, "1"),
		row(img("gone", "a", "1"), snap, "1"),
		row(img("late", "a", "1"), snap, "1"),
		// The silent writer changed b, then an event changed a with an
		// oldData that no longer matched.
		event("e1", "silent", snap.Add(time.Minute), ddbjson.Map{"a": ddbjson.S("0")}, ddbjson.Map{"a": ddbjson.S("2")}),
	} {
		if _, err := mat.Apply(txn, c); err != nil {
			t.Fatal(err)
		}
	}
	// "late" changed after the export: not compared.
	late := event("e2", "late", export.Add(time.Minute), nil, ddbjson.Map{"a": ddbjson.S("9")})
	if _, err := mat.Apply(txn, late); err != nil {
		t.Fatal(err)
	}
	if err := txn.AddDeadLetter(state.DeadLetter{Reason: `unknown event type "PersonRemovedFromTenureEvent" (map it)`,
		Raw: []byte(`{"id":"e3","eventType":"PersonRemovedFromTenureEvent","entityId":"patched"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	return s, mat
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct{ repair, unreadable bool }{{false, true}, {true, false}, {true, true}} {
		repair := tc.repair
		s, mat := setup(t)
		source := []*change.Change{
			row(img("same", "a", "1"), export, "7"),             // matches (the version is ignored)
			row(img("silent", "a", "2", "b", "y"), export, "3"), // b differs: the silent writer
			row(img("patched", "a", "1", "m", "[]"), export, "2"),
			row(img("late", "a", "5"), export, "4"),
			row(img("new", "a", "1"), export, "1"),
		}
		var recs []change.Record
		for _, c := range source {
			recs = append(recs, change.Record{Change: c, Next: change.Position{Source: "x", Offset: 1}})
		}
		if tc.unreadable {
			recs = append(recs, change.Record{Dead: &change.DeadLetter{Reason: "bad"}})
		}
		var report bytes.Buffer
		v := New(s, mat, Options{Entity: "t", HashAttr: "id", Ignore: []string{"versionNumber"}, Report: &report,
			Repair: repair, ScratchDir: t.TempDir()})
		res, err := v.Run(context.Background(), &rows{recs: recs})
		if err != nil {
			t.Fatal(err)
		}
		want := Result{Matching: 1, MissingInCopy: 1, ExtraInCopy: 1, Differing: 2, Newer: 1}
		switch {
		case tc.unreadable && repair:
			// An unreadable source row may be the extra key: never deleted.
			want.UnreadableRows, want.Repaired = 1, 3
		case tc.unreadable:
			want.UnreadableRows = 1
		case repair:
			want.Repaired = 4
		}
		if res != want {
			t.Fatalf("%+v: %+v, want %+v", tc, res, want)
		}
		if tc.unreadable && repair {
			if !strings.Contains(report.String(), "not repaired: the source had unreadable rows") {
				t.Errorf("report does not say why the extra key was kept:\n%s", report.String())
			}
			continue
		}
		entries := map[string]Entry{}
		for _, l := range strings.Split(strings.TrimSpace(report.String()), "\n") {
			var e Entry
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatal(err)
			}
			entries[e.Key] = e
		}
		checks := map[string]struct{ status, field, cause string }{
			"silent":  {"differs", "b", "silent writer"},
			"patched": {"differs", "m", "PersonRemovedFromTenureEvent"},
			"new":     {"missing_in_copy", "", "created at the source"},
			"gone":    {"extra_in_copy", "", "deleted at the source"},
		}
		if len(entries) != len(checks) {
			t.Errorf("report has %d entries, want %d:\n%s", len(entries), len(checks), report.String())
		}
		for k, c := range checks {
			e := entries[k]
			fields := ""
			for _, f := range e.Fields {
				fields += f.Field
			}
			if e.Status != c.status || fields != c.field || !strings.Contains(strings.Join(e.Causes, ";"), c.cause) {
				t.Errorf("%s: %+v, want %s in %q because %q", k, e, c.status, c.field, c.cause)
			}
		}
		if !repair {
			continue
		}
		// After the repair the copy agrees with the source.
		v = New(s, mat, Options{Entity: "t", HashAttr: "id", Ignore: []string{"versionNumber"}, ScratchDir: t.TempDir()})
		recs = recs[:0]
		for _, c := range source {
			recs = append(recs, change.Record{Change: c})
		}
		res, err = v.Run(context.Background(), &rows{recs: recs})
		if err != nil || res.Drift() != 0 {
			t.Fatalf("after repair: %+v, %v", res, err)
		}
		hist, _ := s.History("t", change.Key{Hash: ddbjson.S("silent")}.Bytes())
		if last := hist[len(hist)-1]; last.Op != "repair" || last.Image["b"].Str != "y" {
			t.Errorf("last history row of silent: %+v", last)
		}
	}
}

// TestEmptySource: an empty source with its own time reports every live key
// of the copy as extra; without a time it is an error, never "no drift".
func TestEmptySource(t *testing.T) {
	s, mat := setup(t)
	res, err := New(s, mat, Options{Entity: "t", HashAttr: "id", ScratchDir: t.TempDir(), SourceAsOf: export}).Run(context.Background(), &rows{})
	if err != nil || res.ExtraInCopy != 4 || res.Newer != 1 {
		t.Fatalf("empty export: %+v, %v; want 4 extra (and the one changed after it not judged)", res, err)
	}
	if _, err := New(s, mat, Options{Entity: "t", HashAttr: "id", ScratchDir: t.TempDir()}).Run(context.Background(), &rows{}); err == nil {
		t.Fatal("an empty source without a time gave a verdict")
	}
}
