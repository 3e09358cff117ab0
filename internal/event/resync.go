package event

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// The event types of the re-sync contract (docs/events.md).
const (
	TypeResyncStarted   = "ResyncStarted"
	TypeCurrentState    = "CurrentStateEvent"
	TypeResyncCompleted = "ResyncCompleted"
)

func isResync(t string) bool {
	return t == TypeResyncStarted || t == TypeCurrentState || t == TypeResyncCompleted
}

// resyncChange maps a re-sync event: the entity is named in resync.entity.
func (m *Mapper) resyncChange(env *Envelope, pos change.Position) (*change.Change, error) {
	rv, ok := member(env.Raw, "resync")
	if !ok || rv.Kind != ddbjson.KindM {
		return nil, errorf("%s without a resync object", env.EventType)
	}
	rs, err := mapOf(rv)
	if err != nil {
		return nil, err
	}
	entity, id := rs["entity"].Str, rs["resyncId"].Str
	if id == "" {
		return nil, errorf("%s without resync.resyncId", env.EventType)
	}
	r, ok := m.byEntity[entity]
	if !ok {
		return nil, errorf("%s for entity %q, which is not in entities[].name", env.EventType, entity)
	}
	c := &change.Change{Entity: entity, Origin: change.OriginResync, EventID: env.ID, EventType: env.EventType,
		SourceSystem: env.SourceSystem, EventTime: env.DateTime, Pos: pos, Resync: &change.Resync{ID: id, ExpectedCount: -1}}
	if env.EventType != TypeCurrentState {
		if c.Resync.StartedAt, err = resyncTime(rs, "startedAt"); err != nil {
			return nil, err
		}
		if env.EventType == TypeResyncStarted {
			c.Resync.Kind = change.ResyncStarted
			if n, ok := ddbjson.Int64(rs["expectedCount"].Str); ok && rs["expectedCount"].Kind == ddbjson.KindN {
				c.Resync.ExpectedCount = n
			}
			return c, nil
		}
		c.Resync.Kind = change.ResyncCompleted
		n, ok := ddbjson.Int64(rs["count"].Str)
		if !ok || rs["count"].Kind != ddbjson.KindN || n < 0 {
			return nil, errorf("ResyncCompleted without a resync.count")
		}
		c.Resync.Count, c.Resync.Digest = n, rs["keysDigest"].Str
		if len(c.Resync.Digest) != 16 {
			return nil, errorf("ResyncCompleted without a 16-hex-digit resync.keysDigest")
		}
		return c, nil
	}
	c.Resync.Kind = change.ResyncItem
	c.Op = change.OpUpsert
	if c.AsOf, err = resyncTime(rs, "asOf"); err != nil {
		return nil, err
	}
	c.EventTime = c.AsOf
	if seq, ok := ddbjson.Int64(rs["sequence"].Str); ok && rs["sequence"].Kind == ddbjson.KindN {
		c.Resync.Sequence = seq
	}
	if env.NewData.Kind != ddbjson.KindM || env.NewData.Len() == 0 {
		return nil, errorf("CurrentStateEvent needs newData with the whole entity")
	}
	// The hash key comes from the envelope (entityId), the range key from
	// resync.rangeKey, typed as the table's.
	if c.Key.Hash, err = r.hash.value(env); err != nil {
		return nil, err
	}
	if r.rangeK != nil {
		rk := rs["rangeKey"]
		if rk.Kind != ddbjson.KindS || rk.Str == "" {
			return nil, errorf("CurrentStateEvent for an entity with a range key needs resync.rangeKey")
		}
		if c.Key.Range, err = typedKeyPart(rk.Str, r.rangeK.kind); err != nil {
			return nil, err
		}
	}
	if err := r.checkKeyInImage(env.NewData, c.Key); err != nil {
		return nil, err
	}
	img, err := mapOf(env.NewData)
	if err != nil {
		return nil, err
	}
	img[r.hash.attr] = c.Key.Hash
	if r.rangeK != nil {
		img[r.rangeK.attr] = c.Key.Range
	}
	c.Image = img
	if v := rs["version"]; v.Kind == ddbjson.KindS && ddbjson.ValidNumber(v.Str) {
		c.Version = v.Str
	} else if v, ok := img[r.version]; ok && r.version != "" && v.Kind == ddbjson.KindN {
		c.Version = v.Str
	}
	return c, nil
}

// mapOf decodes an object of the envelope into a Map.
func mapOf(v ddbjson.RawValue) (ddbjson.Map, error) {
	d, err := v.Value()
	if err != nil {
		return nil, fmt.Errorf("decoding the event's data: %w", err) // not reached: Decode wrote it
	}
	return d.Map, nil
}

func resyncTime(rs ddbjson.Map, name string) (time.Time, error) {
	v := rs[name]
	if v.Kind != ddbjson.KindS {
		return time.Time{}, errorf("resync.%s is missing", name)
	}
	t, err := ParseTime(v.Str)
	if err != nil || t.IsZero() {
		return time.Time{}, errorf("resync.%s %q is not an ISO-8601 time", name, v.Str)
	}
	return t, nil
}

// typedKeyPart reads a key part written as text (binary as base64).
func typedKeyPart(s string, kind ddbjson.Kind) (ddbjson.Value, error) {
	switch kind {
	case ddbjson.KindN:
		if !ddbjson.ValidNumber(s) {
			return ddbjson.Value{}, errorf("resync.rangeKey %q is not a number", s)
		}
		return ddbjson.N(s), nil
	case ddbjson.KindB:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			return ddbjson.Value{}, errorf("resync.rangeKey %q is not base64", s)
		}
		return ddbjson.B(b), nil
	}
	return ddbjson.S(s), nil
}
