package ddbstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

func n(v string) types.AttributeValue   { return &types.AttributeValueMemberN{Value: v} }
func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// drain reads s to io.EOF, committing every record to p, and returns the
// records that are not bare flushes, and how many flushes there were.
func drain(t testing.TB, s *Source, p *positions) (recs []change.Record, flushes int) {
	t.Helper()
	for {
		r, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return recs, flushes
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(recs), err)
		}
		p.commit(r)
		if isFlush(r) {
			flushes++
			continue
		}
		recs = append(recs, r)
	}
}

// describe renders a record for comparisons: "op key v=version @shard:offset"
// for changes, "meta", "closed @shard:offset" or "dead @shard:offset".
func describeRec(r change.Record) string {
	at := fmt.Sprintf("@%s:%d", r.Next.Source[strings.LastIndexByte(r.Next.Source, '/')+1:], r.Next.Offset)
	switch {
	case r.Change != nil:
		c := r.Change
		s := fmt.Sprintf("%s %s", c.Op, c.Key)
		if c.Version != "" {
			s += " v" + c.Version
		}
		return s + " " + at
	case r.Dead != nil:
		return "dead " + at
	case strings.HasPrefix(r.Next.Token, closedPrefix):
		return "closed " + at
	case !strings.Contains(r.Next.Source, "/"):
		return fmt.Sprintf("meta:%d", r.Next.Offset)
	}
	return "other " + at
}

func describeAll(recs []change.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = describeRec(r)
	}
	return out
}

func sameList(t testing.TB, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestConvertsRecords(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	f.put("shard-1", types.OperationTypeInsert, "a", map[string]types.AttributeValue{"versionNumber": n("1"), "name": str("x"),
		"tags": &types.AttributeValueMemberSS{Value: []string{"p", "q"}},
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{n("0.10"), &types.AttributeValueMemberNULL{Value: true}}}}}})
	f.put("shard-1", types.OperationTypeModify, "a", map[string]types.AttributeValue{"versionNumber": n("2"), "name": str("y")})
	f.put("shard-1", types.OperationTypeRemove, "a", nil)
	p := newPositions()
	recs, _ := drain(t, openFake(t, f, fakeOptions("tab"), p), p)
	sameList(t, describeAll(recs), []string{"meta:1", "upsert a v1 @shard-1:1", "upsert a v2 @shard-1:2", "delete a @shard-1:3"})

	c := recs[1].Change
	want := ddbjson.Map{"id": ddbjson.S("a"), "versionNumber": ddbjson.N("1"), "name": ddbjson.S("x"), "tags": ddbjson.SS("p", "q"),
		"m": ddbjson.M(ddbjson.Map{"l": ddbjson.L(ddbjson.N("0.10"), ddbjson.Null())})}
	if !ddbjson.EqualMaps(c.Image, want) {
		t.Errorf("image %v, want %v", c.Image, want)
	}
	if c.Entity != "tenure" || c.Origin != change.OriginStream || c.EventType != "INSERT" || c.EventID != "ev-1" ||
		c.SourceSystem != SourceSystem || !c.EventTime.Equal(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)) || c.Pos != recs[1].Next {
		t.Errorf("change fields: %+v", c)
	}
	if recs[1].Next.Token != fmt.Sprintf("%021d", 100) || recs[3].Change.EventType != "REMOVE" || recs[2].Change.EventType != "MODIFY" {
		t.Errorf("positions/types: %+v %+v", recs[1].Next, recs[3].Change)
	}
	if recs[3].Change.Image != nil || recs[3].Change.Version != "" {
		t.Errorf("delete carries image %v version %q", recs[3].Change.Image, recs[3].Change.Version)
	}
	if !strings.Contains(recs[0].Next.Token, f.arn) {
		t.Errorf("meta token %q does not name the stream", recs[0].Next.Token)
	}
}

// TestSplitShardLineage: a parent shard splits into two children (AWS
// closes a shard about every 4 hours and may split it): every record of the
// parent, and its closed mark, comes before any record of a child, even
// when the children are listed first and already hold records.
func TestSplitShardLineage(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-c1", "shard-p") // listed before the parent
	f.addShard("shard-p", "")
	f.addShard("shard-c2", "shard-p")
	for i := range 5 {
		f.put("shard-p", types.OperationTypeInsert, fmt.Sprintf("k%d", i), map[string]types.AttributeValue{"versionNumber": n("1")})
	}
	f.put("shard-c1", types.OperationTypeModify, "k1", map[string]types.AttributeValue{"versionNumber": n("2")})
	f.put("shard-c2", types.OperationTypeModify, "k2", map[string]types.AttributeValue{"versionNumber": n("2")})
	f.put("shard-c1", types.OperationTypeRemove, "k1", nil)
	p := newPositions()
	s := openFake(t, f, fakeOptions("tab"), p)

	// The parent is still open: nothing of the children may come.
	var got []string
	for len(got) < 6 {
		r, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.commit(r)
		if !isFlush(r) {
			got = append(got, describeRec(r))
		}
	}
	sameList(t, got, []string{"meta:1", "upsert k0 v1 @shard-p:1", "upsert k1 v1 @shard-p:2", "upsert k2 v1 @shard-p:3",
		"upsert k3 v1 @shard-p:4", "upsert k4 v1 @shard-p:5"})
	f.put("shard-p", types.OperationTypeModify, "k1", map[string]types.AttributeValue{"versionNumber": n("1.5")})
	f.closeShard("shard-p")
	f.closeShard("shard-c2")
	recs, _ := drain(t, s, p)
	got = describeAll(recs)
	want := []string{"upsert k1 v1.5 @shard-p:6", "closed @shard-p:7"}
	sameList(t, got[:2], want)
	// The children interleave in any order, each in its own order.
	var c1, c2 []string
	for _, g := range got[2:] {
		if strings.Contains(g, "shard-c1") {
			c1 = append(c1, g)
		} else {
			c2 = append(c2, g)
		}
	}
	sameList(t, c1, []string{"upsert k1 v2 @shard-c1:1", "delete k1 @shard-c1:2"})
	sameList(t, c2, []string{"upsert k2 v2 @shard-c2:1", "closed @shard-c2:2"})
	if pos := p.get("ddbstream:tab/shard-p"); pos.Token != closedPrefix+fmt.Sprintf("%021d", 900) {
		t.Errorf("parent's final position %+v, want closed after its last sequence number", pos)
	}

	// Reopened: the finished shards are not read again; c1 resumes.
	f.put("shard-c1", types.OperationTypeInsert, "k9", map[string]types.AttributeValue{"versionNumber": n("1")})
	f.with(func() { f.iteratorsFor = nil })
	recs, _ = drain(t, openFake(t, f, fakeOptions("tab"), p), p)
	sameList(t, describeAll(recs), []string{"upsert k9 v1 @shard-c1:3"})
	var its []string
	f.with(func() { its = f.iteratorsFor })
	for _, it := range its {
		if !strings.HasPrefix(it, "shard-c1 AFTER_SEQUENCE_NUMBER") {
			t.Errorf("reopened source asked for iterator %q", it)
		}
	}
}

// TestChildWaitsForRediscovery: the children of a shard appear only once it
// closes; the source lists the shards again at once (DiscoverInterval is an
// hour here) and follows them.
func TestChildWaitsForRediscovery(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-p", "")
	f.put("shard-p", types.OperationTypeInsert, "a", map[string]types.AttributeValue{})
	opts := fakeOptions("tab")
	opts.IdleTimeout = time.Second
	p := newPositions()
	s := openFake(t, f, opts, p)
	for _, want := range []string{"meta:1", "upsert a @shard-p:1"} {
		r, err := s.Next(context.Background())
		for err == nil && isFlush(r) {
			r, err = s.Next(context.Background())
		}
		if err != nil || describeRec(r) != want {
			t.Fatalf("got %s, %v; want %s", describeRec(r), err, want)
		}
	}
	f.addShard("shard-c", "shard-p")
	f.put("shard-c", types.OperationTypeModify, "a", map[string]types.AttributeValue{"x": n("1")})
	f.closeShard("shard-p")
	recs, _ := drain(t, s, p)
	sameList(t, describeAll(recs), []string{"closed @shard-p:2", "upsert a @shard-c:1"})
}

func TestResumeAfterStop(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	for i := range 10 {
		f.put("shard-1", types.OperationTypeInsert, fmt.Sprintf("k%d", i), map[string]types.AttributeValue{})
	}
	p := newPositions()
	s := openFake(t, f, fakeOptions("tab"), p)
	var first []string
	for len(first) < 5 {
		r, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !isFlush(r) {
			first = append(first, describeRec(r))
			p.commit(r)
		}
	}
	// Two more read but never committed: an abrupt stop.
	_, _ = s.Next(context.Background())
	_, _ = s.Next(context.Background())
	_ = s.Close()
	recs, _ := drain(t, openFake(t, f, fakeOptions("tab"), p), p)
	got := append(first, describeAll(recs)...)
	want := []string{"meta:1"}
	for i := range 10 {
		want = append(want, fmt.Sprintf("upsert k%d @shard-1:%d", i, i+1))
	}
	sameList(t, got, want)
}

func TestTrimmedPositionRefused(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	for i := range 6 {
		f.put("shard-1", types.OperationTypeInsert, fmt.Sprintf("k%d", i), map[string]types.AttributeValue{})
	}
	p := newPositions()
	s := openFake(t, f, fakeOptions("tab"), p)
	for range 3 { // meta, k0, k1
		r, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.commit(r)
	}
	_ = s.Close()
	f.with(func() { f.shard("shard-1").trimmed = 4 }) // a day later: k0..k3 are gone, k2 and k3 unread
	s = openFake(t, f, fakeOptions("tab"), p)
	_, err := s.Next(context.Background())
	if !errors.Is(err, ErrTrimmed) {
		t.Fatalf("Next = %v, want ErrTrimmed", err)
	}
	for _, want := range []string{"events were lost", "re-bootstrap", "shard-1", "sequence number " + fmt.Sprintf("%021d", 200)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err2 := s.Next(context.Background()); !errors.Is(err2, ErrTrimmed) {
		t.Errorf("second Next = %v, want the same error", err2)
	}
}

// TestGoneParentRefused: a shard the copy was following, or never read,
// has left the stream (more than 24 hours later): its records are lost.
func TestGoneParentRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parent *change.Position // stored position of the gone parent
		ok     bool
	}{
		{"never read", nil, false},
		{"half read", &change.Position{Offset: 3, Token: fmt.Sprintf("%021d", 100)}, false},
		{"finished", &change.Position{Offset: 4, Token: closedPrefix + fmt.Sprintf("%021d", 100)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("tab")
			f.addShard("shard-root", "")
			f.addShard("shard-p", "shard-root")
			f.addShard("shard-c", "shard-p")
			f.put("shard-c", types.OperationTypeInsert, "a", map[string]types.AttributeValue{})
			f.closeShard("shard-root")
			p := newPositions()
			p.m[MetaSourceID("tab")] = change.Position{Offset: 1, Token: meta{Stream: f.arn, Roots: []string{"shard-root"}}.token()}
			p.m["ddbstream:tab/shard-root"] = change.Position{Offset: 1, Token: "closed:"}
			if tc.parent != nil {
				p.m["ddbstream:tab/shard-p"] = *tc.parent
			}
			f.shard("shard-p").gone = true
			f.shard("shard-root").gone = true
			s := openFake(t, f, fakeOptions("tab"), p)
			recs, err := readAll(s)
			if tc.ok {
				if err != nil || len(recs) != 1 || describeRec(recs[0]) != "upsert a @shard-c:1" {
					t.Fatalf("read %v, %v; want the child's record", describeAll(recs), err)
				}
				return
			}
			if !errors.Is(err, ErrTrimmed) || !strings.Contains(err.Error(), "shard-p") || !strings.Contains(err.Error(), "events were lost") {
				t.Fatalf("read %v, %v; want ErrTrimmed naming shard-p", describeAll(recs), err)
			}
		})
	}
}

// TestFirstReadStartsAtOldestShards: on a first read, shards whose parents
// have left the stream are where reading starts; they are remembered, so a
// restart before any of their records is committed is not taken for a loss.
func TestFirstReadStartsAtOldestShards(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-p", "")
	f.addShard("shard-c", "shard-p")
	f.shard("shard-p").gone = true
	p := newPositions()
	s := openFake(t, f, fakeOptions("tab"), p)
	recs, _ := drain(t, s, p)
	sameList(t, describeAll(recs), []string{"meta:1"})
	f.put("shard-c", types.OperationTypeInsert, "a", map[string]types.AttributeValue{})
	recs, _ = drain(t, openFake(t, f, fakeOptions("tab"), p), p)
	sameList(t, describeAll(recs), []string{"upsert a @shard-c:1"})
}

// readAll reads to io.EOF or the first error, without committing.
func readAll(s *Source) ([]change.Record, error) {
	var recs []change.Record
	for {
		r, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		if !isFlush(r) {
			recs = append(recs, r)
		}
	}
}

func TestStreamChangedRefused(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	p := newPositions()
	p.m[MetaSourceID("tab")] = change.Position{Offset: 1, Token: meta{Stream: f.arn}.token()}
	old := f.arn
	f.arn = strings.Replace(f.arn, "2026-01-01", "2026-02-02", 1)
	_, err := New(context.Background(), fakeOptions("tab"), f, p.fn)
	if !errors.Is(err, ErrStreamChanged) || !strings.Contains(err.Error(), old) || !strings.Contains(err.Error(), f.arn) ||
		!strings.Contains(err.Error(), "events were lost") {
		t.Fatalf("New = %v, want ErrStreamChanged naming both streams", err)
	}

	// After a re-bootstrap, Reset follows the new stream from its start,
	// and the stream position's offset keeps growing.
	f.put("shard-1", types.OperationTypeInsert, "a", map[string]types.AttributeValue{})
	opts := fakeOptions("tab")
	opts.Reset = true
	recs, _ := drain(t, openFake(t, f, opts, p), p)
	sameList(t, describeAll(recs), []string{"meta:2", "upsert a @shard-1:1"})
	recs, _ = drain(t, openFake(t, f, fakeOptions("tab"), p), p)
	sameList(t, describeAll(recs), nil)
}

func TestViewTypeRefused(t *testing.T) {
	for _, view := range []types.StreamViewType{types.StreamViewTypeKeysOnly, types.StreamViewTypeOldImage} {
		f := newFake("tab")
		f.view = view
		f.addShard("shard-1", "")
		_, err := New(context.Background(), fakeOptions("tab"), f, newPositions().fn)
		if !errors.Is(err, ErrViewType) || !strings.Contains(err.Error(), string(view)) || !strings.Contains(err.Error(), "NEW_AND_OLD_IMAGES") {
			t.Errorf("view %s: New = %v, want ErrViewType naming the view and the fix", view, err)
		}
	}
	// A record without NewImage on a stream that says it has one.
	f := newFake("tab")
	f.addShard("shard-1", "")
	f.put("shard-1", types.OperationTypeInsert, "a", nil)
	_, err := readAll(openFake(t, f, fakeOptions("tab"), newPositions()))
	if !errors.Is(err, ErrViewType) || !strings.Contains(err.Error(), "NewImage") {
		t.Errorf("record without NewImage: %v, want ErrViewType", err)
	}
}

func TestNoStreamRefused(t *testing.T) {
	f := newFake("tab")
	f.enabled = false
	f.addShard("shard-1", "")
	_, err := New(context.Background(), fakeOptions("tab"), f, newPositions().fn)
	if !errors.Is(err, ErrNoStream) || !strings.Contains(err.Error(), "StreamViewType=NEW_AND_OLD_IMAGES") {
		t.Errorf("New = %v, want ErrNoStream with the fix", err)
	}
}

func TestKeySchemaChecked(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	opts := fakeOptions("tab")
	opts.HashAttr = "targetId"
	if _, err := New(context.Background(), opts, f, newPositions().fn); err == nil || !strings.Contains(err.Error(), `hash "id"`) {
		t.Errorf("New with the wrong hash key = %v", err)
	}
}

// TestStreamDisabled: a disabled stream is read to its end, then the
// source stops with ErrStreamChanged (later writes are in no stream).
func TestStreamDisabled(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	f.put("shard-1", types.OperationTypeInsert, "a", map[string]types.AttributeValue{})
	p := newPositions()
	s := openFake(t, f, fakeOptions("tab"), p)
	f.closeShard("shard-1")
	f.with(func() { f.status = types.StreamStatusDisabled })
	recs, err := readAll(s)
	if !errors.Is(err, ErrStreamChanged) || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("read %v, %v; want ErrStreamChanged", describeAll(recs), err)
	}
	sameList(t, describeAll(recs), []string{"meta:1", "upsert a @shard-1:1", "closed @shard-1:2"})
}

func TestThrottlingAndExpiredIterators(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	for i := range 7 {
		f.put("shard-1", types.OperationTypeInsert, fmt.Sprintf("k%d", i), map[string]types.AttributeValue{})
	}
	f.with(func() { f.throttle = 3 })
	p := newPositions()
	s := openFake(t, f, fakeOptions("tab"), p)
	var slept []time.Duration
	var mu sync.Mutex
	s.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return sleepCtx(ctx, time.Millisecond)
	}
	var got []string
	for len(got) < 3 { // meta, k0, k1
		r, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.commit(r)
		got = append(got, describeRec(r))
	}
	f.with(func() { f.expire = 1 })
	recs, _ := drain(t, s, p)
	_ = s.Close()
	got = append(got, describeAll(recs)...)
	if len(got) != 8 || got[7] != "upsert k6 @shard-1:7" || got[3] != "upsert k2 @shard-1:3" {
		t.Errorf("read %v", got)
	}
	if len(slept) < 3 || slept[0] < 50*time.Millisecond || slept[2] < slept[0] {
		t.Errorf("backoff sleeps %v, want 3 growing ones", slept)
	}
	n := 0
	var its []string
	f.with(func() { its = f.iteratorsFor })
	for _, it := range its {
		if strings.Contains(it, "AFTER_SEQUENCE_NUMBER") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("iterators %v: want one renewed after the expired one", f.iteratorsFor)
	}
}

func TestFlushWhenQuiet(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	f.put("shard-1", types.OperationTypeInsert, "a", map[string]types.AttributeValue{})
	p := newPositions()
	recs, flushes := drain(t, openFake(t, f, fakeOptions("tab"), p), p)
	if len(recs) != 2 || flushes != 1 {
		t.Errorf("%d records and %d flushes; want 2 and one flush after the quiet poll", len(recs), flushes)
	}
}

func TestBadKeyIsDeadLetter(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	f.put("shard-1", types.OperationTypeInsert, "", map[string]types.AttributeValue{})
	f.put("shard-1", types.OperationTypeInsert, "b", map[string]types.AttributeValue{})
	opts := fakeOptions("tab")
	p := newPositions()
	recs, _ := drain(t, openFake(t, f, opts, p), p)
	sameList(t, describeAll(recs), []string{"meta:1", "dead @shard-1:1", "upsert b @shard-1:2"})
	d := recs[1].Dead
	if d.Pos.Offset != 0 || d.ID != "ev-1" || !strings.Contains(d.Reason, "key") || len(d.Raw) == 0 {
		t.Errorf("dead letter %+v", d)
	}
	opts.HashType = ddbjson.KindN
	recs, _ = drain(t, openFake(t, f, opts, newPositions()), newPositions())
	if len(recs) != 3 || recs[2].Dead == nil || !strings.Contains(recs[2].Dead.Reason, "want N") {
		t.Errorf("key of the wrong type: %v", describeAll(recs))
	}
}

func TestIdleTimeoutAndClose(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-1", "")
	opts := fakeOptions("tab")
	opts.IdleTimeout = 50 * time.Millisecond
	s := openFake(t, f, opts, newPositions())
	start := time.Now()
	if _, err := readAll(s); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 5*time.Second {
		t.Errorf("io.EOF after %v, want about the idle timeout", d)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, change.ErrClosed) {
		t.Errorf("Next after Close = %v", err)
	}
}
