package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/event"
	"github.com/tidemark-dev/tidemark/internal/event/avro"
)

// badRecord is a record that cannot become a change: a dead letter.
type badRecord struct{ reason string }

func (b *badRecord) Error() string { return b.reason }

func bad(format string, args ...any) error {
	return &badRecord{reason: fmt.Sprintf(format, args...)}
}

// record turns a Kafka record into a change or a dead letter (whatever
// error decoding or mapping gives, as the file source does). An error is
// returned only when ctx ends while the schema registry is unreachable.
func (s *Source) record(ctx context.Context, r *kgo.Record) (change.Record, error) {
	id := PositionID(r.Topic, r.Partition)
	next := change.Position{Source: id, Offset: r.Offset + 1}
	c, err := s.change(ctx, r, next)
	if err == nil {
		return change.Record{Change: c, Next: next}, nil
	}
	if ctx.Err() != nil {
		return change.Record{}, ctx.Err() // closing while the registry was unreachable
	}
	return change.Record{Next: next, Dead: &change.DeadLetter{
		Pos:    change.Position{Source: id, Offset: r.Offset},
		Reason: err.Error(),
		Raw:    r.Value,
		ID:     MessageID(r.Topic, r.Partition, r.Offset),
	}}, nil
}

// change decodes r's value by its format.
func (s *Source) change(ctx context.Context, r *kgo.Record, next change.Position) (*change.Change, error) {
	v := r.Value
	if len(v) == 0 {
		return nil, bad("empty record value (a tombstone?): neither a JSON event nor an Avro record")
	}
	if max := s.opts.MaxMessageBytes; max > 0 && len(v) > max {
		return nil, bad("message of %d bytes is over the limit of %d (max_message_bytes)", len(v), max)
	}
	switch s.format(v) {
	case FormatAvro:
		return s.avroChange(ctx, r, next)
	case FormatJSON:
		env, err := event.Decode(v, s.opts.MaxMessageBytes)
		if err != nil {
			return nil, err
		}
		return s.mapper.Change(env, next)
	}
	return nil, bad("wrong magic byte 0x%02x: neither JSON nor the Confluent wire format (magic byte 0x00)", v[0])
}

// format tells how to read a value: by the option, or by its first byte.
func (s *Source) format(v []byte) string {
	switch s.opts.Format {
	case FormatJSON, FormatAvro:
		return s.opts.Format
	}
	switch c := v[0]; {
	case c == avro.MagicByte:
		return FormatAvro
	case c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r':
		return "" // a magic byte of another framing
	}
	return FormatJSON
}

func (s *Source) avroChange(ctx context.Context, r *kgo.Record, next change.Position) (*change.Change, error) {
	if s.avro == nil {
		id, _, err := avro.SplitWire(r.Value)
		if err != nil {
			return nil, err
		}
		return nil, bad("Avro record (Confluent wire format, schema id %d) but no schema registry is configured (schema_registry)", id)
	}
	rec, err := s.decodeAvro(ctx, r.Value)
	if err != nil {
		return nil, err
	}
	a := s.opts.Avro
	key, err := avroKey(rec.Image, a)
	if err != nil {
		return nil, err
	}
	c := &change.Change{
		Entity:       a.Entity,
		Key:          key,
		Op:           change.OpUpsert,
		Image:        rec.Image,
		EventTime:    r.Timestamp.UTC(),
		Origin:       change.OriginEvent,
		EventID:      MessageID(r.Topic, r.Partition, r.Offset),
		EventType:    a.EventType,
		SourceSystem: a.SourceSystem,
		Pos:          next,
	}
	if c.EventType == "" {
		c.EventType = "Avro" + rec.Short
	}
	if a.VersionField != "" {
		if v := rec.Image[avro.FieldName(a.VersionField)]; v.Kind == ddbjson.KindN {
			c.Version = v.Str
		}
	}
	return c, nil
}

// decodeAvro decodes an Avro record, retrying while the schema registry
// cannot be reached (a registry outage is no reason to dead-letter).
func (s *Source) decodeAvro(ctx context.Context, v []byte) (*avro.Record, error) {
	wait := 500 * time.Millisecond
	for {
		rec, err := s.avro.Decode(ctx, v)
		var ae *avro.Error
		if err == nil || errors.As(err, &ae) || ctx.Err() != nil {
			return rec, err
		}
		s.log.Warn("schema registry unreachable; retrying", "err", err, "in", wait)
		if !sleep(ctx, wait) {
			return nil, ctx.Err()
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// avroKey takes the key from the image's key fields.
func avroKey(img ddbjson.Map, a AvroOptions) (change.Key, error) {
	var k change.Key
	var err error
	if k.Hash, err = keyPart(img, a.KeyField); err != nil {
		return k, err
	}
	if a.RangeKeyField != "" {
		if k.Range, err = keyPart(img, a.RangeKeyField); err != nil {
			return k, err
		}
	}
	return k, nil
}

func keyPart(img ddbjson.Map, field string) (ddbjson.Value, error) {
	name := avro.FieldName(field)
	v, ok := img[name]
	switch {
	case !ok || v.IsNull():
		return v, bad("key field %s is missing or null", field)
	case v.Kind != ddbjson.KindS && v.Kind != ddbjson.KindN && v.Kind != ddbjson.KindB:
		return v, bad("key field %s is %s, want a string, number or bytes", field, v.Kind)
	case (v.Kind == ddbjson.KindB && len(v.Bin) == 0) || (v.Kind != ddbjson.KindB && v.Str == ""):
		return v, bad("key field %s is empty", field)
	}
	return v, nil
}
