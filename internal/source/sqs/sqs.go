// Package sqs follows an SQS queue of Hackney entity events, raw or wrapped
// in SNS notifications, exactly once in effect.
//
// Several receivers long-poll the queue. Each message becomes one record: a
// change, or a dead letter holding the raw body and the reason (a poison
// message is kept by tidemark, never returned to the queue forever). A
// record carries the message id, which the state store remembers with the
// batch, and a Done callback: the message is deleted from the queue only
// once its batch is committed. A crash between the commit and the delete
// leaves the message in the queue; its redelivery is recognised by its
// message id (and its event id) and skipped. While a message waits for its
// batch, its visibility timeout is extended.
//
// Order: a FIFO queue hands out a message group's messages in order and
// holds back the group's next messages until the earlier ones are deleted,
// which here happens only after they are applied and committed; so a
// group's order is kept across receivers and crashes. A standard queue has
// no order: the source holds each message for reorder_window and yields the
// held messages in the order of their events' dateTime. Two events of one
// entity delivered further apart than the window in the wrong order are
// applied in the order they arrived (standard queues promise no more).
package sqs

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/event"
)

// API is the part of the SQS client the source uses.
type API interface {
	GetQueueAttributes(ctx context.Context, in *awssqs.GetQueueAttributesInput, opts ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, opts ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *awssqs.DeleteMessageBatchInput, opts ...func(*awssqs.Options)) (*awssqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *awssqs.ChangeMessageVisibilityBatchInput, opts ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityBatchOutput, error)
}

// Options configure a Source.
type Options struct {
	QueueURL string
	// Receivers is the number of concurrent long-poll receivers (default 2).
	Receivers int
	// Wait is the long-poll wait of one receive (default 20s, at most 20s).
	Wait time.Duration
	// VisibilityTimeout hides a received message; it is extended every
	// third of it while the message waits for its batch (default 60s).
	VisibilityTimeout time.Duration
	// MaxMessageBytes bounds a message; larger ones are dead letters.
	MaxMessageBytes int
	// IdleTimeout, when positive, ends the source (io.EOF) once no message
	// arrived for that long and every received one is committed.
	IdleTimeout time.Duration
	// ReorderWindow is how long a standard queue's messages are held to be
	// put in dateTime order (default 1s; FIFO queues are not reordered).
	ReorderWindow time.Duration
	Log           *slog.Logger
}

// Source follows one queue. It is a change.Source.
type Source struct {
	api    API
	mapper *event.Mapper
	opts   Options
	id     string // position id: "sqs:<queue name>"
	fifo   bool
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // receivers, reorderer, visibility keeper
	out    chan change.Record
	errc   chan error

	mu       sync.Mutex
	inflight map[string]string // message id -> receipt handle, received and not yet deleted
	lastMsg  time.Time
	closed   bool

	deletes   chan string // receipt handles of committed messages
	delDone   chan struct{}
	closeOnce sync.Once
	closeErr  error
	failed    error
}

var _ change.Source = (*Source)(nil)

// New checks the queue and starts the receivers.
func New(ctx context.Context, api API, mapper *event.Mapper, opts Options) (*Source, error) {
	if opts.Receivers <= 0 {
		opts.Receivers = 2
	}
	if opts.Wait <= 0 || opts.Wait > 20*time.Second {
		opts.Wait = 20 * time.Second
	}
	if opts.VisibilityTimeout <= 0 {
		opts.VisibilityTimeout = 60 * time.Second
	}
	if opts.ReorderWindow <= 0 {
		opts.ReorderWindow = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	attrs, err := api.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(opts.QueueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the attributes of queue %s (is sqs.queue_url right, and may tidemark read it?): %w", opts.QueueURL, err)
	}
	name := opts.QueueURL[strings.LastIndexByte(opts.QueueURL, '/')+1:]
	s := &Source{
		api: api, mapper: mapper, opts: opts, log: opts.Log.With("queue", name),
		id:       "sqs:" + name,
		fifo:     attrs.Attributes[string(types.QueueAttributeNameFifoQueue)] == "true" || strings.HasSuffix(name, ".fifo"),
		out:      make(chan change.Record, 64),
		errc:     make(chan error, 1),
		inflight: map[string]string{},
		lastMsg:  time.Now(),
		deletes:  make(chan string, 1024),
		delDone:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	recv := s.out
	if !s.fifo {
		recv = make(chan change.Record, 64)
		s.wg.Add(1)
		go s.reorder(recv)
	}
	for range opts.Receivers {
		s.wg.Add(1)
		go s.receive(recv)
	}
	s.wg.Add(1)
	go s.keepInvisible()
	go s.deleter()
	s.log.Info("following queue", "fifo", s.fifo, "receivers", opts.Receivers)
	return s, nil
}

// FIFO reports whether the queue is a FIFO queue.
func (s *Source) FIFO() bool { return s.fifo }

// Next returns the next message's record, a flush hint when the queue has
// nothing more at hand, or io.EOF once the source has been idle for
// IdleTimeout.
func (s *Source) Next(ctx context.Context) (change.Record, error) {
	if s.failed != nil {
		return change.Record{}, s.failed
	}
	var tick <-chan time.Time
	if s.opts.IdleTimeout > 0 {
		t := time.NewTicker(min(s.opts.IdleTimeout/4+time.Millisecond, time.Second))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case r := <-s.out:
			return r, nil
		case err := <-s.errc:
			s.failed = err
			return change.Record{}, err
		case <-tick:
			if s.idle() {
				return change.Record{}, io.EOF
			}
		case <-ctx.Done():
			return change.Record{}, ctx.Err()
		case <-s.ctx.Done():
			return change.Record{}, change.ErrClosed
		}
	}
}

// idle reports whether nothing arrived for IdleTimeout and nothing received
// waits for its commit.
func (s *Source) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight) == 0 && len(s.out) == 0 && time.Since(s.lastMsg) >= s.opts.IdleTimeout
}

// receive long-polls the queue until the source closes.
func (s *Source) receive(out chan<- change.Record) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for s.ctx.Err() == nil {
		wait := s.opts.Wait
		if s.opts.IdleTimeout > 0 {
			wait = min(wait, max(s.opts.IdleTimeout/2, time.Second))
		}
		res, err := s.api.ReceiveMessage(s.ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(s.opts.QueueURL),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             int32(wait / time.Second),
			VisibilityTimeout:           int32(s.opts.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			if fatal(err) {
				select {
				case s.errc <- fmt.Errorf("receiving from %s: %w", s.opts.QueueURL, err):
				default:
				}
				return
			}
			s.log.Warn("receive failed; retrying", "err", err, "in", backoff)
			if !sleep(s.ctx, jitter(backoff)) {
				return
			}
			backoff = min(backoff*2, 20*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if len(res.Messages) > 0 {
			s.mu.Lock()
			s.lastMsg = time.Now()
			for _, m := range res.Messages {
				s.inflight[aws.ToString(m.MessageId)] = aws.ToString(m.ReceiptHandle)
			}
			s.mu.Unlock()
		}
		if s.fifo && len(res.Messages) > 0 {
			if !s.fifoBatch(out, res.Messages) {
				return
			}
			continue
		}
		for _, m := range res.Messages {
			rec := s.record(m)
			id, handle := aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle)
			rec.Done = func() { s.committed(id, handle) }
			select {
			case out <- rec:
			case <-s.ctx.Done():
				return
			}
		}
		if len(res.Messages) < 10 {
			// The queue has nothing more at hand: commit what is applied,
			// so that the messages are deleted (and a FIFO group moves on).
			select {
			case out <- change.Record{Flush: true}:
			case <-s.ctx.Done():
				return
			}
		}
	}
}

// fifoBatch yields a FIFO queue's batch and a flush hint, waits until the
// batch is committed, and deletes it: the queue then hands out the group's
// next messages at once. It reports false when the source closed first.
func (s *Source) fifoBatch(out chan<- change.Record, msgs []types.Message) bool {
	var mu sync.Mutex
	left := len(msgs)
	committed := make(chan struct{})
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		rec := s.record(m)
		id := aws.ToString(m.MessageId)
		handles[i] = aws.ToString(m.ReceiptHandle)
		rec.Done = func() {
			s.mu.Lock()
			delete(s.inflight, id)
			s.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			if left--; left == 0 {
				close(committed)
			}
		}
		select {
		case out <- rec:
		case <-s.ctx.Done():
			return false
		}
	}
	select {
	case out <- change.Record{Flush: true}:
	case <-s.ctx.Done():
		return false
	}
	select {
	case <-committed:
	case <-s.ctx.Done():
		return false
	}
	s.deleteBatch(handles)
	return true
}

// record turns a message into a change or a dead letter.
func (s *Source) record(m types.Message) change.Record {
	id := aws.ToString(m.MessageId)
	body := []byte(aws.ToString(m.Body))
	var sent int64
	if v, ok := m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)]; ok {
		sent, _ = strconv.ParseInt(v, 10, 64)
	}
	pos := change.Position{Source: s.id, Offset: sent, Token: id}
	rec := change.Record{Next: pos, MessageID: id}
	env, err := event.Decode(body, s.opts.MaxMessageBytes)
	var c *change.Change
	if err == nil {
		c, err = s.mapper.Change(env, pos)
	}
	if err != nil {
		var ee *event.Error
		reason := err.Error()
		if !errors.As(err, &ee) {
			reason = "mapping failed: " + reason
		}
		raw := body
		if len(raw) > 1<<20 {
			raw = raw[:1<<20]
		}
		rec.Dead = &change.DeadLetter{Pos: pos, Reason: reason, Raw: raw, ID: s.id + "/" + id}
		return rec
	}
	rec.Change = c
	return rec
}

// committed queues a message's delete once its batch is durable.
func (s *Source) committed(id, handle string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
	if !s.closed {
		s.deletes <- handle // the deleter never takes mu: this cannot deadlock
	}
}

// deleter deletes committed messages, ten a call, until Close has closed
// deletes and every queued delete is done.
func (s *Source) deleter() {
	defer close(s.delDone)
	var batch []string
	flush := func() {
		s.deleteBatch(batch)
		batch = batch[:0]
	}
	for h := range s.deletes {
		batch = append(batch, h)
		for len(batch) < 10 {
			select {
			case h, ok := <-s.deletes:
				if !ok {
					flush()
					return
				}
				batch = append(batch, h)
				continue
			default:
			}
			break
		}
		flush()
	}
	flush()
}

// deleteBatch deletes up to ten committed messages, retrying a few times.
// A message whose delete fails comes back later and is skipped then as a
// redelivery: nothing is lost or applied twice.
func (s *Source) deleteBatch(handles []string) {
	if len(handles) == 0 {
		return
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(handles))
	for i, h := range handles {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := s.api.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(s.opts.QueueURL), Entries: entries})
		cancel()
		if err == nil {
			for _, f := range res.Failed {
				s.log.Warn("delete failed; its redelivery will be skipped", "code", aws.ToString(f.Code), "reason", aws.ToString(f.Message))
			}
			return
		}
		if attempt >= 4 {
			s.log.Warn("deleting committed messages failed; their redeliveries will be skipped", "n", len(handles), "err", err)
			return
		}
		time.Sleep(jitter(time.Duration(100<<attempt) * time.Millisecond))
	}
}

// keepInvisible extends the visibility of received messages that wait for
// their batch's commit, every third of the visibility timeout.
func (s *Source) keepInvisible() {
	defer s.wg.Done()
	every := s.opts.VisibilityTimeout / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		handles := make([]string, 0, len(s.inflight))
		for _, h := range s.inflight {
			handles = append(handles, h)
		}
		s.mu.Unlock()
		for len(handles) > 0 {
			n := min(len(handles), 10)
			entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, n)
			for i, h := range handles[:n] {
				entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
					Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h),
					VisibilityTimeout: int32(s.opts.VisibilityTimeout / time.Second),
				}
			}
			if _, err := s.api.ChangeMessageVisibilityBatch(s.ctx, &awssqs.ChangeMessageVisibilityBatchInput{
				QueueUrl: aws.String(s.opts.QueueURL), Entries: entries,
			}); err != nil && s.ctx.Err() == nil {
				s.log.Warn("extending visibility failed; a message may be redelivered (and then skipped)", "err", err)
			}
			handles = handles[n:]
		}
	}
}

// reorder holds a standard queue's records for ReorderWindow and yields
// them in dateTime order (dead letters and flush hints pass when their
// turn comes).
func (s *Source) reorder(in <-chan change.Record) {
	defer s.wg.Done()
	var h held
	var seq int64
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	flushWanted := false
	for {
		var wake <-chan time.Time
		if h.Len() > 0 {
			timer.Reset(max(time.Until(h.firstRelease()), 0))
			wake = timer.C
		}
		select {
		case r := <-in:
			if r.Flush && r.Change == nil && r.Dead == nil {
				flushWanted = true
				if h.Len() == 0 {
					if !s.send(r) {
						return
					}
					flushWanted = false
				}
				continue
			}
			t := time.Time{}
			if r.Change != nil {
				t = r.Change.EventTime
			}
			seq++
			heap.Push(&h, heldRec{rec: r, at: t, seq: seq, release: time.Now().Add(s.opts.ReorderWindow)})
		case <-wake:
			now := time.Now()
			// Release everything due, in dateTime order among all held:
			// a record still inside its window but older than a due one
			// goes first.
			if h.Len() > 0 && !h.due(now) {
				continue
			}
			for h.Len() > 0 && h.due(now) {
				r := heap.Pop(&h).(heldRec)
				if !s.send(r.rec) {
					return
				}
			}
			if h.Len() == 0 && flushWanted {
				if !s.send(change.Record{Flush: true}) {
					return
				}
				flushWanted = false
			}
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Source) send(r change.Record) bool {
	select {
	case s.out <- r:
		return true
	case <-s.ctx.Done():
		return false
	}
}

type heldRec struct {
	rec     change.Record
	at      time.Time
	seq     int64
	release time.Time
}

// held is a heap by event time (then arrival). due reports whether any held
// record's window has passed: the earliest release may sit anywhere in the
// heap, so it is tracked by a scan (the heap holds one window of messages).
type held []heldRec

func (h held) Len() int { return len(h) }
func (h held) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h held) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *held) Push(x any)   { *h = append(*h, x.(heldRec)) }
func (h *held) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h held) due(now time.Time) bool { return !h.firstRelease().After(now) }

func (h held) firstRelease() time.Time {
	first := h[0].release
	for _, r := range h[1:] {
		if r.release.Before(first) {
			first = r.release
		}
	}
	return first
}

// Close stops receiving, deletes the messages already committed, and
// leaves the others to reappear after their visibility timeout (their
// redelivery is applied then, or skipped if it was committed).
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.deletes)
		<-s.delDone
	})
	return s.closeErr
}

// fatal reports errors that retrying will not cure.
func fatal(err error) bool {
	var nq *types.QueueDoesNotExist
	if errors.As(err, &nq) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "AccessDenied") || strings.Contains(msg, "NonExistentQueue") ||
		strings.Contains(msg, "InvalidClientTokenId") || strings.Contains(msg, "QueueDoesNotExist")
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
