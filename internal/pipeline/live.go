package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/sink/sqsout"
	"github.com/tidemark-dev/tidemark/internal/source/ddbstream"
	"github.com/tidemark-dev/tidemark/internal/source/kafka"
	"github.com/tidemark-dev/tidemark/internal/source/sqs"
)

// openLive opens sources.events[i], a live source.
func (p *Pipeline) openLive(ctx context.Context, i int, idle time.Duration) (change.Source, error) {
	src := p.cfg.Sources.Events[i]
	switch {
	case src.SQS != nil:
		q := src.SQS
		cfg, err := p.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		endpoint := q.Endpoint
		if endpoint == "" {
			endpoint = sqsout.Endpoint(q.QueueURL) // a compatible server's own URL
		}
		client := awssqs.NewFromConfig(cfg, func(o *awssqs.Options) {
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		})
		return sqs.New(ctx, client, p.mapper, sqs.Options{
			QueueURL: q.QueueURL, Receivers: q.Receivers, Wait: q.Wait, VisibilityTimeout: q.VisibilityTimeout,
			MaxMessageBytes: p.cfg.MaxMessageBytes, IdleTimeout: idle, Log: p.log,
		})
	case src.Kafka != nil:
		k := src.Kafka
		opts := kafka.Options{Brokers: k.Brokers, Topics: k.Topics, Group: k.Group, Consumers: k.Consumers, InstanceID: k.InstanceID,
			SchemaRegistry: k.SchemaRegistry, Format: k.Format, MaxMessageBytes: p.cfg.MaxMessageBytes,
			IdleTimeout: idle, Log: p.log}
		if a := k.Avro; a != nil {
			opts.Avro = kafka.AvroOptions{Entity: a.Entity, KeyField: a.KeyField, RangeKeyField: a.RangeKeyField,
				VersionField: a.VersionField, DateFields: a.DateFields}
		}
		return kafka.New(opts, p.mapper, p.Store.Position)
	case src.DynamoDBStream != nil:
		return p.openStream(ctx, src.DynamoDBStream, idle)
	}
	return nil, fmt.Errorf("this kind of source is not supported yet")
}

// openStream follows an entity's table's DynamoDB stream.
func (p *Pipeline) openStream(ctx context.Context, d *config.StreamSource, idle time.Duration) (change.Source, error) {
	ent, _ := p.cfg.EntityByName(d.Entity)
	cfg, err := p.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := p.cfg.AWS.DynamoDBEndpoint
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	streams := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	opts := ddbstream.Options{
		Entity: ent.Name, Table: ent.Table, HashAttr: ent.HashKey.Name, HashType: ent.HashKey.Kind(),
		VersionAttr: ent.Version, PollInterval: d.PollInterval, IdleTimeout: idle, Log: p.log,
		Reset: p.resetStreams[ent.Name],
	}
	if ent.RangeKey != nil {
		opts.RangeAttr, opts.RangeType = ent.RangeKey.Name, ent.RangeKey.Kind()
	}
	s, err := ddbstream.New(ctx, opts, ddbstream.Clients{DB: db, Streams: streams}, p.Store.PositionToken)
	if errors.Is(err, ddbstream.ErrTrimmed) || errors.Is(err, ddbstream.ErrStreamChanged) {
		return nil, &streamLost{entity: ent.Name, onLost: d.OnLost, err: err}
	}
	if err != nil {
		return nil, err
	}
	return lostErrors{Source: s, entity: ent.Name, onLost: d.OnLost}, nil
}

// ResetStreams makes the next follow read the named entities' DynamoDB
// streams from their oldest records, forgetting the stored positions: after
// a re-bootstrap, when the old positions were trimmed or the stream changed.
// The as-of rule skips what the new snapshot already reflects.
func (p *Pipeline) ResetStreams(entities []string) error {
	for _, e := range entities {
		ok := false
		for _, s := range p.cfg.Sources.Events {
			if s.DynamoDBStream != nil && s.DynamoDBStream.Entity == e {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("--reset-stream %s: no sources.events[].dynamodb_stream follows entity %q", e, e)
		}
		if p.resetStreams == nil {
			p.resetStreams = map[string]bool{}
		}
		p.resetStreams[e] = true
	}
	return nil
}

// awsConfig loads the default AWS configuration (credentials from the
// default chain) with the configured region.
func (p *Pipeline) awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if p.cfg.AWS.Region != "" {
		opts = append(opts, awsconfig.WithRegion(p.cfg.AWS.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "eu-west-2"
	}
	return cfg, nil
}
