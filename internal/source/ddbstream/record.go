package ddbstream

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// SourceSystem is the SourceSystem of every change this source yields.
const SourceSystem = "ddbstream"

// convert turns the stream record sr, the next one of shard r, into a
// record: INSERT and MODIFY become a full-image upsert (NewImage), REMOVE a
// delete. A record whose key or attributes cannot be read becomes a dead
// letter. An INSERT or MODIFY without NewImage is an error: the stream's
// view type cannot feed a copy.
func (s *Source) convert(r *shardRun, sr types.Record) (change.Record, error) {
	d := sr.Dynamodb
	if d == nil {
		d = &types.StreamRecord{}
	}
	before := change.Position{Source: r.src, Offset: r.off, Token: r.seq}
	r.off++
	r.seq = aws.ToString(d.SequenceNumber)
	next := change.Position{Source: r.src, Offset: r.off, Token: r.seq}
	dead := func(reason string) (change.Record, error) {
		raw, _ := json.Marshal(sr)
		return change.Record{Next: next, Dead: &change.DeadLetter{Pos: before, Raw: raw, ID: aws.ToString(sr.EventID),
			Reason: fmt.Sprintf("%s: stream record %s (sequence number %s): %s", r.src, aws.ToString(sr.EventID), r.seq, reason)}}, nil
	}

	keys, err := fromStream(d.Keys)
	if err != nil {
		return dead("Keys: " + err.Error())
	}
	c := &change.Change{Entity: s.opts.Entity, Origin: change.OriginStream, EventID: aws.ToString(sr.EventID),
		EventType: string(sr.EventName), SourceSystem: SourceSystem, Pos: next}
	if t := d.ApproximateCreationDateTime; t != nil {
		c.EventTime = t.UTC()
	}
	c.Key.Hash = keys[s.opts.HashAttr]
	if s.opts.RangeAttr != "" {
		c.Key.Range = keys[s.opts.RangeAttr]
	}
	if err := s.checkKey(c.Key); err != nil {
		return dead(err.Error())
	}
	switch sr.EventName {
	case types.OperationTypeInsert, types.OperationTypeModify:
		if d.NewImage == nil {
			return change.Record{}, fmt.Errorf("%s: %s record %s has no NewImage (the stream's view type is %s): %w",
				r.src, sr.EventName, aws.ToString(sr.EventID), viewOf(d.StreamViewType, s.desc.view), ErrViewType)
		}
		img, err := fromStream(d.NewImage)
		if err != nil {
			return dead("NewImage: " + err.Error())
		}
		c.Op, c.Image = change.OpUpsert, img
		if v, ok := img[s.opts.VersionAttr]; ok && s.opts.VersionAttr != "" && v.Kind == ddbjson.KindN {
			c.Version = v.Str
		}
	case types.OperationTypeRemove:
		// No version: the old image's version equals the state's, which
		// the apply rules would take for a stale change.
		c.Op = change.OpDelete
	default:
		return dead(fmt.Sprintf("unknown eventName %q (want INSERT, MODIFY or REMOVE)", sr.EventName))
	}
	return change.Record{Change: c, Next: next}, nil
}

func viewOf(rec, stream types.StreamViewType) types.StreamViewType {
	if rec != "" {
		return rec
	}
	return stream
}

// checkKey checks the key's parts are there and of the configured types.
func (s *Source) checkKey(k change.Key) error {
	if k.Hash.Kind == ddbjson.KindInvalid {
		return fmt.Errorf("the record's Keys have no hash key attribute %q", s.opts.HashAttr)
	}
	if s.opts.RangeAttr != "" && k.Range.Kind == ddbjson.KindInvalid {
		return fmt.Errorf("the record's Keys have no range key attribute %q", s.opts.RangeAttr)
	}
	if err := k.Validate(); err != nil {
		return fmt.Errorf("key %s: %w", k, err)
	}
	if t := s.opts.HashType; t != ddbjson.KindInvalid && k.Hash.Kind != t {
		return fmt.Errorf("hash key %q is of type %s, want %s", s.opts.HashAttr, k.Hash.Kind, t)
	}
	if t := s.opts.RangeType; t != ddbjson.KindInvalid && s.opts.RangeAttr != "" && k.Range.Kind != t {
		return fmt.Errorf("range key %q is of type %s, want %s", s.opts.RangeAttr, k.Range.Kind, t)
	}
	return nil
}

// fromStream converts a stream record's attribute values, numbers kept
// exact. (The Streams SDK has its own AttributeValue types, so the scan
// source's converter does not apply.)
func fromStream(item map[string]types.AttributeValue) (ddbjson.Map, error) {
	m := make(ddbjson.Map, len(item))
	for k, av := range item {
		v, err := valueFromStream(av)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		m[k] = v
	}
	return m, nil
}

func valueFromStream(av types.AttributeValue) (ddbjson.Value, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return ddbjson.S(v.Value), nil
	case *types.AttributeValueMemberN:
		return ddbjson.N(v.Value), nil
	case *types.AttributeValueMemberB:
		return ddbjson.B(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return ddbjson.Bool(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return ddbjson.Null(), nil
	case *types.AttributeValueMemberM:
		m, err := fromStream(v.Value)
		return ddbjson.M(m), err
	case *types.AttributeValueMemberL:
		l := make([]ddbjson.Value, len(v.Value))
		for i, e := range v.Value {
			var err error
			if l[i], err = valueFromStream(e); err != nil {
				return ddbjson.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return ddbjson.L(l...), nil
	case *types.AttributeValueMemberSS:
		return ddbjson.SS(v.Value...), nil
	case *types.AttributeValueMemberNS:
		return ddbjson.NS(v.Value...), nil
	case *types.AttributeValueMemberBS:
		return ddbjson.BS(v.Value...), nil
	}
	return ddbjson.Value{}, fmt.Errorf("unknown attribute value type %T", av)
}
