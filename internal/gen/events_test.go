package gen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// testEvent is a valid event line, decoded.
type testEvent struct {
	id, eventType, entityID string
	at                      time.Time
	old, new                ddbjson.Map // old is nil for a create
	sns                     bool
}

var (
	guidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	dateTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`)
)

// parseEvent checks a line as a strict consumer would; an error means the
// line is not a valid Tenure event.
func parseEvent(line []byte) (*testEvent, error) {
	if len(line) > 256<<10 {
		return nil, fmt.Errorf("line of %d bytes", len(line))
	}
	if !utf8.Valid(line) {
		return nil, fmt.Errorf("invalid UTF-8")
	}
	var wrapper struct{ Type, Message string }
	if err := json.Unmarshal(line, &wrapper); err != nil {
		return nil, err
	}
	sns := wrapper.Type == "Notification"
	if sns {
		line = []byte(wrapper.Message)
	}
	ev, err := parseEnvelope(line)
	if ev != nil {
		ev.sns = sns
	}
	return ev, err
}

func parseEnvelope(data []byte) (*testEvent, error) {
	var e struct {
		ID, EventType, SourceDomain, SourceSystem, Version, CorrelationID, DateTime, EntityID string
		User                                                                                  struct{ Name, Email string }
		EventData                                                                             struct{ OldData, NewData json.RawMessage }
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	at, err := time.Parse(time.RFC3339Nano, e.DateTime)
	switch {
	case !guidRE.MatchString(e.ID) || !guidRE.MatchString(e.CorrelationID) || !guidRE.MatchString(e.EntityID):
		return nil, fmt.Errorf("bad id, correlationId or entityId")
	case e.SourceDomain != "Tenure" || e.Version != "v1" || e.User.Name == "" || e.User.Email == "":
		return nil, fmt.Errorf("bad sourceDomain, version or user")
	case e.SourceSystem != "TenureAPI" && e.SourceSystem != "ProcessesAPI":
		return nil, fmt.Errorf("bad sourceSystem %q", e.SourceSystem)
	case err != nil || !dateTimeRE.MatchString(e.DateTime):
		return nil, fmt.Errorf("bad dateTime %q", e.DateTime)
	}
	ev := &testEvent{id: e.ID, eventType: e.EventType, entityID: e.EntityID, at: at}
	if ev.new, err = plainMap(e.EventData.NewData); err != nil {
		return nil, fmt.Errorf("newData: %w", err)
	}
	if string(e.EventData.OldData) != "null" {
		if ev.old, err = plainMap(e.EventData.OldData); err != nil {
			return nil, fmt.Errorf("oldData: %w", err)
		}
	}
	return ev, checkData(ev)
}

func plainMap(raw json.RawMessage) (ddbjson.Map, error) {
	v, err := ddbjson.FromJSON(raw)
	if err != nil {
		return nil, err
	}
	if v.Kind != ddbjson.KindM {
		return nil, fmt.Errorf("not an object")
	}
	return v.Map, nil
}

// checkData checks eventData against the event type.
func checkData(ev *testEvent) error {
	switch ev.eventType {
	case "TenureCreatedEvent":
		if ev.old != nil || ev.new["id"].Str != ev.entityID || ev.new["versionNumber"].Kind != ddbjson.KindInvalid {
			return fmt.Errorf("create: oldData not null, id not entityId, or a versionNumber")
		}
	case "TenureUpdatedEvent":
		if len(ev.new) == 0 || !slices.Equal(ev.old.SortedKeys(), ev.new.SortedKeys()) {
			return fmt.Errorf("update: oldData and newData differ in fields")
		}
	case "PersonAddedToTenureEvent", "PersonRemovedFromTenureEvent":
		if len(ev.old) != 1 || len(ev.new) != 1 || ev.old[fieldMembers].Kind != ddbjson.KindL ||
			ev.new[fieldMembers].Kind != ddbjson.KindL {
			return fmt.Errorf("person event without householdMembers lists")
		}
	default:
		return fmt.Errorf("unknown eventType %q", ev.eventType)
	}
	return nil
}

func TestEventsFile(t *testing.T) {
	dir, sum := generated(t)
	export := DefaultExportTime
	var lines, bad, dups, sns, before, beforeMax int
	seen := map[string]bool{}
	types := map[string]int{}
	var last time.Time
	forEachLine(t, filepath.Join(dir, EventsFile), func(line []byte) {
		lines++
		ev, err := parseEvent(line)
		switch {
		case err != nil:
			bad++
			return
		case seen[ev.id]:
			dups++
			return
		}
		seen[ev.id] = true
		types[ev.eventType]++
		if ev.sns {
			sns++
		}
		if ev.at.Before(last) || ev.at.Before(export.Add(-30*time.Minute)) {
			t.Fatalf("event %s at %v: out of publish order or before the file starts", ev.id, ev.at)
		}
		last = ev.at
		if ev.at.Before(export) {
			before++
		}
		if ev.at.Before(export.Add(800 * time.Millisecond)) {
			beforeMax++
		}
	})
	if len(seen) != sum.Events || dups != sum.Duplicates || bad != sum.BadLines || lines != sum.Events+sum.Duplicates+sum.BadLines {
		t.Errorf("file has %d events, %d duplicates, %d bad of %d lines; summary %+v", len(seen), dups, bad, lines, sum)
	}
	if sum.OverlapEvents < before || sum.OverlapEvents > beforeMax {
		t.Errorf("overlap %d, want between %d and %d", sum.OverlapEvents, before, beforeMax)
	}
	if share := float64(sns) / float64(len(seen)); share < 0.05 || share > 0.15 {
		t.Errorf("%.1f%% of events SNS-wrapped, want about 10%%", 100*share)
	}
	for _, typ := range eventTypes[1:] {
		if types[typ] == 0 {
			t.Errorf("no %s in the file", typ)
		}
	}
}

func TestBadLineKinds(t *testing.T) {
	m, _ := plan(1, 10, 100, DefaultExportTime)
	b := newBadLines(m, len(badKinds), 10)
	good := m.appendEvent(nil, &envelope{id: "3b0d206d-8f1f-434b-8648-fd4d381f5a06", eventType: "TenureUpdatedEvent",
		sourceSystem: "TenureAPI", correlationID: "3b0d206d-8f1f-434b-8648-fd4d381f5a06", user: officers[0],
		entityID: "3b0d206d-8f1f-434b-8648-fd4d381f5a06"}, ddbjson.Map{"a": ddbjson.S("x")}, ddbjson.Map{"a": ddbjson.S("y")})
	if _, err := parseEvent(good); err != nil {
		t.Fatalf("a good line fails the check: %v", err)
	}
	for i := range badKinds {
		line := b.line(i, good, 0)
		if ev, err := parseEvent(line); err == nil {
			t.Errorf("bad line kind %d passes as an event: %+v", i, ev)
		}
	}
}

// checkConsumer loads the export, applies the events as a correct consumer
// does (skipping duplicates, bad lines and events the export reflects) and
// compares the result with expected.jsonl, and the oldData mismatches it
// finds with inconsistencies.jsonl.
func checkConsumer(t *testing.T, dir string, sum Summary) {
	t.Helper()
	state := loadExport(t, dir, sum)
	found := map[string]bool{}
	seen := map[string]bool{}
	forEachLine(t, filepath.Join(dir, EventsFile), func(line []byte) {
		ev, err := parseEvent(line)
		if err != nil || seen[ev.id] {
			return
		}
		seen[ev.id] = true
		if ev.at.Before(DefaultExportTime) || reflected(state, ev) {
			return
		}
		for _, f := range applyEvent(t, state, ev) {
			found[ev.id+" "+f] = true
		}
	})
	want := map[string]bool{}
	forEachLine(t, filepath.Join(dir, InconsistencyFile), func(line []byte) {
		var inc struct{ EventID, Field string }
		if err := json.Unmarshal(line, &inc); err != nil {
			t.Fatal(err)
		}
		want[inc.EventID+" "+inc.Field] = true
	})
	if fmt.Sprint(found) != fmt.Sprint(want) {
		t.Errorf("consumer found %d mismatched fields, inconsistencies.jsonl lists %d", len(found), len(want))
	}
	expected := loadPlain(t, filepath.Join(dir, ExpectedFile))
	if len(expected) != len(state) {
		t.Fatalf("consumer has %d tenures, expected.jsonl %d", len(state), len(expected))
	}
	for id, item := range expected {
		if !ddbjson.EqualMaps(item, state[id]) {
			t.Fatalf("tenure %s: consumer and expected.jsonl differ", id)
		}
	}
}

// reflected reports whether an event published just after the export is
// already in it: the state holds its new values (no silent write comes this
// close to the export, so this cannot be confused with a later write).
func reflected(state map[string]ddbjson.Map, ev *testEvent) bool {
	if !ev.at.Before(DefaultExportTime.Add(time.Second)) {
		return false
	}
	cur, ok := state[ev.entityID]
	if ev.eventType == "TenureCreatedEvent" || !ok {
		return ok
	}
	for f, v := range ev.new {
		if !ddbjson.Equal(cur[f], v) {
			return false
		}
	}
	return true
}

// applyEvent applies an event and returns the oldData fields it found
// different in the state.
func applyEvent(t *testing.T, state map[string]ddbjson.Map, ev *testEvent) []string {
	if ev.eventType == "TenureCreatedEvent" {
		state[ev.entityID] = ev.new
		return nil
	}
	cur, ok := state[ev.entityID]
	if !ok {
		t.Fatalf("event %s for unknown tenure %s", ev.id, ev.entityID)
	}
	var mismatched []string
	for _, f := range ev.old.SortedKeys() {
		if !ddbjson.Equal(cur[f], ev.old[f]) {
			mismatched = append(mismatched, f)
		}
	}
	for f, v := range ev.new {
		cur[f] = v
	}
	return mismatched
}

func loadExport(t *testing.T, dir string, sum Summary) map[string]ddbjson.Map {
	t.Helper()
	state := map[string]ddbjson.Map{}
	for _, e := range readManifestFiles(t, filepath.Join(dir, filepath.FromSlash(sum.ExportDir))) {
		data, err := os.ReadFile(filepath.Join(dir, "export", filepath.FromSlash(e.DataFileS3Key)))
		if err != nil {
			t.Fatal(err)
		}
		forEachGzipLine(t, data, func(line []byte) {
			item, err := ddbjson.DecodeExportLine(line)
			if err != nil {
				t.Fatal(err)
			}
			state[item["id"].Str] = item
		})
	}
	return state
}

// loadPlain reads a file of plain JSON items keyed by id, checking that no
// id comes twice.
func loadPlain(t *testing.T, path string) map[string]ddbjson.Map {
	t.Helper()
	out := map[string]ddbjson.Map{}
	forEachLine(t, path, func(line []byte) {
		item, err := plainMap(line)
		if err != nil {
			t.Fatal(err)
		}
		id := item["id"].Str
		if _, dup := out[id]; dup {
			t.Fatalf("%s: id %s twice", filepath.Base(path), id)
		}
		out[id] = item
	})
	return out
}

func TestTruth(t *testing.T) {
	dir, sum := generated(t)
	checkConsumer(t, dir, sum)
	truth := loadPlain(t, filepath.Join(dir, TruthFile))
	expected := loadPlain(t, filepath.Join(dir, ExpectedFile))
	export := loadExport(t, dir, sum)
	differ := 0
	for id, want := range truth {
		got := expected[id]
		if want["versionNumber"].Kind != ddbjson.KindN {
			t.Fatalf("tenure %s: no versionNumber in truth", id)
		}
		if snap, ok := export[id]; ok && !ddbjson.Equal(got["versionNumber"], snap["versionNumber"]) {
			t.Fatalf("tenure %s: expected.jsonl version is not the export's", id)
		}
		delete(got, "versionNumber")
		delete(want, "versionNumber")
		if ddbjson.EqualMaps(got, want) {
			continue
		}
		differ++
		for f := range want {
			if !ddbjson.Equal(got[f], want[f]) && f != fieldMembers && f != fieldAsset {
				t.Errorf("tenure %s: field %s differs but no silent write touches it", id, f)
			}
		}
	}
	if differ == 0 || differ > sum.SilentWrites {
		t.Errorf("%d tenures differ between truth and expected, with %d silent writes", differ, sum.SilentWrites)
	}
}
