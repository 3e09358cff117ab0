package file_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/source/file"
)

// padded returns TenureUpdatedEvent i whose line is exactly size bytes.
func padded(t testing.TB, i, size int) string {
	t.Helper()
	mk := func(n int) string {
		return envelope(i, "TenureUpdatedEvent", "TenureAPI", guid(i), `{"notes":null}`, `{"notes":"`+strings.Repeat("n", n)+`"}`)
	}
	n := size - len(mk(0))
	if size == 0 { // the size of the event without notes
		return mk(0)
	}
	if n < 0 {
		t.Fatalf("an event cannot be as small as %d bytes", size)
	}
	s := mk(n)
	if len(s) != size {
		t.Fatalf("padded event of %d bytes, want %d", len(s), size)
	}
	return s
}

// TestLongLines: lines at and over max_message_bytes and over the reader's
// 1 MiB buffer; dead letters keep the whole line, its start offset and a
// reason that gives its size without the line ending.
func TestLongLines(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name     string
		line     string
		ending   string
		maxBytes int
		dead     string // "" when the line must become a change
	}{
		{"at the limit", padded(t, 1, maxBytes), "\n", maxBytes, ""},
		{"one byte over", padded(t, 1, maxBytes+1), "\n", maxBytes, fmt.Sprintf("message of %d bytes is over the limit of %d (max_message_bytes)", maxBytes+1, maxBytes)},
		{"over, CRLF", padded(t, 1, maxBytes+1), "\r\n", maxBytes, fmt.Sprintf("message of %d bytes is over the limit of %d", maxBytes+1, maxBytes)},
		{"over the buffer, under the limit", padded(t, 1, mib+mib/2), "\n", 2 * mib, ""},
		{"over the buffer, under the limit, CRLF", padded(t, 1, mib+mib/2), "\r\n", 2 * mib, ""},
		{"over the buffer and the limit", padded(t, 1, 3*mib), "\n", 2 * mib, fmt.Sprintf("message of %d bytes is over the limit of %d", 3*mib, 2*mib)},
		{"over the buffer and the limit, CRLF", padded(t, 1, 3*mib), "\r\n", 2 * mib, fmt.Sprintf("message of %d bytes is over the limit of %d", 3*mib, 2*mib)},
		{"over the buffer and the limit, last line", padded(t, 1, 3*mib), "", 2 * mib, fmt.Sprintf("message of %d bytes is over the limit of %d", 3*mib, 2*mib)},
		{"exactly the buffer", padded(t, 1, mib), "\n", 2 * mib, ""},
		{"no limit", padded(t, 1, 3*mib), "\n", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, after := updated(7)+"\n", updated(8)+"\n"
			content, idx := before+tt.line+tt.ending+after, 1
			if tt.ending == "" { // the long line is the last, without a newline
				content, idx = before+after+tt.line, 2
			}
			start := int64(strings.Index(content, tt.line))
			end := start + int64(len(tt.line)+len(tt.ending))
			p := writeFile(t, t.TempDir(), "e.jsonl", content)
			recs := mustReadAll(t, file.NewSource(one(p), testMapper(t), tt.maxBytes, noPositions))
			if tt.ending == "" {
				// An unterminated last line is left for the next run.
				if len(recs) != 2 || recs[0].Change == nil || recs[1].Change == nil || recs[1].Next.Offset != start {
					t.Fatalf("records = %s, want the 2 changes before the unterminated long line", kinds(recs))
				}
				return
			}
			if len(recs) != 3 || recs[(idx+1)%3].Change == nil || recs[(idx+2)%3].Change == nil {
				t.Fatalf("records = %s, want 3 with changes around the long line", kinds(recs))
			}
			r := recs[idx]
			if r.Next.Offset != end {
				t.Errorf("Next offset after the long line = %d, want %d", r.Next.Offset, end)
			}
			if tt.dead == "" {
				if r.Change == nil {
					t.Fatalf("long line became %+v, want a change", r.Dead)
				}
				if got, want := len(changetest.Image(t, r.Change)["notes"].Str), len(tt.line)-len(padded(t, 1, 0)); got != want {
					t.Errorf("notes of %d bytes, want %d", got, want)
				}
				return
			}
			d := r.Dead
			if d == nil {
				t.Fatalf("long line became a change, want a dead letter %q", tt.dead)
			}
			if !strings.Contains(d.Reason, tt.dead) {
				t.Errorf("reason %q, want %q", d.Reason, tt.dead)
			}
			if d.Pos != (change.Position{Source: "events:e.jsonl", Offset: start}) {
				t.Errorf("dead letter at %+v, want offset %d (its line's start)", d.Pos, start)
			}
			if string(d.Raw) != tt.line {
				t.Errorf("raw of %d bytes, want the line's %d bytes", len(d.Raw), len(tt.line))
			}
		})
	}
}

// TestHugeLine: a line over 16 MiB keeps its first 16 MiB as raw bytes;
// the reason gives its full length, and the next line reads normally.
func TestHugeLine(t *testing.T) {
	const hard = 16 << 20
	size := hard + 3<<20 + 17
	huge := padded(t, 1, size)
	dir := t.TempDir()
	content := updated(7) + "\n" + huge + "\n" + updated(8) + "\n"
	p := writeFile(t, dir, "e.jsonl", content)
	for _, limit := range []int{maxBytes, 0, 64 << 20} {
		t.Run(fmt.Sprintf("max=%d", limit), func(t *testing.T) {
			recs := mustReadAll(t, file.NewSource(one(p), testMapper(t), limit, noPositions))
			if kinds(recs) != fmt.Sprintf("c%d d%d c%d", len(updated(7))+1, len(updated(7))+size+2, len(content)) {
				t.Fatalf("records = %s", kinds(recs))
			}
			d := recs[1].Dead
			if len(d.Raw) != hard || !bytes.Equal(d.Raw, []byte(huge[:hard])) {
				t.Errorf("raw of %d bytes, want the first %d bytes of the line", len(d.Raw), hard)
			}
			if !strings.Contains(d.Reason, fmt.Sprintf("message of %d bytes is over the ", size)) {
				t.Errorf("reason %q does not give the line's size %d", d.Reason, size)
			}
			// The reason names the limit the line broke, not one it is under.
			want := fmt.Sprintf("over the limit of %d (max_message_bytes)", limit)
			if limit == 0 || limit > size {
				want = fmt.Sprintf("over the limit of %d bytes a line may have", hard)
			}
			if !strings.Contains(d.Reason, want) {
				t.Errorf("reason %q, want it to say %q", d.Reason, want)
			}
			if d.Pos.Offset != int64(len(updated(7))+1) {
				t.Errorf("dead letter at %d", d.Pos.Offset)
			}
			if recs[2].Change.Key.String() != guid(8) {
				t.Errorf("line after the huge one: %s", recs[2].Change.Key)
			}
		})
	}
}

// TestHardLimitBoundary: with no max_message_bytes, a line of exactly
// 16 MiB (CRLF or LF) is still an event; one byte more is a dead letter.
func TestHardLimitBoundary(t *testing.T) {
	const hard = 16 << 20
	for _, tt := range []struct {
		size   int
		ending string
		dead   bool
	}{{hard, "\r\n", false}, {hard, "\n", false}, {hard + 1, "\r\n", true}} {
		line := padded(t, 1, tt.size)
		content := line + tt.ending + updated(2) + "\n"
		p := writeFile(t, t.TempDir(), "e.jsonl", content)
		recs := mustReadAll(t, file.NewSource(one(p), testMapper(t), 0, noPositions))
		want := fmt.Sprintf("c%d c%d", len(line)+len(tt.ending), len(content))
		if tt.dead {
			want = "d" + want[1:]
		}
		if got := kinds(recs); got != want {
			t.Errorf("line of %d bytes + %q: records %s, want %s", tt.size, tt.ending, got, want)
			continue
		}
		if tt.dead && (len(recs[0].Dead.Raw) != hard || !strings.Contains(recs[0].Dead.Reason, fmt.Sprintf("message of %d bytes", tt.size))) {
			t.Errorf("dead letter of %d raw bytes, reason %q", len(recs[0].Dead.Raw), recs[0].Dead.Reason)
		}
	}
}

// TestEvents: valid events, raw and SNS-wrapped, and the change each makes.
func TestEvents(t *testing.T) {
	created := envelope(1, "TenureCreatedEvent", "TenureAPI", guid(1), `null`,
		`{"id":"`+guid(1)+`","paymentReference":"228000001","isTenanted":true,"charges":{"rent":112.54,"billingFrequency":"Weekly"},"householdMembers":[{"id":"`+guid(90)+`","fullName":"Ada Okafor","isResponsible":true}],"startOfTenureDate":"2019-04-01T00:00:00.0000000Z","endOfTenureDate":null}`)
	update := envelope(2, "TenureUpdatedEvent", "ProcessesAPI", guid(2), `{"charges":{"rent":112.54},"endOfTenureDate":null}`, `{"charges":{"rent":115.00},"endOfTenureDate":"2027-04-01T00:00:00"}`)
	person := envelope(3, "PersonAddedToTenureEvent", "TenureAPI", guid(3),
		`{"householdMembers":[{"id":"`+guid(90)+`"}]}`, `{"householdMembers":[{"id":"`+guid(90)+`"},{"id":"`+guid(91)+`","fullName":"Sam Lee"}]}`)
	deleted := strings.Replace(envelope(4, "ContactDetailDeletedEvent", "ContactDetailsAPI", guid(4), `{"id":"`+guid(40)+`","isActive":true}`, `{"isActive":false}`),
		`"sourceDomain":"Tenure"`, `"sourceDomain":"ContactDetails"`, 1)
	noZone := strings.Replace(update, "2026-11-01T02:00:02.1234567Z", "2026-11-01T02:00:02.1234567", 1)
	tests := []struct {
		name     string
		line     string
		entity   string
		key      string
		op       change.Op
		label    string
		image    string // the image as plain JSON; "" for none
		old      string
		id       int
		typ      string
		system   string
		sns      bool
		timeText string
	}{
		{"created", created, "tenure", guid(1), change.OpUpsert, "create",
			`{"charges":{"billingFrequency":"Weekly","rent":112.54},"endOfTenureDate":null,"householdMembers":[{"fullName":"Ada Okafor","id":"` + guid(90) + `","isResponsible":true}],"id":"` + guid(1) + `","isTenanted":true,"paymentReference":"228000001","startOfTenureDate":"2019-04-01T00:00:00.0000000Z"}`,
			"", 1, "TenureCreatedEvent", "TenureAPI", false, ""},
		{"updated", update, "tenure", guid(2), change.OpPatch, "update",
			`{"charges":{"rent":115.00},"endOfTenureDate":"2027-04-01T00:00:00"}`, `{"charges":{"rent":112.54},"endOfTenureDate":null}`,
			2, "TenureUpdatedEvent", "ProcessesAPI", false, ""},
		{"updated via SNS", sns(update), "tenure", guid(2), change.OpPatch, "update",
			`{"charges":{"rent":115.00},"endOfTenureDate":"2027-04-01T00:00:00"}`, `{"charges":{"rent":112.54},"endOfTenureDate":null}`,
			2, "TenureUpdatedEvent", "ProcessesAPI", true, ""},
		{"person added via SNS", sns(person), "tenure", guid(3), change.OpPatch, "update",
			`{"householdMembers":[{"id":"` + guid(90) + `"},{"fullName":"Sam Lee","id":"` + guid(91) + `"}]}`, `{"householdMembers":[{"id":"` + guid(90) + `"}]}`,
			3, "PersonAddedToTenureEvent", "TenureAPI", true, ""},
		{"contact detail deleted", deleted, "contact_details", guid(4) + "|" + guid(40), change.OpDelete, "delete",
			"", `{"id":"` + guid(40) + `","isActive":true}`, 4, "ContactDetailDeletedEvent", "ContactDetailsAPI", false, ""},
		{"time without a zone is UTC", noZone, "tenure", guid(2), change.OpPatch, "update",
			`{"charges":{"rent":115.00},"endOfTenureDate":"2027-04-01T00:00:00"}`, `{"charges":{"rent":112.54},"endOfTenureDate":null}`,
			2, "TenureUpdatedEvent", "ProcessesAPI", false, "2026-11-01T02:00:02.1234567Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := lines(updated(9), tt.line)
			p := writeFile(t, t.TempDir(), "e.jsonl", content)
			recs := mustReadAll(t, file.NewSource(one(p), testMapper(t), maxBytes, noPositions))
			if len(recs) != 2 || recs[1].Change == nil {
				t.Fatalf("records = %s, want 2 changes (dead letter: %+v)", kinds(recs), recs[len(recs)-1].Dead)
			}
			c := recs[1].Change
			wantPos := change.Position{Source: "events:e.jsonl", Offset: int64(len(content))}
			if c.Entity != tt.entity || c.Key.String() != tt.key || c.Op != tt.op || c.Label() != tt.label || c.Origin != change.OriginEvent {
				t.Errorf("change %s %s %v %s %s, want %s %s %v %s event", c.Entity, c.Key, c.Op, c.Label(), c.Origin, tt.entity, tt.key, tt.op, tt.label)
			}
			if c.EventID != eventID(tt.id) || c.EventType != tt.typ || c.SourceSystem != tt.system {
				t.Errorf("event %s %s from %s, want %s %s from %s", c.EventID, c.EventType, c.SourceSystem, eventID(tt.id), tt.typ, tt.system)
			}
			wantTime := dateTime(tt.id)
			if tt.timeText != "" {
				wantTime, _ = time.Parse(time.RFC3339Nano, tt.timeText)
			}
			if !c.EventTime.Equal(wantTime) || !c.AsOf.IsZero() || c.Version != "" {
				t.Errorf("event time %v, as-of %v, version %q; want %v, zero, none", c.EventTime, c.AsOf, c.Version, wantTime)
			}
			if c.Pos != wantPos || recs[1].Next != wantPos {
				t.Errorf("position %+v / %+v, want %+v", c.Pos, recs[1].Next, wantPos)
			}
			if got := plain(changetest.Image(t, c)); got != tt.image {
				t.Errorf("image\n got %s\nwant %s", got, tt.image)
			}
			if got := plain(changetest.Old(t, c)); got != tt.old {
				t.Errorf("old\n got %s\nwant %s", got, tt.old)
			}
		})
	}
}

func plain(m ddbjson.Map) string {
	if m == nil {
		return ""
	}
	return string(ddbjson.AppendPlainMap(nil, m))
}

// TestDeadLetters: lines that are not events are dead letters with their
// raw bytes, the start offset of their line and the decoder's reason.
func TestDeadLetters(t *testing.T) {
	bad := []struct{ line, reason string }{
		{`{"id":`, "not valid JSON"},
		{"\xff\xfe{}", "invalid UTF-8"},
		{`[1,2]`, "not a JSON object but an array"},
		{strings.Replace(updated(1), "TenureUpdatedEvent", "TenureDeletedEvent", 1), `unknown event type "TenureDeletedEvent"`},
		{strings.Replace(updated(1), guid(1), "12345", 1), `key entityId "12345" is not a GUID`},
		{sns("not an event"), "SNS notification Message is not valid JSON"},
		{strings.Replace(updated(1), `,"eventData":{"oldData":{"isTenanted":true},"newData":{"isTenanted":false}}`, "", 1), "eventData is missing"},
	}
	var content strings.Builder
	var starts []int
	for i, b := range bad {
		content.WriteString(updated(10+i) + "\n")
		starts = append(starts, content.Len())
		content.WriteString(b.line + "\n")
	}
	p := writeFile(t, t.TempDir(), filepath.Join("x", "e.jsonl"), content.String())
	recs := mustReadAll(t, file.NewSource(one(p), testMapper(t), maxBytes, noPositions))
	if len(recs) != 2*len(bad) {
		t.Fatalf("records = %s", kinds(recs))
	}
	for i, b := range bad {
		ok, r := recs[2*i], recs[2*i+1]
		if ok.Change == nil || ok.Change.Key.String() != guid(10+i) {
			t.Errorf("line before bad line %d: %+v", i, ok)
		}
		d := r.Dead
		if d == nil || r.Change != nil {
			t.Errorf("bad line %d (%s) became %+v", i, b.reason, r.Change)
			continue
		}
		if !strings.Contains(d.Reason, b.reason) {
			t.Errorf("bad line %d: reason %q, want %q", i, d.Reason, b.reason)
		}
		if string(d.Raw) != b.line {
			t.Errorf("bad line %d: raw %q, want %q", i, d.Raw, b.line)
		}
		if d.Pos != (change.Position{Source: "events:e.jsonl", Offset: int64(starts[i])}) || r.Next.Offset != int64(starts[i]+len(b.line)+1) {
			t.Errorf("bad line %d: at %+v, next %+v; want %d, %d", i, d.Pos, r.Next, starts[i], starts[i]+len(b.line)+1)
		}
	}
}
