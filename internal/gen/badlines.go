package gen

import (
	"slices"
	"strings"
)

// badLines makes the lines of the events file that are not events. Each has
// a stable place (before the event line of that number) and one of several
// kinds, taken in turn. None may change anything when read.
type badLines struct {
	m         *model
	positions []int // sorted; position i is before event line positions[i]
	next      int
}

// badKinds are the ways a line can be bad, in the order they are used.
var badKinds = []func(b *badLines, r *rnd, lastRaw []byte, pub int64) []byte{
	badNotJSON,
	badTruncated,
	badInvalidUTF8,
	badUnknownType,
	badMissingEntity,
	badEntityNotGUID,
	badNoNewData,
	badSNSNotJSON,
	badHuge,
	badNotObject,
	badCreateNotObject,
}

// newBadLines spreads n bad lines over about lines event lines.
func newBadLines(m *model, n, lines int) *badLines {
	r := newRnd(m.seed, streamBad, 0, 0)
	b := &badLines{m: m, positions: make([]int, n)}
	for i := range b.positions {
		b.positions[i] = r.intn(lines + 1)
	}
	slices.Sort(b.positions)
	return b
}

// line returns bad line i; lastRaw is the latest event written (for a
// truncated copy) and pub its publish time.
func (b *badLines) line(i int, lastRaw []byte, pub int64) []byte {
	r := newRnd(b.m.seed, streamBad, uint64(i)+1, 0)
	return badKinds[i%len(badKinds)](b, &r, lastRaw, pub)
}

// existingID returns the id of a tenure that exists for the whole window.
func (b *badLines) existingID(r *rnd) string {
	for tries := 0; tries < 64 && b.m.total > 0; tries++ {
		idx := r.intn(b.m.total)
		if b.m.createAt[idx] < 0 {
			return tenureID(b.m.seed, idx, b.m.total)
		}
	}
	return r.guid()
}

// synth returns an event line of the given type and data; an empty entity
// leaves entityId out.
func (b *badLines) synth(r *rnd, typ, entity, data string, pub int64) []byte {
	e := envelope{id: r.guid(), eventType: typ, sourceSystem: "TenureAPI", correlationID: r.guid(),
		user: pick(r, officers), pub: pub}
	line := b.m.appendEvent(nil, &e, nil, nil)
	s := string(line)
	if entity == "" {
		s = strings.Replace(s, `"entityId":"",`, "", 1)
	} else {
		s = strings.Replace(s, `"entityId":""`, `"entityId":"`+entity+`"`, 1)
	}
	return []byte(strings.Replace(s, `"eventData":{"oldData":null,"newData":null}`, `"eventData":`+data, 1))
}

const badPatch = `{"oldData":{"paymentReference":"1234567890"},"newData":{"paymentReference":"0000000000"}}`

func badNotJSON(_ *badLines, r *rnd, _ []byte, _ int64) []byte {
	return []byte(pick(r, []string{
		"<html><body><h1>502 Bad Gateway</h1></body></html>",
		"TenureUpdatedEvent entityId=unknown",
		"{not json}",
	}))
}

func badTruncated(b *badLines, r *rnd, lastRaw []byte, pub int64) []byte {
	if len(lastRaw) < 20 {
		lastRaw = b.synth(r, "TenureUpdatedEvent", b.existingID(r), badPatch, pub)
	}
	return append([]byte(nil), lastRaw[:len(lastRaw)/2]...)
}

func badInvalidUTF8(b *badLines, r *rnd, _ []byte, pub int64) []byte {
	data := `{"oldData":{"paymentReference":"1234567890"},"newData":{"paymentReference":"00000` + "\xff\xfe" + `000"}}`
	return b.synth(r, "TenureUpdatedEvent", b.existingID(r), data, pub)
}

func badUnknownType(b *badLines, r *rnd, _ []byte, pub int64) []byte {
	return b.synth(r, "TenureArchivedEvent", b.existingID(r), badPatch, pub)
}

func badMissingEntity(b *badLines, r *rnd, _ []byte, pub int64) []byte {
	return b.synth(r, "TenureUpdatedEvent", "", badPatch, pub)
}

func badEntityNotGUID(b *badLines, r *rnd, _ []byte, pub int64) []byte {
	return b.synth(r, "TenureUpdatedEvent", "TEN-"+r.digits(8), badPatch, pub)
}

func badNoNewData(b *badLines, r *rnd, _ []byte, pub int64) []byte {
	return b.synth(r, "TenureUpdatedEvent", b.existingID(r), `{"oldData":{"paymentReference":"1234567890"}}`, pub)
}

func badSNSNotJSON(_ *badLines, r *rnd, _ []byte, _ int64) []byte {
	return []byte(`{"Type":"Notification","MessageId":"` + r.guid() + `","TopicArn":"` + topicArn +
		`","Message":"TenureUpdatedEvent for ` + r.guid() + `","Timestamp":"2026-11-01T02:00:00.000Z","SignatureVersion":"1"}`)
}

// badHuge is an event larger than SQS's 256 KiB limit, for a tenure that does
// not exist.
func badHuge(b *badLines, r *rnd, _ []byte, pub int64) []byte {
	notes := strings.Repeat("All work and no play makes a dull tenure. ", 300*1024/42)
	data := `{"oldData":{"notes":null},"newData":{"notes":"` + notes + `"}}`
	return b.synth(r, "TenureUpdatedEvent", r.guid(), data, pub)
}

func badNotObject(b *badLines, r *rnd, _ []byte, _ int64) []byte {
	return []byte(`["TenureUpdatedEvent",{"entityId":"` + b.existingID(r) + `"}]`)
}

func badCreateNotObject(b *badLines, r *rnd, _ []byte, pub int64) []byte {
	return b.synth(r, "TenureCreatedEvent", r.guid(), `{"oldData":null,"newData":"`+r.guid()+`"}`, pub)
}
