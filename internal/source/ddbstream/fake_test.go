package ddbstream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tidemark-dev/tidemark/internal/change"
)

// fakeAPI is an in-memory DynamoDB stream answering as the Streams API
// reference documents, for what DynamoDB Local cannot show: split shards,
// trimmed records, throttling and expired iterators.
type fakeAPI struct {
	mu       sync.Mutex
	table    string
	arn      string
	view     types.StreamViewType
	status   types.StreamStatus
	enabled  bool
	shards   []*fakeShard
	seq      int
	pageSize int // shards per DescribeStream page
	recsPer  int // records per GetRecords

	throttle     int // GetRecords calls still to fail with LimitExceededException
	expire       int // GetRecords calls still to fail with ExpiredIteratorException
	getRecords   int
	describes    int
	iteratorsFor []string // "shard type seq" of each GetShardIterator
}

type fakeShard struct {
	id, parent string
	recs       []types.Record
	trimmed    int // records [0, trimmed) are past retention
	closed     bool
	gone       bool // no longer listed
}

func newFake(table string) *fakeAPI {
	return &fakeAPI{table: table, arn: "arn:aws:dynamodb:eu-west-2:111122223333:table/" + table + "/stream/2026-01-01T00:00:00.000",
		view: types.StreamViewTypeNewAndOldImages, status: types.StreamStatusEnabled, enabled: true, pageSize: 2, recsPer: 3}
}

func (f *fakeAPI) addShard(id, parent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shards = append(f.shards, &fakeShard{id: id, parent: parent})
}

func (f *fakeAPI) shard(id string) *fakeShard {
	for _, s := range f.shards {
		if s.id == id {
			return s
		}
	}
	return nil
}

// put appends a record to a shard: INSERT/MODIFY with image, REMOVE
// without.
func (f *fakeAPI) put(shard string, op types.OperationType, key string, attrs map[string]types.AttributeValue) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	seq := fmt.Sprintf("%021d", f.seq*100)
	keys := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}}
	d := &types.StreamRecord{Keys: keys, SequenceNumber: aws.String(seq), StreamViewType: f.view,
		ApproximateCreationDateTime: aws.Time(time.Date(2026, 1, 1, 0, 0, f.seq, 0, time.UTC))}
	if op != types.OperationTypeRemove && attrs != nil {
		img := map[string]types.AttributeValue{"id": keys["id"]}
		for k, v := range attrs {
			img[k] = v
		}
		d.NewImage = img
	}
	sh := f.shard(shard)
	sh.recs = append(sh.recs, types.Record{EventID: aws.String(fmt.Sprintf("ev-%d", f.seq)), EventName: op, Dynamodb: d})
	return seq
}

// with runs fn under the fake's lock (the source's readers call it
// concurrently).
func (f *fakeAPI) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeAPI) closeShard(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shard(id).closed = true
}

func (f *fakeAPI) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.TableName) != f.table {
		return nil, &dbtypes.ResourceNotFoundException{Message: aws.String("Requested resource not found")}
	}
	return &dynamodb.DescribeTableOutput{Table: &dbtypes.TableDescription{TableName: in.TableName, LatestStreamArn: aws.String(f.arn),
		StreamSpecification: &dbtypes.StreamSpecification{StreamEnabled: aws.Bool(f.enabled), StreamViewType: dbtypes.StreamViewType(f.view)}}}, nil
}

func (f *fakeAPI) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	if aws.ToString(in.StreamArn) != f.arn {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Requested resource not found: Stream not found")}
	}
	var listed []types.Shard
	after := in.ExclusiveStartShardId == nil
	for _, s := range f.shards {
		if !after {
			after = s.id == aws.ToString(in.ExclusiveStartShardId)
			continue
		}
		if s.gone {
			continue
		}
		listed = append(listed, types.Shard{ShardId: aws.String(s.id), ParentShardId: optString(s.parent)})
	}
	d := &types.StreamDescription{StreamArn: in.StreamArn, StreamStatus: f.status, StreamViewType: f.view, TableName: aws.String(f.table),
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}}
	if len(listed) > f.pageSize {
		listed = listed[:f.pageSize]
		d.LastEvaluatedShardId = listed[len(listed)-1].ShardId
	}
	d.Shards = listed
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: d}, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (f *fakeAPI) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.iteratorsFor = append(f.iteratorsFor, fmt.Sprintf("%s %s %s", aws.ToString(in.ShardId), in.ShardIteratorType, aws.ToString(in.SequenceNumber)))
	sh := f.shard(aws.ToString(in.ShardId))
	if sh == nil || sh.gone || aws.ToString(in.StreamArn) != f.arn {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Shard does not exist")}
	}
	i := sh.trimmed
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeTrimHorizon:
	case types.ShardIteratorTypeAfterSequenceNumber:
		seq := aws.ToString(in.SequenceNumber)
		i = -1
		for j, r := range sh.recs {
			if aws.ToString(r.Dynamodb.SequenceNumber) == seq {
				i = j + 1
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("fake: no record with sequence number %s in %s", seq, sh.id)
		}
		if i-1 < sh.trimmed {
			return nil, &types.TrimmedDataAccessException{Message: aws.String("The operation attempted to read past the oldest stream record in a shard.")}
		}
	default:
		return nil, fmt.Errorf("fake: iterator type %s", in.ShardIteratorType)
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(sh.id + "|" + strconv.Itoa(i))}, nil
}

func (f *fakeAPI) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getRecords++
	if f.throttle > 0 {
		f.throttle--
		return nil, &types.LimitExceededException{Message: aws.String("Rate exceeded for shard")}
	}
	if f.expire > 0 {
		f.expire--
		return nil, &types.ExpiredIteratorException{Message: aws.String("Iterator expired")}
	}
	id, idx, _ := strings.Cut(aws.ToString(in.ShardIterator), "|")
	i, _ := strconv.Atoi(idx)
	sh := f.shard(id)
	if sh == nil {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Shard does not exist")}
	}
	if i < sh.trimmed {
		return nil, &types.TrimmedDataAccessException{Message: aws.String("trimmed")}
	}
	end := min(len(sh.recs), i+f.recsPer)
	out := &dynamodbstreams.GetRecordsOutput{Records: append([]types.Record(nil), sh.recs[i:end]...)}
	if !sh.closed || end < len(sh.recs) {
		out.NextShardIterator = aws.String(sh.id + "|" + strconv.Itoa(end))
	}
	return out, nil
}

// positions is a fake state store of offsets and tokens.
type positions struct {
	mu sync.Mutex
	m  map[string]change.Position
}

func newPositions() *positions { return &positions{m: map[string]change.Position{}} }

func (p *positions) fn(source string) (int64, []byte, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos, ok := p.m[source]
	return pos.Offset, []byte(pos.Token), ok, nil
}

func (p *positions) commit(r change.Record) {
	if r.Next.Source != "" {
		p.mu.Lock()
		p.m[r.Next.Source] = r.Next
		p.mu.Unlock()
	}
}

func (p *positions) get(source string) change.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[source]
}

func fakeOptions(table string) Options {
	return Options{Entity: "tenure", Table: table, HashAttr: "id", VersionAttr: "versionNumber",
		PollInterval: time.Millisecond, DiscoverInterval: time.Hour, IdleTimeout: 300 * time.Millisecond}
}

func openFake(t testing.TB, f *fakeAPI, opts Options, p *positions) *Source {
	t.Helper()
	s, err := New(context.Background(), opts, f, p.fn)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
