package gen

import (
	"bufio"
	"container/heap"
	"strconv"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

const topicArn = "arn:aws:sns:eu-west-2:123456789012:tenure.fifo"

// envelope is one Hackney entity event.
type envelope struct {
	id, eventType, sourceSystem, correlationID string
	user                                       [2]string
	entityID                                   string
	pub                                        int64 // publish time in ticks
}

// eventLine is an event waiting for its place in publish order.
type eventLine struct {
	pub      int64
	k        int  // the write, to break ties
	before   bool // the write is reflected in the export
	sns      bool // wrapped in an SNS notification
	dupAfter int  // > 0: the line comes again this many lines later
	line     []byte
}

// newEnvelope draws the envelope of the event of write k made at time t.
func (m *model) newEnvelope(k int, t int64, kind uint8, entityID string) (envelope, *rnd) {
	r := newRnd(m.seed, streamEvent, uint64(k), 0)
	e := envelope{
		pub:           t + minDelay + int64(r.u64()%uint64(maxDelay-minDelay+1)),
		id:            r.guid(),
		eventType:     eventTypes[kind&0xf],
		sourceSystem:  "TenureAPI",
		correlationID: r.guid(),
		user:          pick(&r, officers),
		entityID:      entityID,
	}
	if r.chance(0.1) {
		e.sourceSystem = "ProcessesAPI"
	}
	return e, &r
}

// appendEvent appends the event as Hackney APIs publish it. A nil oldData is
// written as null.
func (m *model) appendEvent(dst []byte, e *envelope, oldData, newData ddbjson.Map) []byte {
	dst = append(dst, `{"id":"`...)
	dst = append(dst, e.id...)
	dst = append(dst, `","eventType":"`...)
	dst = append(dst, e.eventType...)
	dst = append(dst, `","sourceDomain":"Tenure","sourceSystem":"`...)
	dst = append(dst, e.sourceSystem...)
	dst = append(dst, `","version":"v1","correlationId":"`...)
	dst = append(dst, e.correlationID...)
	dst = append(dst, `","dateTime":"`...)
	dst = m.appendTime(dst, e.pub)
	dst = append(dst, `","user":{"name":`...)
	dst = appendJSONString(dst, e.user[0])
	dst = append(dst, `,"email":`...)
	dst = appendJSONString(dst, e.user[1])
	dst = append(dst, `},"entityId":"`...)
	dst = append(dst, e.entityID...)
	dst = append(dst, `","eventData":{"oldData":`...)
	dst = appendPlainOrNull(dst, oldData)
	dst = append(dst, `,"newData":`...)
	dst = appendPlainOrNull(dst, newData)
	return append(dst, "}}"...)
}

func appendPlainOrNull(dst []byte, m ddbjson.Map) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	return ddbjson.AppendPlainMap(dst, m)
}

// appendTime appends the time t (ticks from the export time) with 7
// fractional digits, as .NET writes a UTC DateTime.
func (m *model) appendTime(dst []byte, t int64) []byte {
	return m.export.Add(time.Duration(t)*tick).AppendFormat(dst, "2006-01-02T15:04:05.0000000Z")
}

// appendJSONString appends s as a JSON string (s must be valid UTF-8).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// eventHeap orders pending events by publish time, then write.
type eventHeap []*eventLine

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	return h[i].pub < h[j].pub || h[i].pub == h[j].pub && h[i].k < h[j].k
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*eventLine)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type dupLine struct {
	line  []byte
	after int
}

// eventsOut writes the events file in publish order, mixing in SNS
// wrappers, duplicates and bad lines at their stable places.
type eventsOut struct {
	m         *model
	w         *bufio.Writer
	pending   eventHeap
	fileStart int64
	bad       *badLines
	dups      []dupLine
	seq       uint64 // SNS sequence number
	lastRaw   []byte
	lastPub   int64

	events, duplicates, overlap int
}

// push queues an event; events published before the file starts are not
// in the file.
func (o *eventsOut) push(e *eventLine) {
	if e.pub >= o.fileStart {
		heap.Push(&o.pending, e)
	}
}

// flushUntil writes the queued events published at or before t: no later
// write can publish before t.
func (o *eventsOut) flushUntil(t int64) {
	for len(o.pending) > 0 && o.pending[0].pub <= t {
		o.write(heap.Pop(&o.pending).(*eventLine))
	}
}

// finish writes everything still queued.
func (o *eventsOut) finish() {
	for len(o.pending) > 0 {
		o.write(heap.Pop(&o.pending).(*eventLine))
	}
	for _, d := range o.dups {
		o.w.Write(d.line)
		o.w.WriteByte('\n')
		o.duplicates++
	}
	o.dups = nil
	o.writeBad(-1)
}

func (o *eventsOut) write(e *eventLine) {
	o.writeBad(o.events)
	line := e.line
	if e.sns {
		o.seq++
		line = o.m.appendSNS(nil, e, o.seq)
	}
	o.writeLine(line)
	o.events++
	if e.before {
		o.overlap++
	}
	if e.dupAfter > 0 {
		o.dups = append(o.dups, dupLine{line: line, after: e.dupAfter})
	}
	o.lastRaw, o.lastPub = e.line, e.pub
}

// writeBad writes the bad lines placed before event line pos (all that are
// left when pos < 0).
func (o *eventsOut) writeBad(pos int) {
	for o.bad.next < len(o.bad.positions) && (pos < 0 || o.bad.positions[o.bad.next] <= pos) {
		o.writeLine(o.bad.line(o.bad.next, o.lastRaw, o.lastPub))
		o.bad.next++
	}
}

// writeLine writes a line, then any duplicate now due.
func (o *eventsOut) writeLine(line []byte) {
	o.w.Write(line)
	o.w.WriteByte('\n')
	for i := 0; i < len(o.dups); {
		o.dups[i].after--
		if o.dups[i].after > 0 {
			i++
			continue
		}
		o.w.Write(o.dups[i].line)
		o.w.WriteByte('\n')
		o.duplicates++
		o.dups = append(o.dups[:i], o.dups[i+1:]...)
	}
}

// appendSNS wraps an event as an SNS notification whose Message is the
// event's JSON as a string.
func (m *model) appendSNS(dst []byte, e *eventLine, seq uint64) []byte {
	r := newRnd(m.seed, streamEvent, uint64(e.k), 1)
	dst = append(dst, `{"Type":"Notification","MessageId":"`...)
	dst = append(dst, r.guid()...)
	dst = append(dst, `","SequenceNumber":"`...)
	dst = strconv.AppendUint(dst, 10000000000000000000+seq, 10)
	dst = append(dst, `","TopicArn":"`+topicArn+`","Message":`...)
	dst = appendJSONString(dst, string(e.line))
	dst = append(dst, `,"Timestamp":"`...)
	dst = m.export.Add(time.Duration(e.pub)*tick).AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, `","SignatureVersion":"1","Signature":"`...)
	for i := 0; i < 172; i++ {
		dst = append(dst, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[r.intn(64)])
	}
	dst = append(dst, `","SigningCertURL":"https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-`...)
	for i := 0; i < 32; i++ {
		dst = append(dst, hexDigits[r.intn(16)])
	}
	dst = append(dst, `.pem","UnsubscribeURL":"https://sns.eu-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=`+topicArn+`:`...)
	dst = append(dst, r.guid()...)
	return append(dst, `"}`...)
}
