package sqsout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/tidemark-dev/tidemark/internal/sink/sqsout"
	"github.com/tidemark-dev/tidemark/internal/testutil/fauxqs"
	"github.com/tidemark-dev/tidemark/resync"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, queue, endpoint, err string
	}{
		{"sqs://sqs.eu-west-2.amazonaws.com/123456789012/tenure.fifo", "https://sqs.eu-west-2.amazonaws.com/123456789012/tenure.fifo", "", ""},
		{"sqs:http://127.0.0.1:4566/000000000000/tenure", "http://127.0.0.1:4566/000000000000/tenure", "http://127.0.0.1:4566", ""},
		{"sqs:http://sqs.eu-west-2.localhost:4566/000000000000/q", "http://sqs.eu-west-2.localhost:4566/000000000000/q", "http://127.0.0.1:4566", ""},
		{"sqs:https://sqs.eu-west-2.amazonaws.com/1/q", "https://sqs.eu-west-2.amazonaws.com/1/q", "", ""},
		{"sqs://host/queue-without-account", "", "", "want sqs://"},
		{"kafka://b/t", "", "", "not an sqs: URL"},
	}
	for _, tt := range tests {
		q, e, err := sqsout.ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || q != tt.queue || e != tt.endpoint {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", tt.in, q, e, err, tt.queue, tt.endpoint)
		}
	}
}

// TestResyncToFIFOQueue: a re-sync sent to a FIFO queue arrives whole and
// in order (one message group), markers first and last.
func TestResyncToFIFOQueue(t *testing.T) {
	srv := fauxqs.Start(t)
	url := srv.CreateQueue(t, "tenure-resync.fifo", nil)
	ctx := context.Background()
	e0 := resync.New(nil, resync.Options{})
	w := sqsout.NewLineWriter(ctx, srv.SQS(), url, e0.ID())
	e := resync.New(w, resync.Options{Entity: "tenure", SourceDomain: "Tenure", SourceSystem: "tidemark", ResyncID: e0.ID()})
	if err := e.Start(25); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		img := fmt.Sprintf(`{"id":"8f0c3a52-6d2e-4b1a-9c7e-%012d","paymentReference":"%d"}`, i, i)
		if err := e.Send(fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i), "", []byte(img), time.Now(), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Messages() != 27 {
		t.Fatalf("sent %d messages, want 27", w.Messages())
	}
	var types []string
	var seqs []float64
	for len(types) < 27 {
		out, err := srv.SQS().ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("queue ran dry after %d messages", len(types))
		}
		for _, m := range out.Messages {
			var ev struct {
				EventType string `json:"eventType"`
				Resync    struct {
					Sequence float64 `json:"sequence"`
				} `json:"resync"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatal(err)
			}
			types = append(types, ev.EventType)
			if ev.EventType == "CurrentStateEvent" {
				seqs = append(seqs, ev.Resync.Sequence)
			}
			if _, err := srv.SQS().DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if types[0] != "ResyncStarted" || types[26] != "ResyncCompleted" {
		t.Errorf("first %s, last %s; want the markers around the events", types[0], types[26])
	}
	if len(seqs) != 25 {
		t.Fatalf("%d CurrentStateEvents, want 25", len(seqs))
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequence %v after %v: out of order", seqs[i], seqs[i-1])
		}
	}
}
