package ddblocal_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tidemark-dev/tidemark/internal/testutil/ddblocal"
)

// TestStreamRoundTrip: a write to a table with a stream comes out of
// GetRecords with its new image; disabling the stream closes its shard and
// enabling it again makes a new stream.
func TestStreamRoundTrip(t *testing.T) {
	ep := ddblocal.Start(t)
	c, sc := ddblocal.Client(t, ep), ddblocal.StreamsClient(t, ep)
	ctx := context.Background()
	arn := ddblocal.CreateTable(t, c, ddblocal.Table{Name: "TenureInformation", HashAttr: "id", StreamView: types.StreamViewTypeNewAndOldImages})
	if arn == "" {
		t.Fatal("no LatestStreamArn")
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("TenureInformation"),
		Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "t1"}}}); err != nil {
		t.Fatal(err)
	}
	d, err := sc.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	if err != nil || len(d.StreamDescription.Shards) != 1 {
		t.Fatalf("DescribeStream: %v, %+v", err, d)
	}
	shard := d.StreamDescription.Shards[0].ShardId
	it, err := sc.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: shard,
		ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(recs.Records) != 1 || recs.Records[0].EventName != streamtypes.OperationTypeInsert || recs.Records[0].Dynamodb.NewImage == nil {
		t.Fatalf("GetRecords: %v, %+v", err, recs)
	}

	if got := ddblocal.SetStream(t, c, "TenureInformation", ""); got != arn {
		t.Errorf("LatestStreamArn after disabling = %s, want %s", got, arn)
	}
	last, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: recs.NextShardIterator})
	if err != nil || last.NextShardIterator != nil {
		t.Errorf("the disabled stream's shard is not closed: %v, %+v", err, last)
	}
	if got := ddblocal.SetStream(t, c, "TenureInformation", types.StreamViewTypeNewImage); got == arn || got == "" {
		t.Errorf("re-enabled stream ARN %q, want a new one", got)
	}
}
