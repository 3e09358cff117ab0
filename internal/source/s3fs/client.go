package s3fs

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ClientOptions override the default AWS configuration.
type ClientOptions struct {
	// Region, when set, overrides the default chain's (AWS_REGION, profile).
	Region string
	// Endpoint points the client at an S3-compatible server; it implies
	// path-style addressing.
	Endpoint string
}

// NewClient returns an S3 client from the default AWS credential chain
// (environment, shared config and credentials files, SSO, instance and task
// roles) with the overrides.
func NewClient(ctx context.Context, o ClientOptions) (*s3.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "eu-west-2"
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}
