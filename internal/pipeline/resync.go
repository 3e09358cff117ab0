package pipeline

import (
	"context"

	"encoding/base64"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"io"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/sink/kafkaout"
	"github.com/tidemark-dev/tidemark/internal/sink/sqsout"
	"github.com/tidemark-dev/tidemark/resync"
)

// EmitResync writes a complete re-sync of an entity (docs/events.md) read
// from export:DIR, s3://... or scan, to w, and returns the number of
// entities sent.
func (p *Pipeline) EmitResync(ctx context.Context, entity, from, sourceSystem string, w io.Writer) (int64, error) {
	return p.emitResync(ctx, entity, from, sourceSystem, "", w)
}

// EmitResyncToKafka writes the re-sync to a Kafka topic
// (kafka://broker:9092[,...]/topic), every event keyed by the re-sync's id
// so that all of them land on one partition, in order.
func (p *Pipeline) EmitResyncToKafka(ctx context.Context, entity, from, sourceSystem, url string) (int64, error) {
	brokers, topic, err := kafkaout.ParseURL(url)
	if err != nil {
		return 0, err
	}
	id := resync.New(nil, resync.Options{}).ID()
	w, err := kafkaout.NewLineWriter(ctx, brokers, topic, id)
	if err != nil {
		return 0, err
	}
	n, err := p.emitResync(ctx, entity, from, sourceSystem, id, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// EmitResyncToSQS sends the re-sync to an SQS queue (sqs://host/account/
// queue or sqs:URL); on a FIFO queue all of it goes in one message group,
// the re-sync's id, so that it arrives in order.
func (p *Pipeline) EmitResyncToSQS(ctx context.Context, entity, from, sourceSystem, u string) (int64, error) {
	queueURL, endpoint, err := sqsout.ParseURL(u)
	if err != nil {
		return 0, err
	}
	cfg, err := p.awsConfig(ctx)
	if err != nil {
		return 0, err
	}
	client := awssqs.NewFromConfig(cfg, func(o *awssqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	id := resync.New(nil, resync.Options{}).ID()
	w := sqsout.NewLineWriter(ctx, client, queueURL, id)
	n, err := p.emitResync(ctx, entity, from, sourceSystem, id, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func (p *Pipeline) emitResync(ctx context.Context, entity, from, sourceSystem, id string, w io.Writer) (int64, error) {
	ent, ok := p.cfg.EntityByName(entity)
	if !ok {
		return 0, fmt.Errorf("unknown entity %q (see entities[].name in the config)", entity)
	}
	var src change.Source
	expected := int64(-1)
	started := p.Now().UTC() // a scan's images are all newer than its start
	if from == "scan" {
		s, err := p.scanWhole(ctx, ent)
		if err != nil {
			return 0, err
		}
		src = s
	} else {
		s, m, err := p.readExportWhole(ctx, ent, from)
		if err != nil {
			return 0, err
		}
		src, expected, started = s, m.Summary.ItemCount, m.Summary.AsOf()
	}
	defer src.Close()
	e := resync.New(w, resync.Options{Entity: ent.Name, SourceDomain: ent.Table, SourceSystem: sourceSystem, StartedAt: started, ResyncID: id})
	if err := e.Start(expected); err != nil {
		return 0, err
	}
	var n int64
	for {
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("reading %s: %w", from, err)
		}
		if rec.Dead != nil {
			// A row whose key is unknown cannot be sent: completing the
			// re-sync would make its entity look absent at the source.
			return n, fmt.Errorf("reading %s: %s; no ResyncCompleted was written, so consumers sweep nothing", from, rec.Dead.Reason)
		}
		c := rec.Change
		if c == nil || c.Op != change.OpUpsert {
			continue
		}
		var rangeKey string
		if c.Key.Range.Kind != ddbjson.KindInvalid {
			rangeKey = keyText(c.Key.Range)
		}
		img, err := c.FullImage()
		if err != nil {
			return n, fmt.Errorf("reading %s: %w", from, err)
		}
		if err := e.Send(keyText(c.Key.Hash), rangeKey, ddbjson.AppendPlainMap(nil, img), c.AsOf, c.Version); err != nil {
			return n, err
		}
		n++
	}
	return n, e.Complete()
}

func keyText(v ddbjson.Value) string {
	if v.Kind == ddbjson.KindB {
		return base64.StdEncoding.EncodeToString(v.Bin)
	}
	return v.Str
}
