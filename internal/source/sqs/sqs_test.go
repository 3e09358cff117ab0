package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/event"
	"github.com/tidemark-dev/tidemark/internal/source/sqs"
	"github.com/tidemark-dev/tidemark/internal/state"
	"github.com/tidemark-dev/tidemark/internal/testutil/fauxqs"
)

func testMapper(t testing.TB) *event.Mapper {
	t.Helper()
	m, err := event.NewMapper([]config.Entity{
		{Name: "tenure", Table: "TenureInformation", HashKey: config.KeyAttr{Name: "id", From: "entityId", Format: "uuid"},
			Version: "versionNumber", Events: map[string]string{
				"TenureCreatedEvent": "create", "TenureUpdatedEvent": "patch",
			}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func guid(i int) string    { return fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i) }
func eventID(i int) string { return fmt.Sprintf("3f6b2c1d-9e8a-4b7c-a5d4-%012d", i) }

var base = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)

// created is TenureCreatedEvent number i for tenure key, published at
// base + sec seconds, whose image says paymentReference ref.
func created(i, key, sec int, ref string) string {
	return `{"id":"` + eventID(i) + `","eventType":"TenureCreatedEvent","sourceDomain":"Tenure","sourceSystem":"TenureAPI",` +
		`"version":"v1","correlationId":"b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","dateTime":"` +
		base.Add(time.Duration(sec)*time.Second).Format("2006-01-02T15:04:05.0000000Z") +
		`","user":{"name":"Priya Raman","email":"priya.raman@hackney.gov.uk"},"entityId":"` + guid(key) +
		`","eventData":{"oldData":null,"newData":{"id":"` + guid(key) + `","paymentReference":"` + ref + `"}}}`
}

// updated is TenureUpdatedEvent number i for tenure key at base + sec.
func updated(i, key, sec int, oldRef, newRef string) string {
	return `{"id":"` + eventID(i) + `","eventType":"TenureUpdatedEvent","sourceDomain":"Tenure","sourceSystem":"TenureAPI",` +
		`"version":"v1","correlationId":"b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","dateTime":"` +
		base.Add(time.Duration(sec)*time.Second).Format("2006-01-02T15:04:05.0000000Z") +
		`","user":{"name":"Priya Raman","email":"priya.raman@hackney.gov.uk"},"entityId":"` + guid(key) +
		`","eventData":{"oldData":{"paymentReference":"` + oldRef + `"},"newData":{"paymentReference":"` + newRef + `"}}}`
}

// send sends bodies in order; FIFO queues get one message group ("fake",
// as the council's topics use) and a deduplication id per message.
func send(t testing.TB, c *awssqs.Client, url string, bodies ...string) {
	t.Helper()
	fifo := strings.HasSuffix(url, ".fifo")
	for i := 0; i < len(bodies); i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j, b := range bodies[i:min(i+10, len(bodies))] {
			e := types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(b)}
			if fifo {
				e.MessageGroupId = aws.String("fake")
				e.MessageDeduplicationId = aws.String(fmt.Sprintf("d%d-%d", i, j))
			}
			entries = append(entries, e)
		}
		out, err := c.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			t.Fatalf("sending: %v", err)
		}
		if len(out.Failed) > 0 {
			t.Fatalf("sending: %d failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
		}
	}
}

// queueDepth returns the visible and in-flight message counts.
func queueDepth(t testing.TB, c *awssqs.Client, url string) (visible, inflight int) {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inflight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, inflight
}

type rig struct {
	store *state.Store
	mat   *apply.Materializer
	dir   string
}

func newRig(t testing.TB) *rig {
	t.Helper()
	dir := t.TempDir()
	return openRig(t, dir)
}

func openRig(t testing.TB, dir string) *rig {
	t.Helper()
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &rig{store: st, dir: dir, mat: apply.New(st, map[string]apply.Entity{"tenure": {HashAttr: "id"}}, apply.Options{})}
}

// ref returns tenure key's paymentReference in the store ("" if absent).
func (r *rig) ref(t testing.TB, key int) string {
	t.Helper()
	k := change.Key{Hash: ddbS(guid(key))}
	rec, err := r.store.Get("tenure", k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.Image == nil {
		return ""
	}
	return rec.Image["paymentReference"].Str
}

func open(t testing.TB, srv *fauxqs.Server, url string, o sqs.Options) *sqs.Source {
	t.Helper()
	o.QueueURL = url
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = 256 << 10
	}
	if o.Wait == 0 {
		o.Wait = time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := sqs.New(ctx, srv.SQS(), testMapper(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// consume runs apply.Consume over src until it ends (IdleTimeout).
func consume(t testing.TB, r *rig, src change.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.mat.Consume(ctx, src, 1000, nil); err != nil {
		t.Fatalf("Consume: %v", err)
	}
}

func TestFIFOQueueInOrderExactlyOnce(t *testing.T) {
	srv := fauxqs.Start(t)
	url := srv.CreateQueue(t, "tenure.fifo", nil)
	// 30 tenures, each created then updated twice: only in-order
	// application ends with ref-<i>-c on every one.
	var bodies []string
	n := 0
	for i := range 30 {
		bodies = append(bodies, created(n, i, n, fmt.Sprintf("ref-%d-a", i)))
		n++
	}
	for i := range 30 {
		bodies = append(bodies, updated(n, i, n, fmt.Sprintf("ref-%d-a", i), fmt.Sprintf("ref-%d-b", i)))
		n++
	}
	for i := range 30 {
		bodies = append(bodies, updated(n, i, n, fmt.Sprintf("ref-%d-b", i), fmt.Sprintf("ref-%d-c", i)))
		n++
	}
	send(t, srv.SQS(), url, bodies...)
	r := newRig(t)
	src := open(t, srv, url, sqs.Options{Receivers: 3, IdleTimeout: 2 * time.Second})
	if !src.FIFO() {
		t.Fatal("FIFO() = false for a .fifo queue")
	}
	consume(t, r, src)
	src.Close()
	for i := range 30 {
		if got, want := r.ref(t, i), fmt.Sprintf("ref-%d-c", i); got != want {
			t.Errorf("tenure %d: paymentReference %q, want %q", i, got, want)
		}
	}
	if got := r.mat.Stats.EventsApplied; got != 90 {
		t.Errorf("events applied = %d, want 90", got)
	}
	if r.mat.Stats.Inconsistencies != 0 {
		t.Errorf("inconsistencies = %d, want 0 (an update applied out of order)", r.mat.Stats.Inconsistencies)
	}
	if v, f := queueDepth(t, srv.SQS(), url); v+f != 0 {
		t.Errorf("queue holds %d visible and %d in-flight messages after the commit, want none", v, f)
	}
}

func TestStandardQueueOrdersByDateTime(t *testing.T) {
	srv := fauxqs.Start(t)
	url := srv.CreateQueue(t, "tenure-standard", nil)
	// Sent newest first: the reorder window puts them back in dateTime
	// order, so every update finds the value it expects.
	var bodies []string
	for i := range 5 {
		bodies = append(bodies, updated(10+i, i, 20, fmt.Sprintf("ref-%d-b", i), fmt.Sprintf("ref-%d-c", i)))
		bodies = append(bodies, updated(20+i, i, 10, fmt.Sprintf("ref-%d-a", i), fmt.Sprintf("ref-%d-b", i)))
		bodies = append(bodies, created(30+i, i, 0, fmt.Sprintf("ref-%d-a", i)))
	}
	send(t, srv.SQS(), url, bodies...)
	r := newRig(t)
	src := open(t, srv, url, sqs.Options{Receivers: 1, IdleTimeout: 2 * time.Second, ReorderWindow: 1500 * time.Millisecond})
	if src.FIFO() {
		t.Fatal("FIFO() = true for a standard queue")
	}
	consume(t, r, src)
	for i := range 5 {
		if got, want := r.ref(t, i), fmt.Sprintf("ref-%d-c", i); got != want {
			t.Errorf("tenure %d: paymentReference %q, want %q", i, got, want)
		}
	}
	if r.mat.Stats.Inconsistencies != 0 {
		t.Errorf("inconsistencies = %d, want 0", r.mat.Stats.Inconsistencies)
	}
}

func TestSNSTopicRawAndWrapped(t *testing.T) {
	srv := fauxqs.Start(t)
	ctx := context.Background()
	sn := srv.SNS()
	topic, err := sn.CreateTopic(ctx, &awssns.CreateTopicInput{Name: aws.String("tenure")})
	if err != nil {
		t.Fatal(err)
	}
	rawURL := srv.CreateQueue(t, "tenure-raw", nil)
	wrappedURL := srv.CreateQueue(t, "tenure-wrapped", nil)
	for _, q := range []struct {
		url string
		raw string
	}{{rawURL, "true"}, {wrappedURL, "false"}} {
		attrs, err := srv.SQS().GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
			QueueUrl: aws.String(q.url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sn.Subscribe(ctx, &awssns.SubscribeInput{
			TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes["QueueArn"]),
			Attributes: map[string]string{"RawMessageDelivery": q.raw},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, err := sn.Publish(ctx, &awssns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(created(i, i, i, fmt.Sprintf("ref-%d", i)))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, url := range []string{rawURL, wrappedURL} {
		r := newRig(t)
		consume(t, r, open(t, srv, url, sqs.Options{IdleTimeout: 2 * time.Second}))
		for i := range 3 {
			if got, want := r.ref(t, i), fmt.Sprintf("ref-%d", i); got != want {
				t.Errorf("%s: tenure %d: paymentReference %q, want %q", url, i, got, want)
			}
		}
		if r.mat.Stats.DeadLetters != 0 {
			t.Errorf("%s: %d dead letters", url, r.mat.Stats.DeadLetters)
		}
	}
}

func TestPoisonMessagesAreDeadLettersNotRedelivered(t *testing.T) {
	srv := fauxqs.Start(t)
	url := srv.CreateQueue(t, "poison", nil)
	bad := []string{
		`not json at all`,
		`{"id":"x"}`,
		strings.Replace(created(1, 1, 1, "r"), "TenureCreatedEvent", "TenureExplodedEvent", 1),
		`[1,2,3]`,
	}
	send(t, srv.SQS(), url, append(bad, created(0, 0, 0, "good"))...)
	r := newRig(t)
	consume(t, r, open(t, srv, url, sqs.Options{IdleTimeout: 2 * time.Second}))
	if got := r.ref(t, 0); got != "good" {
		t.Errorf("the good event was not applied: %q", got)
	}
	var dead []*state.DeadLetter
	if err := r.store.DeadLetters(func(d *state.DeadLetter) error { dead = append(dead, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(dead) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(bad))
	}
	raws := map[string]bool{}
	for _, d := range dead {
		raws[string(d.Raw)] = true
		if d.Reason == "" {
			t.Errorf("dead letter without a reason: %q", d.Raw)
		}
		if !strings.HasPrefix(d.Source, "sqs:poison") {
			t.Errorf("dead letter source %q, want sqs:poison", d.Source)
		}
	}
	for _, b := range bad {
		if !raws[b] {
			t.Errorf("raw body %q not kept byte-exact", b)
		}
	}
	if v, f := queueDepth(t, srv.SQS(), url); v+f != 0 {
		t.Errorf("poison messages left in the queue: %d visible, %d in flight", v, f)
	}
}

// TestRedeliveryAfterCrash: a batch committed but not deleted (a crash
// between the commit and the delete) comes back and is skipped by its
// message id; a batch neither committed nor deleted comes back and is
// applied once.
func TestRedeliveryAfterCrash(t *testing.T) {
	srv := fauxqs.Start(t)
	url := srv.CreateQueue(t, "crash", nil)
	var bodies []string
	for i := range 6 {
		bodies = append(bodies, created(i, i, i, fmt.Sprintf("ref-%d", i)))
	}
	send(t, srv.SQS(), url, bodies...)
	r := newRig(t)
	// Apply and commit, but drop the Done callbacks: the deletes never run.
	src := open(t, srv, url, sqs.Options{Receivers: 1, VisibilityTimeout: time.Second, IdleTimeout: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	txn := r.mat.Begin()
	got := 0
	for got < 6 {
		rec, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if rec.Change == nil && rec.Dead == nil {
			continue
		}
		if _, err := r.mat.Apply(txn, rec.Change); err != nil {
			t.Fatal(err)
		}
		if err := txn.MarkEvent("msg:"+rec.Next.Source, rec.MessageID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		got++
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	// Crash: the source goes away without deleting anything.
	src.Close()
	applied := r.mat.Stats.EventsApplied
	time.Sleep(1500 * time.Millisecond) // the visibility timeout passes
	src2 := open(t, srv, url, sqs.Options{Receivers: 2, IdleTimeout: 2 * time.Second})
	consume(t, r, src2)
	if r.mat.Stats.Redelivered != 6 {
		t.Errorf("redelivered skipped = %d, want 6", r.mat.Stats.Redelivered)
	}
	if r.mat.Stats.Duplicates != 0 {
		t.Errorf("duplicates = %d, want 0: the message id, checked first, must catch a redelivery", r.mat.Stats.Duplicates)
	}
	if r.mat.Stats.EventsApplied != applied {
		t.Errorf("events applied went from %d to %d: a redelivery was applied again", applied, r.mat.Stats.EventsApplied)
	}
	if v, f := queueDepth(t, srv.SQS(), url); v+f != 0 {
		t.Errorf("queue holds %d visible and %d in-flight messages, want none", v, f)
	}
}

func TestVisibilityIsExtendedWhileInFlight(t *testing.T) {
	srv := fauxqs.Start(t)
	url := srv.CreateQueue(t, "slow", nil)
	send(t, srv.SQS(), url, created(0, 0, 0, "r"))
	src := open(t, srv, url, sqs.Options{Receivers: 1, VisibilityTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec, err := src.Next(ctx)
	if err != nil || rec.Change == nil {
		t.Fatalf("Next = %+v, %v", rec, err)
	}
	// Hold it uncommitted for three visibility timeouts: nobody else may
	// receive it meanwhile.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		out, err := srv.SQS().ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			t.Fatalf("the in-flight message was handed to another receiver after %v", 3*time.Second-time.Until(deadline))
		}
	}
	rec.Done()
	src.Close()
	if v, f := queueDepth(t, srv.SQS(), url); v+f != 0 {
		t.Errorf("queue holds %d visible and %d in-flight messages after Done, want none", v, f)
	}
}

func TestIdleTimeoutEnds(t *testing.T) {
	srv := fauxqs.Start(t)
	url := srv.CreateQueue(t, "quiet", nil)
	src := open(t, srv, url, sqs.Options{IdleTimeout: time.Second})
	start := time.Now()
	for {
		_, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < time.Second || d > 10*time.Second {
		t.Errorf("ended after %v, want about 1s", d)
	}
}

func TestMissingQueueIsAClearError(t *testing.T) {
	srv := fauxqs.Start(t)
	_, err := sqs.New(context.Background(), srv.SQS(), testMapper(t), sqs.Options{QueueURL: srv.Endpoint + "/000000000000/nope"})
	if err == nil || !strings.Contains(err.Error(), "sqs.queue_url") {
		t.Fatalf("err = %v, want one naming sqs.queue_url", err)
	}
}

func ddbS(s string) ddbjson.Value { return ddbjson.S(s) }
