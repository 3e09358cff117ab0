package event

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// testMapper builds the mapper of testdata/tidemark.yaml: tenure and
// contact_details.
func testMapper(t testing.TB) *Mapper {
	t.Helper()
	cfg, err := config.Load(filepath.Join("testdata", "tidemark.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMapper(cfg.Entities)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeGood(t testing.TB, file string) *Envelope {
	t.Helper()
	env, err := Decode(readFile(t, "good", file), 0)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return env
}

func TestMapperKnown(t *testing.T) {
	m := testMapper(t)
	for _, typ := range []string{"TenureCreatedEvent", "TenureUpdatedEvent", "PersonAddedToTenureEvent",
		"PersonRemovedFromTenureEvent", "ContactDetailAddedEvent", "ContactDetailEditedEvent", "ContactDetailDeletedEvent"} {
		if !m.Known(typ) {
			t.Errorf("Known(%q) = false", typ)
		}
	}
	for _, typ := range []string{"", "PersonCreatedEvent", "tenureCreatedEvent", "TenureDeletedEvent"} {
		if m.Known(typ) {
			t.Errorf("Known(%q) = true", typ)
		}
	}
}

func TestNewMapperRejectsBadOp(t *testing.T) {
	_, err := NewMapper([]config.Entity{{Name: "tenure", HashKey: config.KeyAttr{Name: "id"},
		Events: map[string]string{"TenureCreatedEvent": "insert"}}})
	if err == nil || !strings.Contains(err.Error(), "entity tenure event TenureCreatedEvent: unknown operation \"insert\"") {
		t.Errorf("error = %v", err)
	}
}

func TestMapperChange(t *testing.T) {
	m := testMapper(t)
	pos := change.Position{Source: "events:events/tenure.jsonl", Offset: 4096}
	tests := []struct {
		file       string
		entity     string
		key        change.Key
		op         change.Op
		label      string
		imageKeys  int
		oldNil     bool
		check      func(t *testing.T, c *change.Change)
		system, id string
	}{
		{
			file: "tenure_created.json", entity: "tenure", key: change.Key{Hash: ddbjson.S(tenureID)},
			op: change.OpUpsert, label: "create", imageKeys: 26, oldNil: true, system: "TenureAPI",
			id: "3f6b2c1d-9e8a-4b7c-a5d4-e3f2a1b0c9d8",
			check: func(t *testing.T, c *change.Change) {
				if got := changetest.Image(t, c)["charges"].Map["rent"]; got.Str != "112.54" {
					t.Errorf("charges.rent = %#v", got)
				}
				if got := changetest.Image(t, c)["id"]; got.Kind != ddbjson.KindS || got.Str != tenureID {
					t.Errorf("image id = %#v", got)
				}
			},
		},
		{
			file: "tenure_updated.json", entity: "tenure", key: change.Key{Hash: ddbjson.S(tenureID)},
			op: change.OpPatch, label: "update", imageKeys: 3, system: "ProcessesAPI",
			id: "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
			check: func(t *testing.T, c *change.Change) {
				if _, ok := changetest.Image(t, c)["id"]; ok {
					t.Error("a patch image gained the key attribute")
				}
				if changetest.Image(t, c)["endOfTenureDate"].Str != "2024-04-01T00:00:00" || !changetest.Old(t, c)["endOfTenureDate"].IsNull() {
					t.Errorf("endOfTenureDate new %#v old %#v", changetest.Image(t, c)["endOfTenureDate"], changetest.Old(t, c)["endOfTenureDate"])
				}
				if changetest.Old(t, c)["charges"].Map["rent"].Str != "112.54" || changetest.Image(t, c)["charges"].Map["rent"].Str != "115.00" {
					t.Error("charges.rent old/new not kept exactly")
				}
			},
		},
		{
			file: "person_added.json", entity: "tenure", key: change.Key{Hash: ddbjson.S(tenureID)},
			op: change.OpPatch, label: "update", imageKeys: 1, system: "TenureAPI",
			id: "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
			check: func(t *testing.T, c *change.Change) {
				if got := memberIDs(changetest.Image(t, c)["householdMembers"]); len(got) != 2 || got[0] != memberA || got[1] != memberB {
					t.Errorf("householdMembers = %q", got)
				}
				if got := memberIDs(changetest.Old(t, c)["householdMembers"]); len(got) != 1 {
					t.Errorf("old householdMembers = %q", got)
				}
			},
		},
		{
			file: "person_removed.json", entity: "tenure", key: change.Key{Hash: ddbjson.S(tenureID)},
			op: change.OpPatch, label: "update", imageKeys: 1, system: "TenureAPI",
			id: "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f",
			check: func(t *testing.T, c *change.Change) {
				if got := memberIDs(changetest.Image(t, c)["householdMembers"]); len(got) != 1 || got[0] != memberA {
					t.Errorf("householdMembers = %q", got)
				}
			},
		},
		{
			file: "sns_tenure_updated.json", entity: "tenure", key: change.Key{Hash: ddbjson.S(tenureID)},
			op: change.OpPatch, label: "update", imageKeys: 3, system: "ProcessesAPI",
			id:    "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
			check: func(t *testing.T, c *change.Change) {},
		},
		{
			file: "contact_detail_added.json", entity: "contact_details",
			key: change.Key{Hash: ddbjson.S(memberA), Range: ddbjson.S("3c1e2d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")},
			op:  change.OpUpsert, label: "create", imageKeys: 8, oldNil: true, system: "ContactDetailsAPI",
			id: "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a",
			check: func(t *testing.T, c *change.Change) {
				if changetest.Image(t, c)["targetId"].Str != memberA || changetest.Image(t, c)["id"].Str != "3c1e2d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f" {
					t.Errorf("image keys targetId %q id %q", changetest.Image(t, c)["targetId"].Str, changetest.Image(t, c)["id"].Str)
				}
				if got := c.Key.String(); got != memberA+"|3c1e2d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f" {
					t.Errorf("Key.String() = %q", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			env := decodeGood(t, tt.file)
			c, err := m.Change(env, pos)
			if err != nil {
				t.Fatalf("Change: %v", err)
			}
			if c.Entity != tt.entity || c.Op != tt.op || c.Label() != tt.label {
				t.Errorf("entity %q op %v label %q; want %q %v %q", c.Entity, c.Op, c.Label(), tt.entity, tt.op, tt.label)
			}
			if string(c.Key.Bytes()) != string(tt.key.Bytes()) || c.Key.Validate() != nil {
				t.Errorf("key %s, want %s", c.Key, tt.key)
			}
			if len(changetest.Image(t, c)) != tt.imageKeys {
				t.Errorf("image has %d attributes, want %d", len(changetest.Image(t, c)), tt.imageKeys)
			}
			if tt.oldNil != (c.Old == nil && c.OldBin == nil) {
				t.Errorf("Old = %v, want nil: %v", changetest.Old(t, c), tt.oldNil)
			}
			if c.Origin != change.OriginEvent || c.EventID != tt.id || c.EventType != env.EventType || c.SourceSystem != tt.system {
				t.Errorf("origin %q event id %q type %q system %q", c.Origin, c.EventID, c.EventType, c.SourceSystem)
			}
			if !c.EventTime.Equal(env.DateTime) || c.EventTime.IsZero() || !c.AsOf.IsZero() {
				t.Errorf("EventTime %v AsOf %v", c.EventTime, c.AsOf)
			}
			if c.Pos != pos {
				t.Errorf("Pos = %+v, want %+v", c.Pos, pos)
			}
			if c.Version != "" {
				t.Errorf("Version = %q; Hackney events carry none", c.Version)
			}
			tt.check(t, c)
		})
	}
}

// mapperFor builds a mapper for one entity from YAML, through config
// validation (which fills in the defaults).
func mapperFor(t *testing.T, entityYAML string) *Mapper {
	t.Helper()
	cfg, err := config.ParseConfig(strings.NewReader("entities:\n" + entityYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	m, err := NewMapper(cfg.Entities)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func envelope(t *testing.T, js string) *Envelope {
	t.Helper()
	env, err := Decode([]byte(js), 0)
	if err != nil {
		t.Fatalf("Decode(%s): %v", js, err)
	}
	return env
}

func TestMapperDelete(t *testing.T) {
	m := testMapper(t)
	env := envelope(t, `{"id":"e1","eventType":"ContactDetailDeletedEvent","dateTime":"2024-03-20T10:00:00Z","entityId":"`+memberA+`",
		"eventData":{"oldData":{"id":"3c1e2d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f","isActive":true},"newData":{"id":"3c1e2d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f","isActive":false}}}`)
	c, err := m.Change(env, change.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Op != change.OpDelete || c.Label() != "delete" || c.Image != nil || c.ImageBin != nil || !changetest.Old(t, c)["isActive"].Bool {
		t.Errorf("delete change: op %v image %v old %v", c.Op, changetest.Image(t, c), changetest.Old(t, c))
	}
	if c.Key.Range.Str != "3c1e2d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f" {
		t.Errorf("range key = %#v", c.Key.Range)
	}
}

func TestMapperNumberKey(t *testing.T) {
	m := mapperFor(t, `
  - name: account
    table: Accounts
    hash_key: {name: accountNumber, type: N}
    events: {AccountCreatedEvent: create, AccountUpdatedEvent: patch}
`)
	tests := []struct {
		entityID string // JSON text
		want     string // canonical key, "" for an error
		reason   string
	}{
		{`12345`, "12345", ""},
		{`"12345"`, "12345", ""},
		{`1.2345e4`, "12345", ""},
		{`"12x"`, "", "key entityId is a string, want N"},
		{`true`, "", "key entityId is a boolean, want N"},
		{`{"n":1}`, "", "key entityId is an object, want N"},
	}
	for _, tt := range tests {
		env := envelope(t, `{"id":"e","eventType":"AccountUpdatedEvent","dateTime":"2024-03-20T10:00:00Z","entityId":`+tt.entityID+`,"eventData":{"newData":{"balance":1}}}`)
		c, err := m.Change(env, change.Position{})
		if tt.want == "" {
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.reason {
				t.Errorf("entityId %s: error %v, want reason %q", tt.entityID, err, tt.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("entityId %s: %v", tt.entityID, err)
			continue
		}
		if c.Key.Hash.Kind != ddbjson.KindN || ddbjson.CanonicalNumber(c.Key.Hash.Str) != tt.want {
			t.Errorf("entityId %s: key %#v", tt.entityID, c.Key.Hash)
		}
	}
}

func TestMapperKeyFromPath(t *testing.T) {
	m := mapperFor(t, `
  - name: notes
    table: Notes
    hash_key: {name: targetId, from: eventData.newData.targetId}
    range_key: {name: id, from: eventData.newData.id}
    events: {NoteCreatedEvent: create}
`)
	ok := envelope(t, `{"id":"e","eventType":"NoteCreatedEvent","dateTime":"2024-03-20T10:00:00Z","entityId":"ignored",
		"eventData":{"newData":{"targetId":"T1","id":"N1","description":"Rent arrears letter sent"}}}`)
	c, err := m.Change(ok, change.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Key.String() != "T1|N1" || changetest.Image(t, c)["description"].Str != "Rent arrears letter sent" {
		t.Errorf("key %s image %v", c.Key, changetest.Image(t, c))
	}
	// The path goes through a value that is not an object.
	bad := envelope(t, `{"id":"e","eventType":"NoteCreatedEvent","dateTime":"2024-03-20T10:00:00Z",
		"eventData":{"newData":"flat","oldData":null,"x":1}}`)
	_, err = m.Change(bad, change.Position{})
	var e *Error
	if !errors.As(err, &e) || e.Reason != "key eventData.newData.targetId is missing" {
		t.Errorf("error = %v", err)
	}
}

// TestMapperCreateSetsKeyInImage: a create whose newData lacks the key
// attribute gets it from the envelope, so the image is a whole item.
func TestMapperCreateSetsKeyInImage(t *testing.T) {
	m := testMapper(t)
	env := envelope(t, `{"id":"e","eventType":"TenureCreatedEvent","dateTime":"2024-03-20T10:00:00Z","entityId":"`+tenureID+`",
		"eventData":{"oldData":null,"newData":{"paymentReference":"1919401203"}}}`)
	c, err := m.Change(env, change.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if changetest.Image(t, c)["id"].Str != tenureID || changetest.Image(t, c)["paymentReference"].Str != "1919401203" || len(changetest.Image(t, c)) != 2 {
		t.Errorf("image = %v", changetest.Image(t, c))
	}
}

func TestMapperGUIDFormat(t *testing.T) {
	m := testMapper(t)
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{tenureID, true},
		{strings.ToUpper(tenureID), true},
		{"8f0c3a526d2e4b1a9c7e2f5d1e8a4b10", false},
		{"{" + tenureID + "}", false},
		{tenureID + " ", false},
		{"8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b1g", false},
	} {
		env := envelope(t, `{"id":"e","eventType":"TenureUpdatedEvent","dateTime":"2024-03-20T10:00:00Z","entityId":"`+tt.id+`","eventData":{"newData":{"isSublet":true}}}`)
		_, err := m.Change(env, change.Position{})
		if tt.ok != (err == nil) {
			t.Errorf("entityId %q: error %v, want ok %v", tt.id, err, tt.ok)
		}
	}
}

// TestResyncRangeKey: a current-state event of a table with a range key
// maps to the hash and range key, the range typed as the table's.
func TestResyncRangeKey(t *testing.T) {
	m, err := NewMapper([]config.Entity{{Name: "contact_details", Table: "ContactDetails",
		HashKey:  config.KeyAttr{Name: "targetId", Type: "S", From: "entityId"},
		RangeKey: &config.KeyAttr{Name: "seq", Type: "N", From: "eventData.newData.seq"}}})
	if err != nil {
		t.Fatal(err)
	}
	line := `{"id":"e1","eventType":"CurrentStateEvent","sourceDomain":"ContactDetails","sourceSystem":"s","version":"v1",` +
		`"correlationId":"r","dateTime":"2026-11-02T03:00:00Z","entityId":"h1",` +
		`"resync":{"resyncId":"r","entity":"contact_details","sequence":1,"asOf":"2026-11-02T03:00:00Z","rangeKey":"42"},` +
		`"eventData":{"oldData":null,"newData":{"targetId":"h1","seq":42,"value":"x"}}}`
	env, err := Decode([]byte(line), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Change(env, change.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Key.String() != "h1|42" || c.Key.Range.Kind != ddbjson.KindN || c.Resync == nil || c.Resync.Kind != change.ResyncItem {
		t.Fatalf("change %+v key %#v", c, c.Key)
	}
	bad := strings.Replace(line, `"rangeKey":"42"`, `"rangeKey":"x"`, 1)
	env, _ = Decode([]byte(bad), 0)
	if _, err := m.Change(env, change.Position{}); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Fatalf("a bad range key: %v", err)
	}
}
