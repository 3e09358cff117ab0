// Package resync emits a complete re-sync of an entity as current-state
// events (docs/events.md): a ResyncStarted marker, one CurrentStateEvent
// per entity with its full image, and a ResyncCompleted marker with the
// count and a digest of the keys sent, so that a consumer can tell a
// complete re-sync from an interrupted one before it sweeps anything.
// A service imports it to offer re-syncs; `tidemark resync emit` uses it to
// re-sync a table from an export or a scan for services that cannot yet.
package resync

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// The event types of the contract.
const (
	TypeStarted      = "ResyncStarted"
	TypeCurrentState = "CurrentStateEvent"
	TypeCompleted    = "ResyncCompleted"
)

// Options describe the emitter's entity and envelope.
type Options struct {
	Entity       string // the entity name consumers map, e.g. tenure
	SourceDomain string // e.g. Tenure
	SourceSystem string // e.g. TenureAPI
	// ResyncID identifies the re-sync (default: a new GUID).
	ResyncID string
	// StartedAt is the time from which the images are true (default: the
	// moment Start is called). A consumer sweeps only entities unchanged
	// since then, so a re-sync made from an older copy of the table (an
	// export) must give that copy's time: later entities are not absent.
	StartedAt time.Time
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Emitter writes one re-sync as newline-delimited JSON events.
type Emitter struct {
	w       io.Writer
	o       Options
	started time.Time
	seq     int64
	digest  uint64
	state   int // 0 new, 1 started, 2 completed
}

// New returns an emitter writing to w.
func New(w io.Writer, o Options) *Emitter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ResyncID == "" {
		o.ResyncID = newGUID()
	}
	return &Emitter{w: w, o: o}
}

// ID returns the re-sync's id.
func (e *Emitter) ID() string { return e.o.ResyncID }

// Marker is the resync member of the marker events.
type Marker struct {
	ResyncID      string    `json:"resyncId"`
	Entity        string    `json:"entity"`
	StartedAt     time.Time `json:"startedAt"`
	ExpectedCount *int64    `json:"expectedCount,omitempty"`
	Count         *int64    `json:"count,omitempty"`
	KeysDigest    string    `json:"keysDigest,omitempty"`
}

// Item is the resync member of a CurrentStateEvent.
type Item struct {
	ResyncID string    `json:"resyncId"`
	Entity   string    `json:"entity"`
	Sequence int64     `json:"sequence"`
	AsOf     time.Time `json:"asOf"`
	Version  string    `json:"version,omitempty"`
	RangeKey string    `json:"rangeKey,omitempty"`
}

// Event is the envelope, in the Hackney style (camelCase).
type Event struct {
	ID            string    `json:"id"`
	EventType     string    `json:"eventType"`
	SourceDomain  string    `json:"sourceDomain"`
	SourceSystem  string    `json:"sourceSystem"`
	Version       string    `json:"version"`
	CorrelationID string    `json:"correlationId"`
	DateTime      string    `json:"dateTime"`
	EntityID      string    `json:"entityId,omitempty"`
	Resync        any       `json:"resync"`
	EventData     EventData `json:"eventData"`
}

// EventData holds the full image of a CurrentStateEvent in newData.
type EventData struct {
	OldData json.RawMessage `json:"oldData"`
	NewData json.RawMessage `json:"newData"`
}

// ErrOrder is returned for calls out of Start, Send..., Complete order.
var ErrOrder = errors.New("re-sync calls out of order: Start, then Send for each entity, then Complete")

// Start writes the ResyncStarted marker; expected is the number of entities
// to come, or -1 when not known.
func (e *Emitter) Start(expected int64) error {
	if e.state != 0 {
		return ErrOrder
	}
	e.state, e.started = 1, e.o.StartedAt.UTC()
	if e.o.StartedAt.IsZero() {
		e.started = e.o.Now().UTC()
	}
	m := Marker{ResyncID: e.o.ResyncID, Entity: e.o.Entity, StartedAt: e.started}
	if expected >= 0 {
		m.ExpectedCount = &expected
	}
	return e.write(TypeStarted, "", m, nil)
}

// Send writes the CurrentStateEvent of one entity: its key (hash key as
// text, and the range key's text for a table with one), its full image as
// plain JSON, the time the image was true and its version ("" if none).
func (e *Emitter) Send(hashKey, rangeKey string, image json.RawMessage, asOf time.Time, version string) error {
	if e.state != 1 {
		return ErrOrder
	}
	e.seq++
	key := hashKey
	if rangeKey != "" {
		key += "|" + rangeKey
	}
	e.digest += KeyHash(key)
	it := Item{ResyncID: e.o.ResyncID, Entity: e.o.Entity, Sequence: e.seq, AsOf: asOf.UTC(), Version: version, RangeKey: rangeKey}
	return e.write(TypeCurrentState, hashKey, it, image)
}

// Complete writes the ResyncCompleted marker with the count and digest.
func (e *Emitter) Complete() error {
	if e.state != 1 {
		return ErrOrder
	}
	e.state = 2
	n := e.seq
	return e.write(TypeCompleted, "", Marker{ResyncID: e.o.ResyncID, Entity: e.o.Entity, StartedAt: e.started,
		Count: &n, KeysDigest: Digest(e.digest)}, nil)
}

func (e *Emitter) write(typ, entityID string, resync any, image json.RawMessage) error {
	ev := Event{ID: newGUID(), EventType: typ, SourceDomain: e.o.SourceDomain, SourceSystem: e.o.SourceSystem,
		Version: "v1", CorrelationID: e.o.ResyncID, DateTime: e.o.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"),
		EntityID: entityID, Resync: resync, EventData: EventData{OldData: json.RawMessage("null"), NewData: image}}
	if image == nil {
		ev.EventData.NewData = json.RawMessage("null")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", typ, err)
	}
	if _, err := e.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", typ, err)
	}
	return nil
}

// KeyHash is one key's share of the digest: the first 8 bytes of the
// SHA-256 of its text ("hash" or "hash|range"), big-endian.
func KeyHash(key string) uint64 {
	sum := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint64(sum[:8])
}

// Digest renders a sum of key hashes (mod 2^64): order does not matter, a
// key sent twice or missing changes it.
func Digest(sum uint64) string { return fmt.Sprintf("%016x", sum) }

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
