// Package kafkaout produces newline-delimited messages (re-sync events) to a
// Kafka topic with franz-go: one record per line, all with the same key so
// that they land on one partition in order (a re-sync's markers must not
// overtake its events).
package kafkaout

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ParseURL reads kafka://broker1:9092,broker2:9092/topic.
func ParseURL(u string) (brokers []string, topic string, err error) {
	rest, ok := strings.CutPrefix(u, "kafka://")
	if !ok {
		return nil, "", fmt.Errorf("%q is not a kafka:// URL", u)
	}
	hosts, topic, _ := strings.Cut(rest, "/")
	if hosts == "" || topic == "" || strings.Contains(topic, "/") {
		return nil, "", fmt.Errorf("%q: want kafka://broker:9092[,broker2:9092]/topic", u)
	}
	return strings.Split(hosts, ","), topic, nil
}

// LineWriter is an io.Writer that produces each line as a record.
type LineWriter struct {
	ctx     context.Context
	cl      *kgo.Client
	topic   string
	key     []byte
	partial []byte
	batch   []*kgo.Record
	n       int64
}

// NewLineWriter connects to brokers; every record gets key.
func NewLineWriter(ctx context.Context, brokers []string, topic, key string) (*LineWriter, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return nil, fmt.Errorf("connecting to Kafka %v: %w", brokers, err)
	}
	return &LineWriter{ctx: ctx, cl: cl, topic: topic, key: []byte(key)}, nil
}

// Write buffers p and queues every complete line.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := append([]byte(nil), w.partial[:i]...)
		w.partial = w.partial[i+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		w.batch = append(w.batch, &kgo.Record{Key: w.key, Value: line})
		if len(w.batch) >= 500 {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

func (w *LineWriter) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	if err := w.cl.ProduceSync(w.ctx, w.batch...).FirstErr(); err != nil {
		return fmt.Errorf("producing to Kafka topic %s: %w", w.topic, err)
	}
	w.n += int64(len(w.batch))
	w.batch = w.batch[:0]
	return nil
}

// Records is the number of records produced so far.
func (w *LineWriter) Records() int64 { return w.n }

// Close produces what is queued (and an unterminated last line) and closes
// the client.
func (w *LineWriter) Close() error {
	if len(bytes.TrimSpace(w.partial)) > 0 {
		w.batch = append(w.batch, &kgo.Record{Key: w.key, Value: append([]byte(nil), w.partial...)})
		w.partial = nil
	}
	err := w.flush()
	w.cl.Close()
	return err
}
