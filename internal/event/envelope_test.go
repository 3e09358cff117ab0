package event

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

const (
	tenureID = "8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10"
	memberA  = "5a1e8c3f-0b7d-4e29-a6f1-3c2d9b8e7f01"
	memberB  = "c7d9e2a1-4f3b-4c8d-9e0a-7b6c5d4e3f21"
)

func readFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

// asMap decodes an object of the envelope (nil when absent).
func asMap(t testing.TB, v ddbjson.RawValue) ddbjson.Map {
	t.Helper()
	d, err := v.Value()
	if err != nil {
		t.Fatalf("decoding %s: %v", v.Kind, err)
	}
	return d.Map
}

// memberIDs returns the ids of a householdMembers list.
func memberIDs(v ddbjson.Value) []string {
	var ids []string
	for _, m := range v.List {
		ids = append(ids, m.Map["id"].Str)
	}
	return ids
}

func TestDecodeValidEvents(t *testing.T) {
	tests := []struct {
		file                      string
		id, eventType, system     string
		domain                    string
		dateTime                  string
		entityID                  string
		oldKind, newKind          ddbjson.Kind
		newLen                    int
		check                     func(t *testing.T, env *Envelope)
		snsMessageID, snsTopicARN string
	}{
		{
			file: "tenure_created.json", id: "3f6b2c1d-9e8a-4b7c-a5d4-e3f2a1b0c9d8", eventType: "TenureCreatedEvent",
			system: "TenureAPI", domain: "Tenure", dateTime: "2024-03-15T10:22:31.1234567Z", entityID: tenureID,
			oldKind: ddbjson.KindNULL, newKind: ddbjson.KindM, newLen: 26,
			check: func(t *testing.T, env *Envelope) {
				if env.OldData.Kind != ddbjson.KindNULL {
					t.Errorf("OldData = %v, want null", env.OldData.Kind)
				}
				n := asMap(t, env.NewData)
				if n["id"].Str != tenureID || n["paymentReference"].Str != "1919401203" {
					t.Errorf("newData id %q, paymentReference %q", n["id"].Str, n["paymentReference"].Str)
				}
				if got := n["charges"].Map["currentBalance"]; got.Kind != ddbjson.KindN || got.Str != "-23.10" {
					t.Errorf("charges.currentBalance = %#v, want exact N -23.10", got)
				}
				if got := memberIDs(n["householdMembers"]); strings.Join(got, ",") != memberA+","+memberB {
					t.Errorf("householdMembers ids = %q", got)
				}
				if !n["endOfTenureDate"].IsNull() || n["isTenanted"].Kind != ddbjson.KindBOOL || !n["isTenanted"].Bool {
					t.Errorf("endOfTenureDate %#v, isTenanted %#v", n["endOfTenureDate"], n["isTenanted"])
				}
			},
		},
		{
			file: "tenure_updated.json", id: "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d", eventType: "TenureUpdatedEvent",
			system: "ProcessesAPI", domain: "Tenure", dateTime: "2024-03-16T08:05:09.9876543Z", entityID: tenureID,
			oldKind: ddbjson.KindM, newKind: ddbjson.KindM, newLen: 3,
			check: func(t *testing.T, env *Envelope) {
				if got := asMap(t, env.NewData)["charges"].Map["rent"]; got.Str != "115.00" {
					t.Errorf("newData.charges.rent = %#v, want 115.00 as written", got)
				}
				if got := asMap(t, env.OldData)["charges"].Map["rent"]; got.Str != "112.54" {
					t.Errorf("oldData.charges.rent = %#v", got)
				}
				if asMap(t, env.OldData)["endOfTenureDate"].Kind != ddbjson.KindNULL || asMap(t, env.NewData)["endOfTenureDate"].Str != "2024-04-01T00:00:00" {
					t.Errorf("endOfTenureDate old %#v new %#v", asMap(t, env.OldData)["endOfTenureDate"], asMap(t, env.NewData)["endOfTenureDate"])
				}
			},
		},
		{
			file: "person_added.json", id: "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e", eventType: "PersonAddedToTenureEvent",
			system: "TenureAPI", domain: "Tenure", dateTime: "2024-03-17T12:00:00.0000001Z", entityID: tenureID,
			oldKind: ddbjson.KindM, newKind: ddbjson.KindM, newLen: 1,
			check: func(t *testing.T, env *Envelope) {
				if got := memberIDs(asMap(t, env.OldData)["householdMembers"]); len(got) != 1 || got[0] != memberA {
					t.Errorf("old members %q", got)
				}
				if got := memberIDs(asMap(t, env.NewData)["householdMembers"]); len(got) != 2 || got[1] != memberB {
					t.Errorf("new members %q", got)
				}
			},
		},
		{
			file: "person_removed.json", id: "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f", eventType: "PersonRemovedFromTenureEvent",
			system: "TenureAPI", domain: "Tenure", dateTime: "2024-03-18T16:45:00Z", entityID: tenureID,
			oldKind: ddbjson.KindM, newKind: ddbjson.KindM, newLen: 1,
			check: func(t *testing.T, env *Envelope) {
				if got := memberIDs(asMap(t, env.NewData)["householdMembers"]); len(got) != 1 || got[0] != memberA {
					t.Errorf("new members %q", got)
				}
				if got := asMap(t, env.OldData)["householdMembers"].List[1].Map["personTenureType"].Str; got != "HouseholdMember" {
					t.Errorf("removed member's personTenureType = %q", got)
				}
			},
		},
		{
			file: "sns_tenure_updated.json", id: "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d", eventType: "TenureUpdatedEvent",
			system: "ProcessesAPI", domain: "Tenure", dateTime: "2024-03-16T08:05:09.9876543Z", entityID: tenureID,
			oldKind: ddbjson.KindM, newKind: ddbjson.KindM, newLen: 3,
			snsMessageID: "0f1e2d3c-4b5a-4697-8877-665544332211", snsTopicARN: "arn:aws:sns:eu-west-2:123456789012:tenure.fifo",
			check: func(t *testing.T, env *Envelope) {
				if _, ok := asMap(t, env.Raw)["Type"]; ok {
					t.Error("Raw is the SNS wrapper, want the event inside")
				}
				if got := asMap(t, env.NewData)["charges"].Map["rent"].Str; got != "115.00" {
					t.Errorf("rent through SNS = %q", got)
				}
			},
		},
		{
			file: "contact_detail_added.json", id: "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a", eventType: "ContactDetailAddedEvent",
			system: "ContactDetailsAPI", domain: "ContactDetails", dateTime: "2024-03-19T09:30:00.5Z", entityID: memberA,
			oldKind: ddbjson.KindNULL, newKind: ddbjson.KindM, newLen: 8,
			check: func(t *testing.T, env *Envelope) {
				if got := asMap(t, env.NewData)["contactInformation"].Map["value"].Str; got != "07700 900123" {
					t.Errorf("contact value = %q", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readFile(t, "good", tt.file)
			env, err := Decode(raw, 256<<10)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if env.ID != tt.id || env.EventType != tt.eventType || env.SourceSystem != tt.system || env.SourceDomain != tt.domain {
				t.Errorf("id %q type %q system %q domain %q", env.ID, env.EventType, env.SourceSystem, env.SourceDomain)
			}
			if env.Version != "v1" || env.CorrelationID != "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e" {
				t.Errorf("version %q correlationId %q", env.Version, env.CorrelationID)
			}
			if want := mustTime(t, tt.dateTime); !env.DateTime.Equal(want) || env.DateTime.Location() != time.UTC {
				t.Errorf("DateTime = %v, want %v in UTC", env.DateTime, want)
			}
			if got := asMap(t, env.Raw)["entityId"].Str; got != tt.entityID {
				t.Errorf("Raw entityId = %q, want %q", got, tt.entityID)
			}
			if asMap(t, env.User)["name"].Str != "Priya Raman" || asMap(t, env.User)["email"].Str != "priya.raman@hackney.gov.uk" {
				t.Errorf("User = %v", asMap(t, env.User))
			}
			if env.OldData.Kind != tt.oldKind || env.NewData.Kind != tt.newKind || env.NewData.Len() != tt.newLen {
				t.Errorf("OldData %v NewData %v of %d members; want %v %v %d", env.OldData.Kind, env.NewData.Kind, env.NewData.Len(), tt.oldKind, tt.newKind, tt.newLen)
			}
			if tt.snsMessageID == "" {
				if env.SNS != nil {
					t.Errorf("SNS = %+v for a raw event", env.SNS)
				}
			} else if env.SNS == nil || env.SNS.MessageID != tt.snsMessageID || env.SNS.TopicArn != tt.snsTopicARN {
				t.Errorf("SNS = %+v", env.SNS)
			}
			tt.check(t, env)
		})
	}
}

// TestDecodeSNSMatchesRaw: an SNS-wrapped event decodes to what the raw
// event decodes to, apart from the SNS information.
func TestDecodeSNSMatchesRaw(t *testing.T) {
	raw, err := Decode(readFile(t, "good", "tenure_updated.json"), 0)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := Decode(readFile(t, "good", "sns_tenure_updated.json"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !ddbjson.EqualMaps(asMap(t, raw.Raw), asMap(t, wrapped.Raw)) || !ddbjson.EqualMaps(asMap(t, raw.NewData), asMap(t, wrapped.NewData)) ||
		!ddbjson.EqualMaps(asMap(t, raw.OldData), asMap(t, wrapped.OldData)) || !raw.DateTime.Equal(wrapped.DateTime) {
		t.Error("the SNS-wrapped event differs from the raw one")
	}
}

func TestDecodeOptionalFields(t *testing.T) {
	minimal := `{"id":"e1","eventType":"TenureUpdatedEvent","dateTime":"2024-03-16T08:05:09Z","eventData":{"newData":{"a":1}}}`
	env, err := Decode([]byte(minimal), 0)
	if err != nil {
		t.Fatal(err)
	}
	if env.SourceSystem != "" || env.SourceDomain != "" || env.Version != "" || env.CorrelationID != "" || env.User.Kind != ddbjson.KindInvalid {
		t.Errorf("absent optional fields decoded as %+v", env)
	}
	if env.OldData.Kind != ddbjson.KindInvalid {
		t.Errorf("absent oldData: kind %v", env.OldData.Kind)
	}
	nulls := `{"id":"e1","eventType":"X","dateTime":"2024-03-16T08:05:09Z","sourceSystem":null,"version":null,"user":"someone","eventData":{}}`
	env, err = Decode([]byte(nulls), 0)
	if err != nil {
		t.Fatal(err)
	}
	if env.SourceSystem != "" || env.User.Kind != ddbjson.KindInvalid || env.NewData.Kind != ddbjson.KindInvalid {
		t.Errorf("null optional fields decoded as %+v", env)
	}
}

func TestDecodeSizeLimit(t *testing.T) {
	raw := readFile(t, "good", "tenure_updated.json")
	if _, err := Decode(raw, len(raw)); err != nil {
		t.Errorf("a message of exactly max bytes: %v", err)
	}
	if _, err := Decode(raw, 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
	_, err := Decode(raw, len(raw)-1)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	want := "message of " + strconv.Itoa(len(raw)) + " bytes is over the limit of " + strconv.Itoa(len(raw)-1) + " (max_message_bytes)"
	if e.Reason != want {
		t.Errorf("reason %q, want %q", e.Reason, want)
	}
	if !errors.Is(err, ErrOversize) {
		t.Errorf("error %v does not wrap ErrOversize", err)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC, "" for an error
	}{
		{"2024-03-15T10:22:31.1234567Z", "2024-03-15T10:22:31.1234567Z"},
		{"2024-03-15T10:22:31Z", "2024-03-15T10:22:31Z"},
		{"2024-03-15T10:22:31.123456789Z", "2024-03-15T10:22:31.123456789Z"},
		{"2024-03-15T11:22:31.5+01:00", "2024-03-15T10:22:31.5Z"},
		{"2024-03-15T05:22:31-05:00", "2024-03-15T10:22:31Z"},
		{"2024-03-15T10:22:31.1234567", "2024-03-15T10:22:31.1234567Z"},
		{"2024-03-15T10:22:31", "2024-03-15T10:22:31Z"},
		{"1979-04-12T00:00:00", "1979-04-12T00:00:00Z"},
		{"2024-03-15", ""},
		{"15/03/2024 10:22:31", ""},
		{"2024-03-15 10:22:31Z", ""},
		{"2024-13-15T10:22:31Z", ""},
		{"2024-02-30T10:22:31Z", ""},
		{"1710498151", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseTime(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tt.in, err)
			continue
		}
		if s := got.Format(time.RFC3339Nano); s != tt.want || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %s (%v), want %s in UTC", tt.in, s, got.Location(), tt.want)
		}
	}
}

func TestErrorType(t *testing.T) {
	err := errorf("key %s is missing", "entityId")
	var e *Error
	if !errors.As(err, &e) || e.Reason != "key entityId is missing" || err.Error() != e.Reason {
		t.Errorf("errorf gave %#v", err)
	}
}

func TestPlainKind(t *testing.T) {
	tests := []struct {
		k    ddbjson.Kind
		want string
	}{
		{ddbjson.KindS, "string"}, {ddbjson.KindN, "number"}, {ddbjson.KindBOOL, "boolean"},
		{ddbjson.KindNULL, "null"}, {ddbjson.KindM, "object"}, {ddbjson.KindL, "array"},
		{ddbjson.KindB, "B"}, {ddbjson.KindSS, "SS"}, {ddbjson.KindInvalid, "invalid"},
	}
	for _, tt := range tests {
		if got := plainKind(tt.k); got != tt.want {
			t.Errorf("plainKind(%v) = %q, want %q", tt.k, got, tt.want)
		}
	}
}
