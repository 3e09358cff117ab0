package resync_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tidemark-dev/tidemark/resync"
)

func schemaDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "docs", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// emitted returns the lines of a small re-sync.
func emitted(t *testing.T) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	e := resync.New(&buf, resync.Options{Entity: "tenure", SourceDomain: "Tenure", SourceSystem: "tidemark",
		Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
	if err := e.Send("k", "", json.RawMessage(`{"id":"k"}`), clock, ""); !errors.Is(err, resync.ErrOrder) {
		t.Fatalf("Send before Start: %v", err)
	}
	if err := e.Start(3); err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"a", "b", "c"} {
		img := json.RawMessage(`{"id":"` + k + `","rent":112.54,"members":[{"fullName":"A Person"}]}`)
		if err := e.Send(k, "", img, clock.Add(-time.Hour), []string{"3", "", "7"}[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := e.Complete(); !errors.Is(err, resync.ErrOrder) {
		t.Fatalf("Complete twice: %v", err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5", len(lines))
	}
	return lines
}

// TestMessagesMatchJSONSchemas: every message validates against the JSON
// Schema of its type, and the schemas reject broken messages.
func TestMessagesMatchJSONSchemas(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schemas := map[string]*jsonschema.Schema{}
	for typ, file := range map[string]string{resync.TypeStarted: "resync-started.schema.json",
		resync.TypeCurrentState: "current-state-event.schema.json", resync.TypeCompleted: "resync-completed.schema.json"} {
		sch, err := c.Compile(filepath.Join(schemaDir(t), file))
		if err != nil {
			t.Fatal(err)
		}
		schemas[typ] = sch
	}
	for _, l := range emitted(t) {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(l))
		if err != nil {
			t.Fatal(err)
		}
		typ := v.(map[string]any)["eventType"].(string)
		if err := schemas[typ].Validate(v); err != nil {
			t.Errorf("%s does not match its schema: %v\n%s", typ, err, l)
		}
	}
	for name, bad := range map[string]string{
		"no image":        `{"id":"1","eventType":"CurrentStateEvent","sourceDomain":"T","sourceSystem":"s","version":"v1","correlationId":"r","dateTime":"2026-11-02T03:00:00Z","entityId":"a","resync":{"resyncId":"r","entity":"tenure","sequence":1,"asOf":"2026-11-02T03:00:00Z"},"eventData":{"oldData":null,"newData":null}}`,
		"sequence 0":      `{"id":"1","eventType":"CurrentStateEvent","sourceDomain":"T","sourceSystem":"s","version":"v1","correlationId":"r","dateTime":"2026-11-02T03:00:00Z","entityId":"a","resync":{"resyncId":"r","entity":"tenure","sequence":0,"asOf":"2026-11-02T03:00:00Z"},"eventData":{"newData":{"id":"a"}}}`,
		"bad entity name": `{"id":"1","eventType":"CurrentStateEvent","sourceDomain":"T","sourceSystem":"s","version":"v1","correlationId":"r","dateTime":"2026-11-02T03:00:00Z","entityId":"a","resync":{"resyncId":"r","entity":"Tenure","sequence":1,"asOf":"2026-11-02T03:00:00Z"},"eventData":{"newData":{"id":"a"}}}`,
		"bad date":        `{"id":"1","eventType":"CurrentStateEvent","sourceDomain":"T","sourceSystem":"s","version":"v1","correlationId":"r","dateTime":"yesterday","entityId":"a","resync":{"resyncId":"r","entity":"tenure","sequence":1,"asOf":"2026-11-02T03:00:00Z"},"eventData":{"newData":{"id":"a"}}}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if schemas[resync.TypeCurrentState].Validate(v) == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"id":"1","eventType":"ResyncCompleted","sourceDomain":"T","sourceSystem":"s","version":"v1","correlationId":"r","dateTime":"2026-11-02T03:00:00Z","resync":{"resyncId":"r","entity":"tenure","startedAt":"2026-11-02T03:00:00Z","count":3,"keysDigest":"xyz"}}`))
	if schemas[resync.TypeCompleted].Validate(v) == nil {
		t.Error("a digest that is not 16 hex digits passes")
	}
}

// avroMarker and avroItem are the Avro shapes of the messages.
type avroMarker struct {
	ID            string    `avro:"id"`
	EventType     string    `avro:"eventType"`
	SourceDomain  string    `avro:"sourceDomain"`
	SourceSystem  string    `avro:"sourceSystem"`
	Version       string    `avro:"version"`
	CorrelationID string    `avro:"correlationId"`
	DateTime      time.Time `avro:"dateTime"`
	ResyncID      string    `avro:"resyncId"`
	Entity        string    `avro:"entity"`
	StartedAt     time.Time `avro:"startedAt"`
	ExpectedCount *int64    `avro:"expectedCount"`
	Count         *int64    `avro:"count"`
	KeysDigest    *string   `avro:"keysDigest"`
}

type avroItem struct {
	ID            string    `avro:"id"`
	SourceDomain  string    `avro:"sourceDomain"`
	SourceSystem  string    `avro:"sourceSystem"`
	Version       string    `avro:"version"`
	CorrelationID string    `avro:"correlationId"`
	DateTime      time.Time `avro:"dateTime"`
	EntityID      string    `avro:"entityId"`
	ResyncID      string    `avro:"resyncId"`
	Entity        string    `avro:"entity"`
	Sequence      int64     `avro:"sequence"`
	AsOf          time.Time `avro:"asOf"`
	EntityVersion *string   `avro:"entityVersion"`
	RangeKey      *string   `avro:"rangeKey"`
	NewDataJSON   string    `avro:"newDataJson"`
}

// TestMessagesFitAvroSchemas: every message, in its Avro shape, encodes
// with the committed Avro schema and decodes back unchanged.
func TestMessagesFitAvroSchemas(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(schemaDir(t), "resync-events.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := avro.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	union := parsed.(*avro.UnionSchema)
	byName := map[string]avro.Schema{}
	for _, s := range union.Types() {
		byName[s.(avro.NamedSchema).Name()] = s
	}
	parse := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	for _, l := range emitted(t) {
		var ev struct {
			resync.Event
			Resync    json.RawMessage `json:"resync"`
			EventData struct {
				NewData json.RawMessage `json:"newData"`
			} `json:"eventData"`
		}
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatal(err)
		}
		var in, out any
		if ev.EventType == resync.TypeCurrentState {
			var it resync.Item
			json.Unmarshal(ev.Resync, &it)
			a := avroItem{ID: ev.ID, SourceDomain: ev.SourceDomain, SourceSystem: ev.SourceSystem, Version: ev.Version,
				CorrelationID: ev.CorrelationID, DateTime: parse(ev.DateTime), EntityID: ev.EntityID, ResyncID: it.ResyncID,
				Entity: it.Entity, Sequence: it.Sequence, AsOf: it.AsOf.UTC(), NewDataJSON: string(ev.EventData.NewData)}
			if it.Version != "" {
				a.EntityVersion = &it.Version
			}
			in, out = &a, &avroItem{}
			check(t, byName["CurrentStateEvent"], in, out)
			continue
		}
		var m resync.Marker
		json.Unmarshal(ev.Resync, &m)
		a := avroMarker{ID: ev.ID, EventType: ev.EventType, SourceDomain: ev.SourceDomain, SourceSystem: ev.SourceSystem,
			Version: ev.Version, CorrelationID: ev.CorrelationID, DateTime: parse(ev.DateTime), ResyncID: m.ResyncID,
			Entity: m.Entity, StartedAt: m.StartedAt.UTC(), ExpectedCount: m.ExpectedCount, Count: m.Count}
		if m.KeysDigest != "" {
			a.KeysDigest = &m.KeysDigest
		}
		check(t, byName["ResyncMarker"], &a, &avroMarker{})
	}
}

func check(t *testing.T, s avro.Schema, in, out any) {
	t.Helper()
	b, err := avro.Marshal(s, in)
	if err != nil {
		t.Fatalf("encoding %+v: %v", in, err)
	}
	if err := avro.Unmarshal(s, b, out); err != nil {
		t.Fatal(err)
	}
	ib, _ := json.Marshal(in)
	ob, _ := json.Marshal(out)
	if string(ib) != string(ob) {
		t.Fatalf("Avro round trip changed\n%s\n%s", ib, ob)
	}
}

// TestDigest: the completed marker's count and digest are those of the keys
// sent, in any order.
func TestDigest(t *testing.T) {
	lines := emitted(t)
	var done struct {
		Resync resync.Marker `json:"resync"`
	}
	json.Unmarshal(lines[len(lines)-1], &done)
	want := resync.Digest(resync.KeyHash("c") + resync.KeyHash("a") + resync.KeyHash("b"))
	if *done.Resync.Count != 3 || done.Resync.KeysDigest != want {
		t.Fatalf("completed %+v, want count 3 digest %s", done.Resync, want)
	}
	if resync.Digest(resync.KeyHash("a")+resync.KeyHash("b")) == want {
		t.Fatal("a missing key leaves the digest unchanged")
	}
}
