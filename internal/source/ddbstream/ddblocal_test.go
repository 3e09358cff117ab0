package ddbstream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/testutil/ddblocal"
)

// The tests of this package share one DynamoDB Local server (a JVM start
// costs a second or two); each uses its own table.
func TestMain(m *testing.M) {
	code := m.Run()
	ddblocal.StopShared()
	os.Exit(code)
}

var tableSeq atomic.Int64

// local is a DynamoDB Local table with a stream, and clients for it.
type local struct {
	db    *dynamodb.Client
	api   Clients
	table string
	arn   string
}

func newLocal(t testing.TB, view dbtypes.StreamViewType) *local {
	t.Helper()
	ep := ddblocal.Shared(t)
	l := &local{db: ddblocal.Client(t, ep), table: fmt.Sprintf("TenureInformation%d", tableSeq.Add(1))}
	l.api = Clients{DB: l.db, Streams: ddblocal.StreamsClient(t, ep)}
	l.arn = ddblocal.CreateTable(t, l.db, ddblocal.Table{Name: l.table, HashAttr: "id", StreamView: view})
	return l
}

func (l *local) options() Options {
	return Options{Entity: "tenure", Table: l.table, HashAttr: "id", HashType: ddbjson.KindS, VersionAttr: "versionNumber",
		PollInterval: 20 * time.Millisecond, IdleTimeout: time.Second}
}

func (l *local) open(t testing.TB, opts Options, p *positions) *Source {
	t.Helper()
	s, err := New(context.Background(), opts, l.api, p.fn)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func (l *local) put(t testing.TB, id string, version int, name string) {
	t.Helper()
	_, err := l.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(l.table), Item: map[string]dbtypes.AttributeValue{
		"id": &dbtypes.AttributeValueMemberS{Value: id}, "versionNumber": &dbtypes.AttributeValueMemberN{Value: fmt.Sprint(version)},
		"fullName": &dbtypes.AttributeValueMemberS{Value: name}, "isTenanted": &dbtypes.AttributeValueMemberBOOL{Value: true},
		"charges": &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{"rent": &dbtypes.AttributeValueMemberN{Value: "101.10"}}},
	}})
	if err != nil {
		t.Fatalf("PutItem %s: %v", id, err)
	}
}

func (l *local) update(t testing.TB, id string, version int, name string) {
	t.Helper()
	_, err := l.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(l.table),
		Key:              map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: id}},
		UpdateExpression: aws.String("SET versionNumber = :v, fullName = :n REMOVE isTenanted"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":v": &dbtypes.AttributeValueMemberN{Value: fmt.Sprint(version)},
			":n": &dbtypes.AttributeValueMemberS{Value: name}}})
	if err != nil {
		t.Fatalf("UpdateItem %s: %v", id, err)
	}
}

func (l *local) delete(t testing.TB, id string) {
	t.Helper()
	_, err := l.db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(l.table),
		Key: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: id}}})
	if err != nil {
		t.Fatalf("DeleteItem %s: %v", id, err)
	}
}

// shortShards renames DynamoDB Local's shard ids s1, s2... in order of
// appearance.
func shortShards(recs []change.Record) []string {
	names := map[string]string{}
	out := describeAll(recs)
	for i, r := range recs {
		src := r.Next.Source
		j := strings.LastIndexByte(src, '/')
		if j < 0 {
			continue
		}
		id := src[j+1:]
		if names[id] == "" {
			names[id] = fmt.Sprintf("s%d", len(names)+1)
		}
		out[i] = strings.Replace(out[i], id, names[id], 1)
	}
	return out
}

func TestLocalFollow(t *testing.T) {
	l := newLocal(t, dbtypes.StreamViewTypeNewAndOldImages)
	l.put(t, "a", 1, "Ann")
	l.put(t, "b", 1, "Bob")
	l.update(t, "a", 2, "Ann Smith")
	l.delete(t, "b")
	p := newPositions()
	recs, _ := drain(t, l.open(t, l.options(), p), p)
	sameList(t, shortShards(recs), []string{"meta:1", "upsert a v1 @s1:1", "upsert b v1 @s1:2", "upsert a v2 @s1:3", "delete b @s1:4"})
	if t.Failed() {
		return
	}
	want := ddbjson.Map{"id": ddbjson.S("a"), "versionNumber": ddbjson.N("2"), "fullName": ddbjson.S("Ann Smith"),
		"charges": ddbjson.M(ddbjson.Map{"rent": ddbjson.N("101.10")})}
	if c := recs[3].Change; !ddbjson.EqualMaps(c.Image, want) || c.EventType != "MODIFY" || c.EventID == "" || c.EventTime.IsZero() {
		t.Errorf("modify: %+v, want image %v", c, want)
	}
	types := []string{}
	ids := map[string]bool{}
	for _, r := range recs[1:] {
		types = append(types, r.Change.EventType)
		ids[r.Change.EventID] = true
	}
	if strings.Join(types, " ") != "INSERT INSERT MODIFY REMOVE" || len(ids) != 4 {
		t.Errorf("event types %v, %d distinct ids", types, len(ids))
	}
	if !strings.HasPrefix(recs[0].Next.Token, `{"stream":"`+l.arn) {
		t.Errorf("stream position token %q, want the stream %s", recs[0].Next.Token, l.arn)
	}
}

// TestLocalResume: a follow stopped abruptly (records read but not
// committed) resumes from the committed positions with no loss and no
// duplicate, including writes made while it was stopped.
func TestLocalResume(t *testing.T) {
	l := newLocal(t, dbtypes.StreamViewTypeNewAndOldImages)
	for i := range 20 {
		l.put(t, fmt.Sprintf("k%02d", i), 1, "x")
	}
	p := newPositions()
	s := l.open(t, l.options(), p)
	var got []change.Record
	for len(got) < 9 { // meta + 8
		r, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !isFlush(r) {
			got = append(got, r)
			p.commit(r)
		}
	}
	for range 3 { // read, never committed
		if _, err := s.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	for i := range 5 {
		l.update(t, fmt.Sprintf("k%02d", i), 2, "y")
	}
	rest, _ := drain(t, l.open(t, l.options(), p), p)
	all := shortShards(append(got, rest...))
	want := []string{"meta:1"}
	for i := range 20 {
		want = append(want, fmt.Sprintf("upsert k%02d v1 @s1:%d", i, i+1))
	}
	for i := range 5 {
		want = append(want, fmt.Sprintf("upsert k%02d v2 @s1:%d", i, 21+i))
	}
	sameList(t, all, want)
}

// TestLocalStreamChanged: disabling the stream ends a running follow once
// its records are read; enabling it again makes a new stream, which the
// stored positions refuse until a reset.
func TestLocalStreamChanged(t *testing.T) {
	l := newLocal(t, dbtypes.StreamViewTypeNewAndOldImages)
	l.put(t, "a", 1, "Ann")
	p := newPositions()
	opts := l.options()
	opts.IdleTimeout = 0
	opts.DiscoverInterval = 100 * time.Millisecond
	s := l.open(t, opts, p)
	for range 2 {
		r, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.commit(r)
	}
	l.put(t, "b", 1, "Bob")
	ddblocal.SetStream(t, l.db, l.table, "")
	recs, err := readAllTimeout(t, s, 20*time.Second)
	if !errors.Is(err, ErrStreamChanged) || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("after disabling: read %v, %v; want ErrStreamChanged", shortShards(recs), err)
	}
	sameList(t, shortShards(recs), []string{"upsert b v1 @s1:2", "closed @s1:3"})

	newARN := ddblocal.SetStream(t, l.db, l.table, dbtypes.StreamViewTypeNewAndOldImages)
	l.put(t, "c", 1, "Cy")
	_, err = New(context.Background(), l.options(), l.api, p.fn)
	if !errors.Is(err, ErrStreamChanged) || !strings.Contains(err.Error(), newARN) || !strings.Contains(err.Error(), l.arn) {
		t.Fatalf("New after re-enabling = %v, want ErrStreamChanged naming %s and %s", err, l.arn, newARN)
	}
	opts = l.options()
	opts.Reset = true
	recs, _ = drain(t, l.open(t, opts, p), p)
	sameList(t, shortShards(recs), []string{"meta:2", "upsert c v1 @s1:1"})
}

// readAllTimeout is readAll bounded in time.
func readAllTimeout(t testing.TB, s *Source, d time.Duration) ([]change.Record, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var recs []change.Record
	for {
		r, err := s.Next(ctx)
		if err != nil {
			return recs, err
		}
		if !isFlush(r) {
			recs = append(recs, r)
		}
	}
}

func TestLocalRefusesKeysOnlyAndNoStream(t *testing.T) {
	l := newLocal(t, dbtypes.StreamViewTypeKeysOnly)
	_, err := New(context.Background(), l.options(), l.api, newPositions().fn)
	if !errors.Is(err, ErrViewType) || !strings.Contains(err.Error(), "KEYS_ONLY") || !strings.Contains(err.Error(), "NEW_AND_OLD_IMAGES") {
		t.Errorf("KEYS_ONLY stream: New = %v, want ErrViewType naming the view and the fix", err)
	}
	l = newLocal(t, "")
	_, err = New(context.Background(), l.options(), l.api, newPositions().fn)
	if !errors.Is(err, ErrNoStream) {
		t.Errorf("table without stream: New = %v, want ErrNoStream", err)
	}
}

// TestLocalConformance runs the change.Source suite against DynamoDB
// Local's stream (one open shard). Each request gets its own connection:
// the suite counts goroutines, and idle keep-alive connections hold some.
func TestLocalConformance(t *testing.T) {
	l := newLocal(t, dbtypes.StreamViewTypeNewAndOldImages)
	ep := ddblocal.Shared(t)
	l.api.Streams = dynamodbstreams.NewFromConfig(aws.Config{Region: ddblocal.Region, Credentials: l.db.Options().Credentials},
		func(o *dynamodbstreams.Options) {
			o.BaseEndpoint = aws.String(ep)
			o.HTTPClient = ddblocal.NoKeepAlive()
		})
	l.api.DB = dynamodb.NewFromConfig(aws.Config{Region: ddblocal.Region, Credentials: l.db.Options().Credentials},
		func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(ep)
			o.HTTPClient = ddblocal.NoKeepAlive()
		})
	const items = 12
	for i := range items {
		l.put(t, fmt.Sprintf("k%02d", i), 1, "x")
	}
	for i := range 4 {
		l.update(t, fmt.Sprintf("k%02d", i), 2, "y")
	}
	l.delete(t, "k11")
	opts := l.options()
	opts.IdleTimeout = 500 * time.Millisecond
	changetest.Run(t, conformanceOpener(func(t testing.TB, pos PositionTokenFunc) *Source {
		s, err := New(context.Background(), opts, l.api, pos)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}), 1+items+4+1)
}
