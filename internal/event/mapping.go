package event

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Mapper turns envelopes into changes through the entity mapping.
type Mapper struct {
	byType   map[string]rule
	byEntity map[string]rule // for re-sync events, which name their entity
	// Now is the clock events are checked against (default time.Now).
	Now func() time.Time
	// MaxFuture is how far past Now an event's dateTime may be (default
	// 24h): a time further ahead is a clock or data error, and applying it
	// would make the entity look newer than every later snapshot.
	MaxFuture time.Duration
}

type rule struct {
	entity  string
	op      change.Op
	hash    keyRule
	rangeK  *keyRule
	version string
}

type keyRule struct {
	attr   string
	kind   ddbjson.Kind
	path   []string
	format string
}

// NewMapper builds a mapper from validated entity configs.
func NewMapper(entities []config.Entity) (*Mapper, error) {
	m := &Mapper{byType: map[string]rule{}, byEntity: map[string]rule{}, Now: time.Now, MaxFuture: 24 * time.Hour}
	for _, e := range entities {
		r := rule{entity: e.Name, hash: newKeyRule(e.HashKey), version: e.Version}
		if e.RangeKey != nil {
			k := newKeyRule(*e.RangeKey)
			r.rangeK = &k
		}
		m.byEntity[e.Name] = r
		for t, opName := range e.Events {
			op, err := change.ParseOp(opName)
			if err != nil {
				return nil, fmt.Errorf("entity %s event %s: %w", e.Name, t, err)
			}
			r.op = op
			m.byType[t] = r
		}
	}
	return m, nil
}

// Known reports whether the event type is mapped.
func (m *Mapper) Known(eventType string) bool {
	_, ok := m.byType[eventType]
	return ok
}

func newKeyRule(k config.KeyAttr) keyRule {
	kind := k.Kind()
	from := k.From
	if from == "" {
		from = "entityId"
	}
	return keyRule{attr: k.Name, kind: kind, path: strings.Split(from, "."), format: k.Format}
}

// isGUID reports whether s is a GUID as .NET writes it: 8-4-4-4-12 hex
// digits, either case.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Change maps an envelope to a change. An *Error says why it cannot.
func (m *Mapper) Change(env *Envelope, pos change.Position) (*change.Change, error) {
	if isResync(env.EventType) {
		return m.resyncChange(env, pos)
	}
	r, ok := m.byType[env.EventType]
	if !ok {
		return nil, errorf("unknown event type %q (map it under entities[].events)", env.EventType)
	}
	if limit := m.Now().Add(m.MaxFuture); env.DateTime.After(limit) {
		return nil, errorf("dateTime %s is more than %s in the future (a clock or data error)",
			env.DateTime.Format(time.RFC3339Nano), m.MaxFuture)
	}
	key, err := r.key(env)
	if err != nil {
		return nil, err
	}
	c := &change.Change{
		Entity:       r.entity,
		Key:          key,
		Op:           r.op,
		EventTime:    env.DateTime,
		Origin:       change.OriginEvent,
		EventID:      env.ID,
		EventType:    env.EventType,
		SourceSystem: env.SourceSystem,
		Pos:          pos,
	}
	switch r.op {
	case change.OpUpsert:
		err = r.fullImage(env, c)
	case change.OpPatch:
		err = r.patch(env, c)
	case change.OpDelete:
		c.OldBin = env.OldData.MapBytes()
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// fullImage sets the image of a create: newData, with the key put in.
func (r rule) fullImage(env *Envelope, c *change.Change) error {
	if env.NewData.Kind != ddbjson.KindM {
		return errorf("%s needs newData with the whole entity, got %s", env.EventType, shape(env.NewData.Kind))
	}
	if env.NewData.Len() == 0 {
		return errorf("%s has an empty newData", env.EventType)
	}
	if k := env.OldData.Kind; k != ddbjson.KindInvalid && k != ddbjson.KindNULL && k != ddbjson.KindM {
		return errorf("%s has oldData of the wrong shape: %s", env.EventType, shape(k))
	}
	if err := r.checkKeyInImage(env.NewData, c.Key); err != nil {
		return err
	}
	keys := ddbjson.Map{r.hash.attr: c.Key.Hash}
	if r.rangeK != nil {
		keys[r.rangeK.attr] = c.Key.Range
	}
	img, _, err := ddbjson.PatchBinary(nil, env.NewData.MapBytes(), keys)
	if err != nil {
		return errorf("%s: newData: %v", env.EventType, err) // not reached: Decode wrote it
	}
	c.ImageBin = img
	c.OldBin = env.OldData.MapBytes()
	return nil
}

// patch sets the changed fields of a partial update: newData, and oldData
// for the check against the state.
func (r rule) patch(env *Envelope, c *change.Change) error {
	if env.NewData.Kind != ddbjson.KindM {
		return errorf("%s needs newData with the changed fields, got %s", env.EventType, shape(env.NewData.Kind))
	}
	if env.NewData.Len() == 0 {
		return errorf("%s has an empty newData: no field changes", env.EventType)
	}
	switch env.OldData.Kind {
	case ddbjson.KindInvalid, ddbjson.KindNULL, ddbjson.KindM:
	default:
		return errorf("%s has oldData of the wrong shape: %s", env.EventType, shape(env.OldData.Kind))
	}
	if err := r.checkKeyInImage(env.NewData, c.Key); err != nil {
		return err
	}
	c.ImageBin = env.NewData.MapBytes()
	c.OldBin = env.OldData.MapBytes()
	return nil
}

// checkKeyInImage rejects data that names another key than the envelope.
func (r rule) checkKeyInImage(img ddbjson.RawValue, key change.Key) error {
	if v, ok := member(img, r.hash.attr); ok {
		if eq, err := ddbjson.RawEqual(v, key.Hash); err != nil || !eq {
			return errorf("newData.%s (%s) differs from the event's key %s", r.hash.attr, plainString(v), key)
		}
	}
	if r.rangeK != nil {
		if v, ok := member(img, r.rangeK.attr); ok {
			if eq, err := ddbjson.RawEqual(v, key.Range); err != nil || !eq {
				return errorf("newData.%s differs from the event's range key", r.rangeK.attr)
			}
		}
	}
	return nil
}

func (r rule) key(env *Envelope) (change.Key, error) {
	var k change.Key
	var err error
	if k.Hash, err = r.hash.value(env); err != nil {
		return k, err
	}
	if r.rangeK != nil {
		if k.Range, err = r.rangeK.value(env); err != nil {
			return k, err
		}
	}
	return k, nil
}

func (k keyRule) value(env *Envelope) (ddbjson.Value, error) {
	name := strings.Join(k.path, ".")
	raw, ok := lookup(env.Raw, k.path)
	if !ok || raw.IsNull() {
		return ddbjson.Value{}, errorf("key %s is missing", name)
	}
	switch {
	case k.kind == ddbjson.KindS && raw.Kind == ddbjson.KindS:
		s := raw.Str()
		if strings.TrimSpace(s) == "" {
			return ddbjson.Value{}, errorf("key %s is empty", name)
		}
		if k.format == "uuid" && !isGUID(s) {
			return ddbjson.Value{}, errorf("key %s %q is not a GUID", name, s)
		}
		return ddbjson.S(s), nil
	case k.kind == ddbjson.KindN && (raw.Kind == ddbjson.KindN || raw.Kind == ddbjson.KindS && ddbjson.ValidNumber(raw.Str())):
		return ddbjson.N(raw.Str()), nil
	case k.kind == ddbjson.KindB && raw.Kind == ddbjson.KindS:
		// JSON has no bytes: a binary key travels as base64, as DynamoDB JSON writes it.
		b, err := base64.StdEncoding.DecodeString(raw.Str())
		if err != nil || len(b) == 0 {
			return ddbjson.Value{}, errorf("key %s %q is not base64 of a binary key", name, raw.Str())
		}
		return ddbjson.B(b), nil
	}
	return ddbjson.Value{}, errorf("key %s is %s, want %s", name, shape(raw.Kind), k.kind)
}

// lookup follows a key path through the objects of the envelope.
func lookup(m ddbjson.RawValue, path []string) (ddbjson.RawValue, bool) {
	v := m
	for _, p := range path {
		var ok bool
		if v, ok = member(v, p); !ok {
			return v, false
		}
	}
	return v, true
}

func shape(k ddbjson.Kind) string {
	if k == ddbjson.KindInvalid {
		return "nothing"
	}
	if k == ddbjson.KindM || k == ddbjson.KindL {
		return "an " + plainKind(k)
	}
	return "a " + plainKind(k)
}

func plainString(raw ddbjson.RawValue) string {
	v, err := raw.Value()
	if err != nil {
		return raw.Kind.String()
	}
	b := ddbjson.AppendPlain(nil, v)
	if len(b) > 80 {
		b = append(b[:77], "..."...)
	}
	return string(b)
}
