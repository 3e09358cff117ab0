package ddbstream

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// shardInfo is what the coordinator knows of a shard.
type shardInfo struct {
	id, parent string
	pos        shardPos // stored when first seen
	inStream   bool     // in the latest description
	started    bool
	finished   bool // closed and every record yielded
}

// coordinate starts a reader for each shard once its parent is finished,
// and lists the shards again every DiscoverInterval and whenever a shard
// finishes (its children may be new). It returns when ctx ends, or with the
// error that ends the source.
func (s *Source) coordinate(ctx context.Context) error {
	known := map[string]*shardInfo{}
	done := make(chan string)
	tick := time.NewTicker(s.opts.DiscoverInterval)
	defer tick.Stop()
	sd := s.desc
	var ended []string // finished readers, forgotten once their children start
	for {
		if err := s.learn(known, sd.shards); err != nil {
			return err
		}
		if err := s.startReady(ctx, known, done); err != nil {
			return err
		}
		for _, id := range ended {
			s.act.end(id)
		}
		ended = ended[:0]
		s.act.setStarted()
		if sd.status == types.StreamStatusDisabled && allFinished(known) {
			return fmt.Errorf("following table %s: stream %s was disabled and all its records are read; "+
				"later writes are not in it: %w (enable the stream, tidemark snapshot from a new export, then follow with the stream reset)",
				s.opts.Table, s.arn, ErrStreamChanged)
		}
		select {
		case id := <-done:
			known[id].finished = true
			ended = append(ended, id)
			s.log.Info("ddbstream: shard finished", "table", s.opts.Table, "shard", id)
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
		var err error
		if sd, err = s.describe(ctx); err != nil {
			return err
		}
	}
}

// learn adds the shards not known yet, with their stored positions, and
// marks which shards are in the stream now.
func (s *Source) learn(known map[string]*shardInfo, shards []types.Shard) error {
	for _, k := range known {
		k.inStream = false
	}
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		if k, ok := known[id]; ok {
			k.inStream = true
			continue
		}
		p, err := s.shardPos(id)
		if err != nil {
			return err
		}
		known[id] = &shardInfo{id: id, parent: aws.ToString(sh.ParentShardId), pos: p, inStream: true, finished: p.closed}
	}
	return nil
}

// shardPos reads a shard's stored position; with Reset only its offset
// counts.
func (s *Source) shardPos(id string) (shardPos, error) {
	src := ShardSourceID(s.opts.Table, id)
	off, tok, ok, err := s.pos(src)
	if err != nil {
		return shardPos{}, fmt.Errorf("reading position %s: %w", src, err)
	}
	p := parseShardToken(off, tok, ok)
	if s.opts.Reset {
		p = shardPos{offset: p.offset}
	}
	return p, nil
}

// startReady starts a reader for every shard whose lineage allows it.
func (s *Source) startReady(ctx context.Context, known map[string]*shardInfo, done chan<- string) error {
	for _, id := range slices.Sorted(maps.Keys(known)) {
		k := known[id]
		if k.started || k.finished || !k.inStream {
			continue
		}
		ok, err := s.ready(k, known)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		k.started = true
		s.act.begin(id)
		r := &shardRun{id: id, src: ShardSourceID(s.opts.Table, id), off: k.pos.offset, seq: k.pos.seq}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.readShard(ctx, r); err != nil {
				if ctx.Err() == nil {
					s.send(ctx, batch{err: err})
				}
				return
			}
			select {
			case done <- r.id:
			case <-ctx.Done():
			}
		}()
	}
	return nil
}

// ready says whether shard k may be read now: its parent is finished, or
// has left the stream after it was finished, or never needed reading (a
// root of the first read). A parent that left the stream unread or
// half-read means its records were trimmed: ErrTrimmed.
func (s *Source) ready(k *shardInfo, known map[string]*shardInfo) (bool, error) {
	if k.pos.stored || k.parent == "" {
		return true, nil // a child is committed only after its parent's end
	}
	if p, ok := known[k.parent]; ok && (p.inStream || p.started || p.finished) {
		return p.finished, nil
	}
	if !s.followed || slices.Contains(s.meta.Roots, k.id) {
		return true, nil // the stream's oldest shards, as first read
	}
	pp, err := s.shardPos(k.parent)
	if err != nil {
		return false, err
	}
	if pp.closed {
		if p, ok := known[k.parent]; ok {
			p.finished = true
		}
		return true, nil
	}
	if pp.stored {
		return false, fmt.Errorf("following table %s: shard %s was read up to sequence number %s (offset %d) but has left stream %s, "+
			"so its later records were trimmed: %w (tidemark snapshot from a new export, then follow with the stream reset)",
			s.opts.Table, k.parent, pp.seq, pp.offset, s.arn, ErrTrimmed)
	}
	return false, fmt.Errorf("following table %s: shard %s, parent of shard %s, was never read and has left stream %s "+
		"(its records were trimmed after 24 hours): %w (tidemark snapshot from a new export, then follow with the stream reset)",
		s.opts.Table, k.parent, k.id, s.arn, ErrTrimmed)
}

func allFinished(known map[string]*shardInfo) bool {
	for _, k := range known {
		if !k.finished && k.inStream {
			return false
		}
	}
	return true
}

// streamDesc is what DescribeStream says of the stream.
type streamDesc struct {
	shards    []types.Shard
	status    types.StreamStatus
	view      types.StreamViewType
	keySchema []types.KeySchemaElement
}

// describe lists the stream and all its shards (DescribeStream pages).
func (s *Source) describe(ctx context.Context) (streamDesc, error) {
	var sd streamDesc
	var start *string
	for {
		out, err := callRetry(ctx, s, "DescribeStream", func() (*dynamodbstreams.DescribeStreamOutput, error) {
			return s.api.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(s.arn), ExclusiveStartShardId: start})
		})
		if err == nil && out.StreamDescription == nil {
			err = errors.New("no StreamDescription")
		}
		if err != nil {
			return sd, fmt.Errorf("describing stream %s of table %s: %w", s.arn, s.opts.Table, err)
		}
		d := out.StreamDescription
		if start == nil {
			sd.status, sd.view, sd.keySchema = d.StreamStatus, d.StreamViewType, d.KeySchema
		}
		sd.shards = append(sd.shards, d.Shards...)
		if d.LastEvaluatedShardId == nil {
			return sd, nil
		}
		start = d.LastEvaluatedShardId
	}
}
