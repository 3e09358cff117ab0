package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Record is the stored state of one entity: its image and what the apply
// rules need to judge the next change. History rows have the same shape: the
// state after the change that made them.
type Record struct {
	// Live is false for a tombstone: the entity was deleted, and Version and
	// Changed remain so that a stale snapshot row cannot bring it back.
	Live  bool
	Image ddbjson.Map
	// ImageBin is the image in its binary form (ddbjson.AppendBinary). A
	// writer that has the image only in that form sets it instead of Image,
	// and it is stored as it is; when Image is set, Image is stored. (Txn.Get
	// gives records read from the store with ImageBin only: DecodedImage
	// decodes it.)
	ImageBin []byte
	Version  string // exact decimal, "" when unknown
	// VersionStale is set when changes without a version (Hackney events)
	// were applied after Version was read: the true version is higher.
	VersionStale bool
	// AsOf is the as-of time of the snapshot row the image came from (zero
	// when no snapshot row ever set it).
	AsOf time.Time
	// Changed is the source time of the last change applied: the event time,
	// or the as-of time of a snapshot row. It never goes back, so history
	// rows chain (valid_from) even when an event arrives late.
	Changed time.Time
	// EventTime is the last applied event's own time (zero for snapshot
	// rows), the _event_time column.
	EventTime time.Time
	// Seq numbers the history rows of this key; it is the last row's number.
	Seq uint64
	// The last applied change, for the metadata columns.
	Op, EventID, EventType, Source string
	IngestedAt                     time.Time
}

const recordFormat = 1

// appendRecord appends the stored form of r.
func appendRecord(dst []byte, r *Record) []byte {
	dst = appendHeader(dst, r)
	switch {
	case !r.Live:
	case r.binaryOnly():
		dst = append(dst, r.ImageBin...)
	default:
		dst = ddbjson.AppendBinary(dst, r.Image)
	}
	return dst
}

// DecodedImage returns r's image as a map: Image, or ImageBin decoded
// (into a new map each time: r is not changed); nil for a tombstone.
func (r *Record) DecodedImage() (ddbjson.Map, error) {
	if r.Image != nil || r.ImageBin == nil || !r.Live {
		return r.Image, nil
	}
	m, _, err := ddbjson.DecodeBinary(r.ImageBin)
	if err != nil {
		return nil, fmt.Errorf("decoding a stored image: %w", err)
	}
	return m, nil
}

// binaryOnly reports whether r is live with its image in the binary form
// only: its stored form is its header, then ImageBin as it is.
func (r *Record) binaryOnly() bool { return r.Live && r.Image == nil && r.ImageBin != nil }

// appendHeader appends the stored form of r but its image.
func appendHeader(dst []byte, r *Record) []byte {
	var flags byte
	if r.Live {
		flags |= 1
	}
	if r.VersionStale {
		flags |= 2
	}
	dst = append(dst, recordFormat, flags)
	dst = binary.AppendUvarint(dst, r.Seq)
	dst = appendTime(dst, r.AsOf)
	dst = appendTime(dst, r.Changed)
	dst = appendTime(dst, r.IngestedAt)
	dst = appendTime(dst, r.EventTime)
	for _, s := range []string{r.Version, r.Op, r.EventID, r.EventType, r.Source} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, 0)
	}
	return binary.AppendVarint(dst, t.UnixNano())
}

var errRecord = errors.New("stored record truncated")

// decodeRecord reads what appendRecord wrote.
func decodeRecord(b []byte) (*Record, error) {
	r, img, err := decodeHeader(b)
	if err != nil || !r.Live {
		return r, err
	}
	if r.Image, _, err = ddbjson.DecodeBinary(img); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeHeader reads a stored record but its image, and returns the image's
// stored bytes (the binary form of ddbjson.AppendBinary).
func decodeHeader(b []byte) (*Record, []byte, error) {
	if len(b) < 2 || b[0] != recordFormat {
		return nil, nil, fmt.Errorf("stored record: unknown format %v", b[:min(len(b), 1)])
	}
	r := &Record{Live: b[1]&1 != 0, VersionStale: b[1]&2 != 0}
	b = b[2:]
	var ok bool
	if r.Seq, b, ok = uvarint(b); !ok {
		return nil, nil, errRecord
	}
	for _, t := range []*time.Time{&r.AsOf, &r.Changed, &r.IngestedAt, &r.EventTime} {
		n, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, errRecord
		}
		if n != 0 {
			*t = time.Unix(0, n).UTC()
		}
		b = b[k:]
	}
	for _, s := range []*string{&r.Version, &r.Op, &r.EventID, &r.EventType, &r.Source} {
		n, rest, ok := uvarint(b)
		if !ok || n > uint64(len(rest)) {
			return nil, nil, errRecord
		}
		*s = string(rest[:n])
		b = rest[n:]
	}
	return r, b, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, nil, false
	}
	return n, b[k:], true
}

// GetHeader returns the committed record of a key without decoding its
// image, and the image's stored bytes, which equal ddbjson.AppendBinary of
// an equal image (keys sorted): a caller can compare without decoding.
func (s *Store) GetHeader(entity string, key []byte) (*Record, []byte, error) {
	v, ok, err := s.get(recordKey(entity, key))
	if err != nil || !ok {
		return nil, nil, err
	}
	return decodeHeader(v)
}
