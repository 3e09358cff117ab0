// Package change is the one model every source produces and the materializer
// applies: a keyed operation on an entity with its origin and its position in
// the source. It imports no SDK.
package change

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Op is what a change does to an entity.
type Op uint8

// The operations.
const (
	OpUpsert Op = iota + 1 // replace the whole image
	OpPatch                // set the fields of the image it carries
	OpDelete               // remove the entity (a versioned tombstone stays)
)

func (o Op) String() string {
	switch o {
	case OpUpsert:
		return "upsert"
	case OpPatch:
		return "patch"
	case OpDelete:
		return "delete"
	}
	return "invalid"
}

// ParseOp reads an operation as the entity mapping of the config names it:
// create (a full image), patch (changed fields) or delete.
func ParseOp(s string) (Op, error) {
	switch s {
	case "create", "upsert":
		return OpUpsert, nil
	case "patch", "update":
		return OpPatch, nil
	case "delete":
		return OpDelete, nil
	}
	return 0, fmt.Errorf("unknown operation %q (want create, patch or delete)", s)
}

// Origin says where a change came from.
type Origin string

// The origins.
const (
	OriginSnapshot Origin = "snapshot" // a row of an export or a scan page
	OriginEvent    Origin = "event"    // an entity event
	OriginRepair   Origin = "repair"   // verify --repair
	OriginResync   Origin = "resync"   // a current-state event
	// OriginStream is a record of the table's own change log (a DynamoDB
	// stream): complete and in order per key, so it is applied in order
	// under the version rule, never judged reflected by time.
	OriginStream Origin = "stream"
)

// Position is where a change (or a dead letter) sits in its source. Offset
// is the point to resume from after it: a byte offset for files, a line
// count for export data files, a Kafka offset plus one.
type Position struct {
	Source string // a stable id of the source stream, e.g. "events:events/tenure.jsonl"
	Offset int64
	// Token is an opaque resume token for sources that need more than an
	// offset (a scan segment's LastEvaluatedKey); "" for most. A string, so
	// that positions stay comparable.
	Token string
}

// Change is one keyed operation on an entity.
type Change struct {
	Entity string
	Key    Key
	Op     Op
	// Image is the full image for OpUpsert and the new values of the changed
	// fields for OpPatch.
	Image ddbjson.Map
	// ImageBin is Image in the binary form (ddbjson.AppendBinary), set
	// instead of Image by a source that reads it straight into that form
	// (the rows of a full export, the data of an event), so that storing
	// or patching it costs no decoding and encoding. FullImage gives the
	// image as a Map either way.
	ImageBin []byte
	// Old holds the values the event says the changed fields had before
	// (Hackney oldData); nil when the source does not say. OldBin is Old in
	// the binary form, set instead of it; OldData gives it as a Map.
	Old    ddbjson.Map
	OldBin []byte
	// Version is the entity's version as an exact decimal string, or "".
	Version string
	// AsOf is the time a snapshot row's image was true (the export time or the
	// moment its scan page was read); zero for events.
	AsOf time.Time
	// EventTime is when the change happened at the source (publish time for
	// Hackney events, AsOf for snapshot rows).
	EventTime    time.Time
	Origin       Origin
	EventID      string
	EventType    string
	SourceSystem string
	Pos          Position
	// Resync is set for the events of a re-sync (docs/events.md).
	Resync *Resync
}

// ResyncKind says which event of a re-sync a change is.
type ResyncKind uint8

// The re-sync events.
const (
	ResyncStarted   ResyncKind = iota + 1 // opens a re-sync: no image
	ResyncItem                            // one entity's full image
	ResyncCompleted                       // closes it: count and digest
)

// Resync is the re-sync part of a change.
type Resync struct {
	Kind          ResyncKind
	ID            string
	StartedAt     time.Time
	ExpectedCount int64 // -1 when not given
	Count         int64
	Digest        string
	Sequence      int64
}

// Label is the value of the _op column for the change.
func (c *Change) Label() string {
	switch {
	case c.Origin == OriginSnapshot:
		return "snapshot"
	case c.Origin == OriginRepair:
		return "repair"
	case c.Origin == OriginResync:
		return "resync"
	case c.Origin == OriginStream && c.Op == OpUpsert && c.EventType == "MODIFY":
		return "update"
	case c.Op == OpUpsert:
		return "create"
	case c.Op == OpPatch:
		return "update"
	case c.Op == OpDelete:
		return "delete"
	}
	return "invalid"
}

// Key is an entity's primary key: the hash attribute value and, for tables
// with a range key, the range attribute value. Only S, N and B values can be
// keys.
type Key struct {
	Hash  ddbjson.Value
	Range ddbjson.Value // zero Value when the table has no range key
}

// ErrBadKey is returned for a key value that DynamoDB could not hold.
var ErrBadKey = errors.New("key attribute must be a non-empty S, N or B value")

// Validate checks that the key's values can be DynamoDB keys.
func (k Key) Validate() error {
	if err := validKeyPart(k.Hash); err != nil {
		return fmt.Errorf("hash key: %w", err)
	}
	if k.Range.Kind != ddbjson.KindInvalid {
		if err := validKeyPart(k.Range); err != nil {
			return fmt.Errorf("range key: %w", err)
		}
	}
	return nil
}

func validKeyPart(v ddbjson.Value) error {
	switch v.Kind {
	case ddbjson.KindS, ddbjson.KindN:
		if v.Str == "" {
			return ErrBadKey
		}
		return nil
	case ddbjson.KindB:
		if len(v.Bin) == 0 {
			return ErrBadKey
		}
		return nil
	}
	return ErrBadKey
}

// Bytes returns the key's store encoding: for each part a kind byte, a
// uvarint length and the bytes (numbers in canonical form, so 1.0 and 1 are
// one key).
func (k Key) Bytes() []byte {
	b := appendKeyPart(nil, k.Hash)
	if k.Range.Kind != ddbjson.KindInvalid {
		b = appendKeyPart(b, k.Range)
	}
	return b
}

func appendKeyPart(dst []byte, v ddbjson.Value) []byte {
	var s string
	switch v.Kind {
	case ddbjson.KindN:
		s = ddbjson.CanonicalNumber(v.Str)
	case ddbjson.KindB:
		s = string(v.Bin)
	default:
		s = v.Str
	}
	dst = append(dst, byte(v.Kind))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// ParseKeyBytes decodes what Bytes encoded.
func ParseKeyBytes(b []byte) (Key, error) {
	var k Key
	var err error
	k.Hash, b, err = parseKeyPart(b)
	if err != nil {
		return k, err
	}
	if len(b) > 0 {
		k.Range, b, err = parseKeyPart(b)
		if err != nil {
			return k, err
		}
	}
	if len(b) > 0 {
		return k, errors.New("trailing bytes after key")
	}
	return k, nil
}

func parseKeyPart(b []byte) (ddbjson.Value, []byte, error) {
	if len(b) < 2 {
		return ddbjson.Value{}, nil, errors.New("key truncated")
	}
	kind := ddbjson.Kind(b[0])
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || uint64(len(b)-1-w) < n {
		return ddbjson.Value{}, nil, errors.New("key truncated")
	}
	s := b[1+w : 1+w+int(n)]
	rest := b[1+w+int(n):]
	switch kind {
	case ddbjson.KindS, ddbjson.KindN:
		return ddbjson.Value{Kind: kind, Str: string(s)}, rest, nil
	case ddbjson.KindB:
		return ddbjson.B(append([]byte(nil), s...)), rest, nil
	}
	return ddbjson.Value{}, nil, fmt.Errorf("bad key kind %d", kind)
}

// String renders the key for people and for the _key column: the hash value,
// then "|" and the range value when there is one (binary values in base64).
func (k Key) String() string {
	s := keyPartString(k.Hash)
	if k.Range.Kind != ddbjson.KindInvalid {
		s += "|" + keyPartString(k.Range)
	}
	return s
}

func keyPartString(v ddbjson.Value) string {
	if v.Kind == ddbjson.KindB {
		return base64.StdEncoding.EncodeToString(v.Bin)
	}
	return v.Str
}

// ParseKey reads a key as String writes it, given the DynamoDB types of the
// hash and (optional) range attributes.
func ParseKey(s string, hashType, rangeType ddbjson.Kind) (Key, error) {
	var k Key
	hs, rs := s, ""
	if rangeType != ddbjson.KindInvalid {
		i := strings.LastIndexByte(s, '|')
		if i < 0 {
			return k, fmt.Errorf("key %q: want HASH|RANGE for a table with a range key", s)
		}
		hs, rs = s[:i], s[i+1:]
	}
	var err error
	if k.Hash, err = keyPartValue(hs, hashType); err != nil {
		return k, err
	}
	if rangeType != ddbjson.KindInvalid {
		if k.Range, err = keyPartValue(rs, rangeType); err != nil {
			return k, err
		}
	}
	return k, k.Validate()
}

func keyPartValue(s string, kind ddbjson.Kind) (ddbjson.Value, error) {
	switch kind {
	case ddbjson.KindN:
		if !ddbjson.ValidNumber(s) {
			return ddbjson.Value{}, fmt.Errorf("key part %q is not a number", s)
		}
		return ddbjson.N(s), nil
	case ddbjson.KindB:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return ddbjson.Value{}, fmt.Errorf("key part %q is not base64: %w", s, err)
		}
		return ddbjson.B(b), nil
	}
	return ddbjson.S(s), nil
}

// DeadLetter is a record a source could not turn into a change.
type DeadLetter struct {
	Pos    Position // Offset is where the bad record starts
	Reason string
	Raw    []byte
	// ID, when the source gives one, identifies the letter across re-reads
	// (a scan page read again after a crash), so it is stored once.
	ID string
}

// Record is what a source yields: a change or a dead letter, and the position
// to resume from once it is committed.
//
// Live sources (a queue, a Kafka group, a stream) use three more fields. A
// record with Flush set and nothing else asks the consumer to commit what it
// holds now (the stream has nothing more at hand), so a quiet stream never
// keeps applied changes uncommitted. Done runs once the batch holding the
// record is durable (an SQS message is deleted only then). MessageID names
// the message in its stream (Next.Source): the store remembers it with the
// batch and skips a record whose id it has seen (a redelivery after a crash).
type Record struct {
	Change    *Change
	Dead      *DeadLetter
	Next      Position
	Flush     bool
	Done      func()
	MessageID string
}

// Source yields records until it returns io.EOF. A source resumes from the
// positions committed with the changes it produced: it never commits on its
// own.
type Source interface {
	Next(ctx context.Context) (Record, error)
	Close() error
}

// OldData returns the change's old values as a Map: Old, or OldBin decoded.
func (c *Change) OldData() (ddbjson.Map, error) {
	if c.Old != nil || c.OldBin == nil {
		return c.Old, nil
	}
	m, _, err := ddbjson.DecodeBinary(c.OldBin)
	if err != nil {
		return nil, fmt.Errorf("decoding the old values of %s %s: %w", c.Entity, c.Key, err)
	}
	return m, nil
}

// FullImage returns the change's image as a Map: Image, or ImageBin decoded.
func (c *Change) FullImage() (ddbjson.Map, error) {
	if c.Image != nil || c.ImageBin == nil {
		return c.Image, nil
	}
	m, _, err := ddbjson.DecodeBinary(c.ImageBin)
	if err != nil {
		return nil, fmt.Errorf("decoding the image of %s %s: %w", c.Entity, c.Key, err)
	}
	return m, nil
}
