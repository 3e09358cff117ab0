// Package awsexport asks DynamoDB for a point-in-time export to S3
// (ExportTableToPointInTime, full or incremental) and waits for it
// (DescribeExport), so that the export source can then read it. Exports need
// point-in-time recovery on the table and consume no read capacity.
package awsexport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is what exporting needs of a DynamoDB client; *dynamodb.Client has it.
type API interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	ExportTableToPointInTime(ctx context.Context, in *dynamodb.ExportTableToPointInTimeInput, opts ...func(*dynamodb.Options)) (*dynamodb.ExportTableToPointInTimeOutput, error)
	DescribeExport(ctx context.Context, in *dynamodb.DescribeExportInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeExportOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Request describes the export to start.
type Request struct {
	Table  string // name or ARN
	Bucket string
	Prefix string
	// At is the point in time of a full export (zero: now).
	At time.Time
	// From and To, when set, ask for an incremental export of that window.
	From, To time.Time
	// ClientToken makes a retried start idempotent.
	ClientToken string
}

// Status is an export as DescribeExport reports it.
type Status struct {
	ARN, State, Manifest, Failure string
	Items, Bytes                  int64
	Start, End                    time.Time
}

// Start asks for the export and returns its first status.
func Start(ctx context.Context, api API, r Request) (Status, error) {
	arn := r.Table
	if !strings.HasPrefix(arn, "arn:") {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.Table)})
		if err != nil {
			return Status{}, fmt.Errorf("describing table %s: %w", r.Table, err)
		}
		arn = aws.ToString(out.Table.TableArn)
	}
	in := &dynamodb.ExportTableToPointInTimeInput{
		TableArn: aws.String(arn), S3Bucket: aws.String(r.Bucket), ExportFormat: types.ExportFormatDynamodbJson,
	}
	if r.Prefix != "" {
		in.S3Prefix = aws.String(strings.Trim(r.Prefix, "/"))
	}
	if r.ClientToken != "" {
		in.ClientToken = aws.String(r.ClientToken)
	}
	switch {
	case !r.From.IsZero() || !r.To.IsZero():
		if r.From.IsZero() || r.To.IsZero() || !r.To.After(r.From) {
			return Status{}, errors.New("an incremental export needs --from before --to (a window of 15 minutes to 24 hours)")
		}
		in.ExportType = types.ExportTypeIncrementalExport
		in.IncrementalExportSpecification = &types.IncrementalExportSpecification{
			ExportFromTime: aws.Time(r.From), ExportToTime: aws.Time(r.To), ExportViewType: types.ExportViewTypeNewAndOldImages,
		}
	default:
		in.ExportType = types.ExportTypeFullExport
		if !r.At.IsZero() {
			in.ExportTime = aws.Time(r.At)
		}
	}
	out, err := api.ExportTableToPointInTime(ctx, in)
	if err != nil {
		return Status{}, fmt.Errorf("starting the export of %s: %w (point-in-time recovery must be on)", r.Table, err)
	}
	return status(out.ExportDescription), nil
}

// Wait polls DescribeExport every interval until the export completes or
// fails, calling progress with each status.
func Wait(ctx context.Context, api API, arn string, interval time.Duration, progress func(Status)) (Status, error) {
	for {
		out, err := api.DescribeExport(ctx, &dynamodb.DescribeExportInput{ExportArn: aws.String(arn)})
		if err != nil {
			return Status{}, fmt.Errorf("describing export %s: %w", arn, err)
		}
		st := status(out.ExportDescription)
		if progress != nil {
			progress(st)
		}
		switch st.State {
		case string(types.ExportStatusCompleted):
			return st, nil
		case string(types.ExportStatusFailed):
			return st, fmt.Errorf("export %s failed: %s", arn, st.Failure)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(interval):
		}
	}
}

func status(d *types.ExportDescription) Status {
	if d == nil {
		return Status{}
	}
	s := Status{
		ARN: aws.ToString(d.ExportArn), State: string(d.ExportStatus), Manifest: aws.ToString(d.ExportManifest),
		Items: aws.ToInt64(d.ItemCount), Bytes: aws.ToInt64(d.BilledSizeBytes),
		Start: aws.ToTime(d.StartTime), End: aws.ToTime(d.EndTime),
	}
	if d.FailureCode != nil || d.FailureMessage != nil {
		s.Failure = strings.TrimSpace(aws.ToString(d.FailureCode) + " " + aws.ToString(d.FailureMessage))
	}
	return s
}

// NewClient returns a DynamoDB client from the default AWS credential chain,
// with an optional region and endpoint override.
func NewClient(ctx context.Context, region, endpoint string) (*dynamodb.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "eu-west-2"
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
