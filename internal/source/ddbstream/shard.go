package ddbstream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/smithy-go"

	"github.com/tidemark-dev/tidemark/internal/change"
)

// shardRun is a reader's progress in its shard: the position of the last
// record it yielded.
type shardRun struct {
	id, src string
	off     int64
	seq     string // "" before the first record: read from TRIM_HORIZON
}

// readShard yields the shard's records from its position until the shard
// is closed (then a closed mark), polling an open shard every PollInterval
// when it has nothing new. It returns nil once the shard is finished or ctx
// ends.
func (s *Source) readShard(ctx context.Context, r *shardRun) error {
	from := r.seq
	if from == "" {
		from = "TRIM_HORIZON"
	}
	s.log.Info("ddbstream: reading shard", "table", s.opts.Table, "shard", r.id, "after", from, "offset", r.off)
	iter, err := s.iterator(ctx, r)
	for {
		if err != nil || ctx.Err() != nil {
			return ignoreCancel(ctx, err)
		}
		if iter == "" { // closed, nothing after r.seq
			return s.finish(ctx, r, nil)
		}
		var out *dynamodbstreams.GetRecordsOutput
		out, err = callRetry(ctx, s, "GetRecords", func() (*dynamodbstreams.GetRecordsOutput, error) {
			return s.api.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(iter)})
		})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) {
			iter, err = s.iterator(ctx, r) // iterators last 15 minutes
			continue
		}
		if err != nil {
			return s.readError(r, "reading", err)
		}
		recs := make([]change.Record, 0, len(out.Records)+1)
		for _, sr := range out.Records {
			rec, err := s.convert(r, sr)
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		if out.NextShardIterator == nil {
			return s.finish(ctx, r, recs)
		}
		iter = aws.ToString(out.NextShardIterator)
		if len(recs) > 0 {
			if !s.send(ctx, batch{recs: recs}) {
				return nil
			}
			s.pending.Store(true)
			continue
		}
		s.act.quiet(r.id)
		if s.pending.Swap(false) && !s.send(ctx, batch{recs: []change.Record{{Flush: true}}}) {
			return nil
		}
		err = s.sleep(ctx, s.opts.PollInterval)
	}
}

// finish yields the shard's last records and its closed mark.
func (s *Source) finish(ctx context.Context, r *shardRun, recs []change.Record) error {
	r.off++
	recs = append(recs, change.Record{Next: change.Position{Source: r.src, Offset: r.off, Token: closedPrefix + r.seq}})
	if s.send(ctx, batch{recs: recs}) {
		s.pending.Store(true)
	}
	return nil
}

func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// iterator returns an iterator after the shard's position (or at its
// oldest record); "" when the shard is closed and has nothing after it.
func (s *Source) iterator(ctx context.Context, r *shardRun) (string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(s.arn), ShardId: aws.String(r.id),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
	if r.seq != "" {
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(r.seq)
	}
	out, err := callRetry(ctx, s, "GetShardIterator", func() (*dynamodbstreams.GetShardIteratorOutput, error) {
		return s.api.GetShardIterator(ctx, in)
	})
	if err != nil {
		return "", s.readError(r, "positioning in", err)
	}
	return aws.ToString(out.ShardIterator), nil
}

// readError says what failed; trimmed records become ErrTrimmed.
func (s *Source) readError(r *shardRun, doing string, err error) error {
	from := "its oldest record (TRIM_HORIZON)"
	if r.seq != "" {
		from = "sequence number " + r.seq
	}
	var trimmed *types.TrimmedDataAccessException
	if errors.As(err, &trimmed) || apiCode(err) == "TrimmedDataAccessException" {
		return fmt.Errorf("following table %s: shard %s of stream %s after %s: the records after the stored position are past "+
			"the stream's 24-hour retention: %w (tidemark snapshot from a new export, then follow with the stream reset): %v",
			s.opts.Table, r.id, s.arn, from, ErrTrimmed, err)
	}
	return fmt.Errorf("%s shard %s of stream %s of table %s after %s: %w", doing, r.id, s.arn, s.opts.Table, from, err)
}

// maxServerErrors bounds the retries of server errors; throttling is
// retried for as long as it lasts.
const maxServerErrors = 10

// callRetry calls f, retrying throttling (LimitExceededException and the
// like) and server errors with jittered exponential backoff.
func callRetry[T any](ctx context.Context, s *Source, op string, f func() (T, error)) (T, error) {
	backoff := 100 * time.Millisecond
	serverErrors := 0
	for {
		out, err := f()
		if err == nil || ctx.Err() != nil {
			return out, err
		}
		throttled, server := classify(err)
		if server {
			serverErrors++
		}
		if !throttled && (!server || serverErrors >= maxServerErrors) {
			return out, err
		}
		s.log.Warn("ddbstream: retrying", "table", s.opts.Table, "op", op, "err", err, "backoff", backoff)
		if err := s.sleep(ctx, backoff/2+time.Duration(rand.Int64N(int64(backoff)))); err != nil {
			return out, err
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// classify tells throttling and server errors apart from the rest.
func classify(err error) (throttled, server bool) {
	switch apiCode(err) {
	case "LimitExceededException", "ProvisionedThroughputExceededException", "ThrottlingException",
		"RequestLimitExceeded", "TooManyRequestsException":
		return true, false
	case "InternalServerError", "InternalFailure", "ServiceUnavailable":
		return false, true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return false, true
	}
	return false, false
}
