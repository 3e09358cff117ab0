// Package ddbstream follows a table's DynamoDB stream as a change.Source:
// every INSERT and MODIFY becomes a full-image upsert (the stream's
// NewImage), every REMOVE a delete, in sequence-number order within a shard
// and in lineage order across shards (a child shard is read only after its
// parent's last record).
//
// Positions are exact: each shard's position is the sequence number of its
// last committed record (and a closed mark once the shard is finished), so
// a restart resumes AFTER_SEQUENCE_NUMBER with no loss and no duplicate.
// A stream keeps records 24 hours: when the stored positions can no longer
// be resumed (records trimmed, a shard gone from the stream unread, or a
// different stream on the table) the source refuses to go on with ErrTrimmed
// or ErrStreamChanged, because events were lost and the entity must be
// bootstrapped again.
package ddbstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Errors callers test with errors.Is. Each is wrapped in a message that
// names the table, the stream or shard, and what the operator must do.
var (
	// ErrTrimmed: records the copy has not applied are no longer in the
	// stream (older than its 24-hour retention). Events were lost: the
	// entity must be bootstrapped again (a snapshot from a new export),
	// then followed with Options.Reset.
	ErrTrimmed = errors.New("stream records were trimmed before they were read: events were lost, re-bootstrap the entity")
	// ErrStreamChanged: the positions belong to another stream than the
	// table's (the stream was disabled and enabled again, or the table
	// re-created), or the followed stream was disabled. Events were lost:
	// re-bootstrap the entity, then follow with Options.Reset.
	ErrStreamChanged = errors.New("the table's stream changed since the positions were stored: events were lost, re-bootstrap the entity")
	// ErrNoStream: the table has no stream enabled.
	ErrNoStream = errors.New("the table has no DynamoDB stream enabled")
	// ErrViewType: the stream's records carry no new image (view type
	// KEYS_ONLY or OLD_IMAGE); tidemark needs NEW_IMAGE or
	// NEW_AND_OLD_IMAGES.
	ErrViewType = errors.New("the stream's view type must be NEW_IMAGE or NEW_AND_OLD_IMAGES")
)

// PositionTokenFunc returns a source id's committed offset and token, as
// state.Store.PositionToken does.
type PositionTokenFunc func(source string) (offset int64, token []byte, ok bool, err error)

// Options configure a stream follower.
type Options struct {
	Entity string
	Table  string
	// StreamARN, when set, is followed instead of the table's
	// LatestStreamArn (DescribeTable is then not called).
	StreamARN string
	// HashAttr (and RangeAttr, "" for none) name the key attributes;
	// HashType and RangeType, when not ddbjson.KindInvalid, are checked
	// (a record with a key of another type is a dead letter).
	HashAttr, RangeAttr string
	HashType, RangeType ddbjson.Kind
	// VersionAttr is the N attribute of the image that is the change's
	// version ("" for none).
	VersionAttr string
	// PollInterval is the pause after a GetRecords that returned nothing
	// (default 1s; AWS allows 5 GetRecords a second per shard).
	PollInterval time.Duration
	// DiscoverInterval is how often the stream's shards are listed again
	// to find new ones (default 1m; a shard closes about every 4 hours,
	// and a finished shard's children are looked for at once anyway).
	DiscoverInterval time.Duration
	// IdleTimeout, when not 0, makes Next return io.EOF once no record has
	// arrived for that long on any shard (for `run --until-idle` and
	// tests). 0 follows forever.
	IdleTimeout time.Duration
	// Reset starts over on the table's current stream: stored shard
	// positions and the stored stream ARN are ignored and every shard is
	// read from its oldest record (TRIM_HORIZON). Use it once, for the
	// follow right after a re-bootstrap; offsets keep growing.
	Reset bool
	// Log receives shard starts and ends, rediscoveries and retries
	// (nothing when nil).
	Log *slog.Logger
}

// Source follows one table's stream.
type Source struct {
	api  API
	opts Options
	pos  PositionTokenFunc
	log  *slog.Logger

	arn      string
	desc     streamDesc // as New found it
	meta     meta
	metaRec  *change.Record // the stream's position, yielded first when new
	followed bool           // the stored positions belong to this stream

	once    sync.Once
	cancel  context.CancelFunc
	out     chan batch
	wg      sync.WaitGroup
	cur     []change.Record
	err     error
	closed  bool
	last    time.Time   // when the last record arrived (for IdleTimeout)
	pending atomic.Bool // records sent since the last flush
	act     activity
	sleep   func(ctx context.Context, d time.Duration) error
}

// batch is what the shard readers send: records, or the error that ends
// the source.
type batch struct {
	recs []change.Record
	err  error
}

var _ change.Source = (*Source)(nil)

// New finds the table's stream, checks that its view type carries new
// images and that its key schema is the configured one, lists its shards,
// and checks that the stored positions belong to it. Reading starts with
// the first Next.
func New(ctx context.Context, opts Options, client API, pos PositionTokenFunc) (*Source, error) {
	if opts.Table == "" || opts.Entity == "" || opts.HashAttr == "" {
		return nil, errors.New("ddbstream: Options need Entity, Table and HashAttr")
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.DiscoverInterval <= 0 {
		opts.DiscoverInterval = time.Minute
	}
	s := &Source{api: client, opts: opts, pos: pos, log: opts.Log, sleep: sleepCtx}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	stored, err := s.storedMeta()
	if err != nil {
		return nil, err
	}
	if err := s.findStream(ctx, stored); err != nil {
		return nil, err
	}
	if s.desc, err = s.describe(ctx); err != nil {
		return nil, err
	}
	if err := s.checkStream(); err != nil {
		return nil, err
	}
	if err := s.checkKeySchema(s.desc.keySchema); err != nil {
		return nil, err
	}
	return s, s.planMeta(stored)
}

// storedMeta reads the stream position (nil when none).
func (s *Source) storedMeta() (*storedStream, error) {
	id := MetaSourceID(s.opts.Table)
	off, tok, ok, err := s.pos(id)
	if err != nil {
		return nil, fmt.Errorf("reading position %s: %w", id, err)
	}
	if !ok {
		return nil, nil
	}
	m, err := parseMeta(tok)
	if err != nil {
		return nil, fmt.Errorf("reading position %s: %w", id, err)
	}
	return &storedStream{offset: off, meta: m}, nil
}

type storedStream struct {
	offset int64
	meta   meta
}

// findStream sets the stream to follow: Options.StreamARN, else the
// table's LatestStreamArn. A table whose stream is disabled is refused,
// unless its last stream is the one the positions belong to (its remaining
// records are then read, and the end reported).
func (s *Source) findStream(ctx context.Context, stored *storedStream) error {
	if s.opts.StreamARN != "" {
		s.arn = s.opts.StreamARN
		return nil
	}
	out, err := s.api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.opts.Table)})
	if err != nil {
		return fmt.Errorf("describing table %s to find its stream: %w", s.opts.Table, err)
	}
	t := out.Table
	s.arn = aws.ToString(t.LatestStreamArn)
	enabled := t.StreamSpecification != nil && aws.ToBool(t.StreamSpecification.StreamEnabled)
	if s.arn != "" && (enabled || stored != nil && stored.meta.Stream == s.arn && !s.opts.Reset) {
		return nil
	}
	return fmt.Errorf("following table %s: %w: enable it with view type NEW_AND_OLD_IMAGES "+
		"(aws dynamodb update-table --table-name %s --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES), "+
		"then bootstrap the entity and follow", s.opts.Table, ErrNoStream, s.opts.Table)
}

// checkStream refuses a stream whose records carry no new image.
func (s *Source) checkStream() error {
	switch s.desc.view {
	case types.StreamViewTypeNewImage, types.StreamViewTypeNewAndOldImages:
		return nil
	}
	return fmt.Errorf("following table %s: stream %s has view type %q: %w (aws dynamodb update-table --table-name %s "+
		"--stream-specification StreamEnabled=false, then StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES; "+
		"that makes a new stream, so bootstrap the entity again before following)",
		s.opts.Table, s.arn, s.desc.view, ErrViewType, s.opts.Table)
}

// checkKeySchema compares the stream's key schema with the options.
func (s *Source) checkKeySchema(ks []types.KeySchemaElement) error {
	var hash, rng string
	for _, k := range ks {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	if len(ks) == 0 || hash == s.opts.HashAttr && rng == s.opts.RangeAttr {
		return nil
	}
	return fmt.Errorf("following table %s: the stream's key is hash %q range %q but the entity %s is configured with hash %q range %q: fix the entity's key attributes",
		s.opts.Table, hash, rng, s.opts.Entity, s.opts.HashAttr, s.opts.RangeAttr)
}

// planMeta compares the stored stream with the followed one and prepares
// the stream's position when it is new.
func (s *Source) planMeta(stored *storedStream) error {
	if stored != nil && stored.meta.Stream == s.arn && !s.opts.Reset {
		s.meta, s.followed = stored.meta, true
		return nil
	}
	if stored != nil && !s.opts.Reset {
		return fmt.Errorf("following table %s: positions were stored for stream %s but the table's stream is now %s "+
			"(the stream was disabled and enabled again, or the table re-created): %w "+
			"(tidemark snapshot from a new export, then follow with the stream reset)", s.opts.Table, stored.meta.Stream, s.arn, ErrStreamChanged)
	}
	s.meta = meta{Stream: s.arn, Roots: rootShards(s.desc.shards)}
	var off int64
	if stored != nil {
		off = stored.offset
	}
	s.metaRec = &change.Record{Next: change.Position{Source: MetaSourceID(s.opts.Table), Offset: off + 1, Token: s.meta.token()}}
	return nil
}

// rootShards returns the shards whose parent is not in the list: a first
// read starts there.
func rootShards(shards []types.Shard) []string {
	in := make(map[string]bool, len(shards))
	for _, sh := range shards {
		in[aws.ToString(sh.ShardId)] = true
	}
	var roots []string
	for _, sh := range shards {
		if p := aws.ToString(sh.ParentShardId); p == "" || !in[p] {
			roots = append(roots, aws.ToString(sh.ShardId))
		}
	}
	slices.Sort(roots)
	return roots
}

// StreamARN returns the ARN of the followed stream.
func (s *Source) StreamARN() string { return s.arn }

// Next returns the next record. A record with only Flush set means that
// a poll found nothing new: the consumer should commit what it holds.
func (s *Source) Next(ctx context.Context) (change.Record, error) {
	if err := ctx.Err(); err != nil {
		return change.Record{}, err
	}
	if s.closed {
		return change.Record{}, change.ErrClosed
	}
	s.once.Do(s.start)
	for len(s.cur) == 0 {
		if s.err != nil {
			return change.Record{}, s.err
		}
		if err := s.wait(ctx); err != nil {
			return change.Record{}, err
		}
	}
	r := s.cur[0]
	s.cur = s.cur[1:]
	return r, nil
}

func isFlush(r change.Record) bool { return r.Flush && r.Change == nil && r.Dead == nil }

// stop ends the readers and makes err the answer of every later Next.
func (s *Source) stop(err error) {
	s.err = err
	s.cancel()
}

// Close stops the readers and waits for them. It is idempotent.
func (s *Source) Close() error {
	s.closed = true
	s.once.Do(func() { s.cancel = func() {} })
	s.cancel()
	s.wg.Wait()
	return nil
}

// start runs the coordinator, which starts a reader per shard as lineage
// allows.
func (s *Source) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.out = make(chan batch, 8)
	s.last = time.Now()
	if s.metaRec != nil {
		s.cur = []change.Record{*s.metaRec}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.coordinate(ctx); err != nil && ctx.Err() == nil {
			s.send(ctx, batch{err: err})
		}
	}()
}

// send hands a batch to Next; false when the source is closing.
func (s *Source) send(ctx context.Context, b batch) bool {
	select {
	case s.out <- b:
		return true
	case <-ctx.Done():
		return false
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
