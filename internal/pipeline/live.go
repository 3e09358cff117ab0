package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/sink/sqsout"
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
	}
	return nil, fmt.Errorf("this kind of source is not supported yet")
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
