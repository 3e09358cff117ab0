package ddbstream

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// API is what following a stream needs: DescribeTable of DynamoDB (to find
// the table's stream; not called when Options.StreamARN is set) and three
// calls of DynamoDB Streams. Clients joins the two SDK clients into one.
type API interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// Clients is the API of a DynamoDB client and a DynamoDB Streams client
// (the SDK has one client per service).
type Clients struct {
	DB      *dynamodb.Client
	Streams *dynamodbstreams.Client
}

var _ API = Clients{}

// DescribeTable calls DynamoDB.
func (c Clients) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return c.DB.DescribeTable(ctx, in, opts...)
}

// DescribeStream calls DynamoDB Streams.
func (c Clients) DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return c.Streams.DescribeStream(ctx, in, opts...)
}

// GetShardIterator calls DynamoDB Streams.
func (c Clients) GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	return c.Streams.GetShardIterator(ctx, in, opts...)
}

// GetRecords calls DynamoDB Streams.
func (c Clients) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	return c.Streams.GetRecords(ctx, in, opts...)
}
