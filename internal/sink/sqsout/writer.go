// Package sqsout sends newline-delimited messages (re-sync events) to an
// SQS queue: one message per line, ten per call. On a FIFO queue every
// message has the same message group (so a re-sync's markers never overtake
// its events) and a deduplication id made of the group and the line's
// number, so that a send retried after a timeout is not delivered twice.
package sqsout

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// API is the part of the SQS client the writer uses.
type API interface {
	SendMessageBatch(ctx context.Context, in *awssqs.SendMessageBatchInput, opts ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error)
}

// maxBatchBytes is SQS's limit on the sum of a batch's message bodies.
const maxBatchBytes = 256 << 10

// ParseURL reads the --to forms of a queue: sqs://host/account/queue (an
// https queue URL) or sqs:URL with any scheme (sqs:http://127.0.0.1:4566/
// 000000000000/tenure.fifo). It returns the queue URL and, for a host that
// is not AWS's, the endpoint to send to.
func ParseURL(u string) (queueURL, endpoint string, err error) {
	switch {
	case strings.HasPrefix(u, "sqs://"):
		queueURL = "https://" + strings.TrimPrefix(u, "sqs://")
	case strings.HasPrefix(u, "sqs:"):
		queueURL = strings.TrimPrefix(u, "sqs:")
	default:
		return "", "", fmt.Errorf("%q is not an sqs: URL", u)
	}
	pu, err := url.Parse(queueURL)
	if err != nil || pu.Host == "" || strings.Count(strings.Trim(pu.Path, "/"), "/") != 1 {
		return "", "", fmt.Errorf("%q: want sqs://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE or sqs:http://HOST:PORT/ACCOUNT/QUEUE", u)
	}
	return queueURL, Endpoint(queueURL), nil
}

// Endpoint returns the endpoint to use for a queue URL: "" (the SDK's own)
// for AWS's hosts, else the URL's scheme and host (an SQS-compatible
// server), with a .localhost host on the loopback address.
func Endpoint(queueURL string) string {
	pu, err := url.Parse(queueURL)
	if err != nil || pu.Host == "" {
		return ""
	}
	host := pu.Hostname()
	if strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn") {
		return ""
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// .localhost names are loopback (RFC 6761), though not every
		// resolver says so: local servers name queues
		// sqs.REGION.localhost:PORT.
		if port := pu.Port(); port != "" {
			return pu.Scheme + "://127.0.0.1:" + port
		}
		return pu.Scheme + "://127.0.0.1"
	}
	return pu.Scheme + "://" + pu.Host
}

// LineWriter is an io.Writer that sends each line as a message.
type LineWriter struct {
	ctx      context.Context
	api      API
	queueURL string
	group    string // FIFO message group; "" for a standard queue
	partial  []byte
	batch    []types.SendMessageBatchRequestEntry
	bytes    int
	n        int64
}

// NewLineWriter sends to queueURL; on a FIFO queue (a name ending in .fifo)
// every message gets message group group.
func NewLineWriter(ctx context.Context, api API, queueURL, group string) *LineWriter {
	w := &LineWriter{ctx: ctx, api: api, queueURL: queueURL}
	if strings.HasSuffix(queueURL, ".fifo") {
		w.group = group
	}
	return w
}

// Write buffers p and sends every complete line.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if err := w.add(line); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *LineWriter) add(line string) error {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	if len(line) > maxBatchBytes {
		return fmt.Errorf("a message of %d bytes is over SQS's limit of %d", len(line), maxBatchBytes)
	}
	if len(w.batch) == 10 || w.bytes+len(line) > maxBatchBytes {
		if err := w.flush(); err != nil {
			return err
		}
	}
	seq := w.n + int64(len(w.batch))
	e := types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(len(w.batch))), MessageBody: aws.String(line)}
	if w.group != "" {
		e.MessageGroupId = aws.String(w.group)
		e.MessageDeduplicationId = aws.String(w.group + "-" + strconv.FormatInt(seq, 10))
	}
	w.batch = append(w.batch, e)
	w.bytes += len(line)
	return nil
}

func (w *LineWriter) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	out, err := w.api.SendMessageBatch(w.ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(w.queueURL), Entries: w.batch})
	if err != nil {
		return fmt.Errorf("sending to %s: %w", w.queueURL, err)
	}
	if len(out.Failed) > 0 {
		f := out.Failed[0]
		return fmt.Errorf("sending to %s: %d of %d messages refused: %s %s", w.queueURL, len(out.Failed), len(w.batch),
			aws.ToString(f.Code), aws.ToString(f.Message))
	}
	w.n += int64(len(w.batch))
	w.batch, w.bytes = w.batch[:0], 0
	return nil
}

// Messages is the number of messages sent so far.
func (w *LineWriter) Messages() int64 { return w.n }

// Close sends what is buffered (and an unterminated last line).
func (w *LineWriter) Close() error {
	if len(w.partial) > 0 {
		line := string(w.partial)
		w.partial = nil
		if err := w.add(line); err != nil {
			return err
		}
	}
	return w.flush()
}
