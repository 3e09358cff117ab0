// Package scan reads a DynamoDB table with a parallel Scan held to a
// read-capacity budget, resumably: each segment's LastEvaluatedKey is the
// position committed with the rows of its page, so a restart continues every
// unfinished segment from its last committed page.
//
// A scan is not a point-in-time snapshot: each row's as-of time is the
// moment its page was read. The apply rules make the result converge
// anyway: an event before a row's as-of time (less the clock skew) is
// reflected in that row and skipped, a later one applies, and the entity's
// snapshot time is the scan's start, so events before the scan began are
// reflected everywhere.
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// API is what scanning needs of a DynamoDB client; *dynamodb.Client has it.
type API interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Options configure a scan.
type Options struct {
	Table, Entity                    string
	HashAttr, RangeAttr, VersionAttr string
	// Segments is TotalSegments (0: from the table's size, one per 1 GiB,
	// at least 4). A resumed scan must use the count it started with: the
	// caller keeps it (Stats().Segments) with its positions.
	Segments int
	// Consistent asks for strongly consistent reads (twice the capacity).
	Consistent bool
	// BudgetRCU is the read capacity per second to stay within; with
	// BudgetFraction instead, that fraction of the provisioned capacity.
	BudgetRCU      float64
	BudgetFraction float64
	// Limit is the first page size; it then adapts to the budget.
	Limit int32
}

// PositionFunc returns a source id's committed offset and token.
type PositionFunc func(source string) (offset int64, token []byte, ok bool, err error)

// Stats are the scan's figures so far.
type Stats struct {
	Items, Pages, Throttles int64
	Consumed                float64 // RCU
	SegmentsDone, Segments  int
	Budget                  float64 // RCU/s
}

// ErrNoBudget is returned for an on-demand table without an absolute budget.
var ErrNoBudget = errors.New("the table is on-demand (no provisioned read capacity): set an absolute budget_rcu")

// Source yields one snapshot change per item.
type Source struct {
	api       API
	opts      Options
	pos       PositionFunc
	now       func() time.Time
	itemCount int64

	once   sync.Once
	cancel context.CancelFunc
	out    chan []change.Record
	errc   chan error
	cur    []change.Record
	err    error
	wg     sync.WaitGroup
	budget *budget

	items, pages, throttles atomic.Int64
	consumedMilli           atomic.Int64
	segDone                 atomic.Int64
}

var _ change.Source = (*Source)(nil)

// New plans a scan: it reads the table's description for the segment count
// and, with a fractional budget, its provisioned capacity.
func New(ctx context.Context, api API, opts Options, pos PositionFunc) (*Source, error) {
	s := &Source{api: api, opts: opts, pos: pos, now: time.Now}
	out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(opts.Table)})
	if err != nil {
		return nil, fmt.Errorf("describing table %s: %w", opts.Table, err)
	}
	t := out.Table
	s.itemCount = aws.ToInt64(t.ItemCount)
	if s.opts.Segments <= 0 {
		s.opts.Segments = max(4, int(aws.ToInt64(t.TableSizeBytes)>>30))
	}
	rate := opts.BudgetRCU
	if rate <= 0 {
		var provisioned int64
		if t.ProvisionedThroughput != nil {
			provisioned = aws.ToInt64(t.ProvisionedThroughput.ReadCapacityUnits)
		}
		if provisioned <= 0 || opts.BudgetFraction <= 0 {
			return nil, fmt.Errorf("scanning %s: %w (or budget_fraction of a provisioned table)", opts.Table, ErrNoBudget)
		}
		rate = opts.BudgetFraction * float64(provisioned)
	}
	if s.opts.Limit <= 0 {
		s.opts.Limit = 100
	}
	s.budget = newBudget(rate, time.Now)
	return s, nil
}

// ItemCount is the table's item count as DescribeTable gave it (DynamoDB
// refreshes it about every six hours).
func (s *Source) ItemCount() int64 { return s.itemCount }

// SourceID is the position id of a segment.
func (s *Source) SourceID(segment int) string {
	return fmt.Sprintf("scan:%s/%s/%d/%d", s.opts.Entity, s.opts.Table, segment, s.opts.Segments)
}

// Stats returns the figures so far.
func (s *Source) Stats() Stats {
	return Stats{Items: s.items.Load(), Pages: s.pages.Load(), Throttles: s.throttles.Load(),
		Consumed: float64(s.consumedMilli.Load()) / 1000, SegmentsDone: int(s.segDone.Load()),
		Segments: s.opts.Segments, Budget: s.budget.target}
}

// Next returns the next row.
func (s *Source) Next(ctx context.Context) (change.Record, error) {
	if err := ctx.Err(); err != nil {
		return change.Record{}, err
	}
	s.once.Do(s.start)
	for len(s.cur) == 0 {
		if s.err != nil {
			return change.Record{}, s.err
		}
		select {
		case recs, ok := <-s.out:
			if !ok {
				s.err = io.EOF
				select {
				case err := <-s.errc:
					s.err = err
				default:
				}
				continue
			}
			s.cur = recs
		case <-ctx.Done():
			return change.Record{}, ctx.Err()
		}
	}
	r := s.cur[0]
	s.cur = s.cur[1:]
	return r, nil
}

// Close stops the segment readers.
func (s *Source) Close() error {
	s.once.Do(func() { s.out = make(chan []change.Record); close(s.out); s.cancel = func() {} })
	s.cancel()
	for range s.out {
	}
	s.wg.Wait()
	return nil
}

func (s *Source) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.out = make(chan []change.Record, s.opts.Segments)
	s.errc = make(chan error, s.opts.Segments)
	for seg := 0; seg < s.opts.Segments; seg++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.segment(ctx, seg); err != nil && ctx.Err() == nil {
				s.errc <- err
				cancel()
			}
		}()
	}
	go func() { s.wg.Wait(); close(s.out) }()
}

// segment reads one segment from its committed position to its end.
func (s *Source) segment(ctx context.Context, seg int) error {
	id := s.SourceID(seg)
	page, token, _, err := s.pos(id)
	if err != nil {
		return fmt.Errorf("reading position of %s: %w", id, err)
	}
	if page < 0 {
		s.segDone.Add(1)
		return nil // finished before
	}
	var start map[string]types.AttributeValue
	if len(token) > 0 {
		m, err := ddbjson.DecodeMap(token)
		if err != nil {
			return fmt.Errorf("position of %s: %w", id, err)
		}
		start = toSDK(m)
	}
	limit := s.opts.Limit
	expected := 1.0
	for {
		if err := s.budget.take(ctx, expected); err != nil {
			return err
		}
		out, err := s.scanPage(ctx, seg, start, limit)
		if err != nil {
			s.budget.settle(expected, 0)
			return err
		}
		read := s.now().UTC()
		consumed := 0.0
		if out.ConsumedCapacity != nil {
			consumed = aws.ToFloat64(out.ConsumedCapacity.CapacityUnits)
		}
		s.budget.settle(expected, consumed)
		s.consumedMilli.Add(int64(consumed * 1000))
		s.pages.Add(1)
		s.items.Add(int64(len(out.Items)))
		page++
		next := change.Position{Source: id, Offset: page}
		if len(out.LastEvaluatedKey) == 0 {
			next.Offset = -1 // the segment is done
		} else {
			m, err := fromSDK(out.LastEvaluatedKey)
			if err != nil {
				return fmt.Errorf("%s: LastEvaluatedKey: %w", id, err)
			}
			next.Token = string(ddbjson.AppendMap(nil, m))
		}
		recs, err := s.records(out.Items, read, id, page-1, start, next)
		if err != nil {
			return err
		}
		select {
		case s.out <- recs:
		case <-ctx.Done():
			return ctx.Err()
		}
		if next.Offset < 0 {
			s.segDone.Add(1)
			return nil
		}
		start = out.LastEvaluatedKey
		expected, limit = s.adapt(consumed, len(out.Items), limit)
	}
}

// adapt sizes the next page so that one page costs about a tenth of a
// second of the budget shared by the segments.
func (s *Source) adapt(consumed float64, items int, limit int32) (float64, int32) {
	if items == 0 || consumed <= 0 {
		return max(consumed, 1), limit
	}
	perItem := consumed / float64(items)
	target := s.budget.target / float64(s.opts.Segments) / 10
	n := int32(math.Max(1, math.Min(1000, target/perItem)))
	return perItem * float64(n), n
}

// scanPage reads one page, retrying throttling and server errors with
// jittered backoff; each throttle lowers the budget for a while.
func (s *Source) scanPage(ctx context.Context, seg int, start map[string]types.AttributeValue, limit int32) (*dynamodb.ScanOutput, error) {
	in := &dynamodb.ScanInput{
		TableName: aws.String(s.opts.Table), Segment: aws.Int32(int32(seg)), TotalSegments: aws.Int32(int32(s.opts.Segments)),
		Limit: aws.Int32(limit), ExclusiveStartKey: start, ConsistentRead: aws.Bool(s.opts.Consistent),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		out, err := s.api.Scan(ctx, in)
		if err == nil {
			s.budget.recovered()
			return out, nil
		}
		if !retryable(err) || attempt >= 10 || ctx.Err() != nil {
			return nil, fmt.Errorf("scanning %s segment %d: %w", s.opts.Table, seg, err)
		}
		s.throttles.Add(1)
		s.budget.throttled()
		sleep := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func retryable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable":
			return true
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	return false
}

// records turns a page into changes. Every row but the last carries the
// position before the page (a crash mid-page reads the page again, which
// changes nothing); the last carries the position after it.
func (s *Source) records(items []map[string]types.AttributeValue, read time.Time, id string, page int64,
	start map[string]types.AttributeValue, next change.Position) ([]change.Record, error) {
	before := change.Position{Source: id, Offset: page}
	if len(start) > 0 {
		m, _ := fromSDK(start)
		before.Token = string(ddbjson.AppendMap(nil, m))
	}
	recs := make([]change.Record, 0, max(len(items), 1))
	for i, it := range items {
		img, err := fromSDK(it)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		c := &change.Change{Entity: s.opts.Entity, Op: change.OpUpsert, Image: img, AsOf: read, EventTime: read,
			Origin: change.OriginSnapshot, SourceSystem: "scan"}
		c.Key.Hash = img[s.opts.HashAttr]
		if s.opts.RangeAttr != "" {
			c.Key.Range = img[s.opts.RangeAttr]
		}
		pos := before
		if i == len(items)-1 {
			pos = next
		}
		if err := c.Key.Validate(); err != nil {
			recs = append(recs, change.Record{Next: pos, Dead: &change.DeadLetter{Pos: before,
				Raw: ddbjson.AppendMap(nil, img), Reason: fmt.Sprintf("%s: item key (%s): %v", id, s.opts.HashAttr, err),
				ID: fmt.Sprintf("%s/%d/%s/%d", id, page, before.Token, i)}})
			continue
		}
		if v, ok := img[s.opts.VersionAttr]; ok && s.opts.VersionAttr != "" && v.Kind == ddbjson.KindN {
			c.Version = v.Str
		}
		c.Pos = pos
		recs = append(recs, change.Record{Change: c, Next: pos})
	}
	if len(items) == 0 {
		recs = append(recs, change.Record{Next: next})
	}
	return recs, nil
}
